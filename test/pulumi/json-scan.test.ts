/**
 * The item-by-item page reader agrees with JSON.parse: for every body, valid or not, readListPage gives what
 * parsing the body whole and validating its items gives (the reference below is the client's former code).
 */
import { describe, expect, test } from "bun:test";
import { readListPage } from "../../src/pulumi/list-page.ts";
import {
  type Checked,
  memberItem,
  parseJson,
  readEnvelope,
  readItems,
  stackItem,
  type Validator,
  validateValue,
} from "../../src/pulumi/validate.ts";

interface Page {
  envelope: Record<string, unknown>;
  valid: unknown[];
  droppedAfter: number[];
  firstReason: string | undefined;
}

function reference(text: string, field: string, validator: Validator<unknown>): Checked<Page> {
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  const checked = readEnvelope(parsed.value, field);
  if (!checked.ok) return checked;
  const page: Page = { envelope: {}, valid: [], droppedAfter: [], firstReason: undefined };
  for (const [key, value] of Object.entries(checked.value)) if (key !== field) page.envelope[key] = value;
  for (const item of readItems(checked.value, field)) {
    const result = validateValue(item, validator);
    if (result.ok) page.valid.push(result.value);
    else {
      page.droppedAfter.push(page.valid.length);
      page.firstReason ??= result.reason;
    }
  }
  return { ok: true, value: page };
}

async function scanned(
  bytes: Uint8Array,
  field: string,
  validator: Validator<unknown>,
  pause: () => Promise<void> | undefined = () => undefined,
): Promise<Checked<Page>> {
  const result = await readListPage(bytes, field, validator, pause);
  if (!result.ok) return result;
  return { ok: true, value: { ...result.value, envelope: { ...result.value.envelope } } };
}

const encode = (text: string) => new TextEncoder().encode(text);

async function expectAgreement(text: string, field = "stacks", validator: Validator<unknown> = stackItem) {
  // The former code read the body with Response.text(), which drops a byte order mark, like TextDecoder.
  const expected = reference(new TextDecoder().decode(encode(text)), field, validator);
  expect({ text, result: await scanned(encode(text), field, validator) }).toEqual({ text, result: expected });
  return expected;
}

const A = '{"orgName":"a","projectName":"p","stackName":"s"}';
const B = '{"orgName":"b","projectName":"p","stackName":"s","resourceCount":2}';

describe("agrees with JSON.parse", () => {
  const valid: string[] = [
    '{"stacks":[]}',
    ' \n\t{ "stacks" : [ ] }\r\n',
    `{"stacks":[${A},${B}],"continuationToken":"t"}`,
    `{"continuationToken":null,"stacks":[\n  ${A} ,\n  ${B}\n]\n}`,
    // Brackets, braces, commas, quotes and backslashes inside strings.
    '{"stacks":[{"orgName":"a\\"]},[","projectName":"p\\\\","stackName":"s}"}],"x":"\\\\"}',
    '{"stacks":[{"orgName":"é日本","projectName":"😀","stackName":"\\ud83d\\ude00\\u00e9"}]}',
    `{"stacks":[{"orgName":"a","projectName":"p","stackName":"s","tags":{"a":[1,[2,{"b":"]"}]],"c":{}}}]}`,
    `{"total":1e3,"neg":-0,"frac":1.5E-2,"big":1e999,"t":true,"f":false,"n":null,"stacks":[${A}]}`,
    `{"stacks":[1,"x",null,true,[],{},${A},[[["deep"]]]]}`,
    // Duplicate keys: the last one wins, as with JSON.parse.
    `{"stacks":[${A}],"stacks":[${B}]}`,
    `{"stacks":[${A}],"stacks":null}`,
    `{"stacks":null,"stacks":[${A}]}`,
    `{"stacks":{"a":1},"stacks":[]}`,
    '{"continuationToken":"a","stacks":[],"continuationToken":"b"}',
    `{"st\\u0061cks":[${A}]}`,
    '{"__proto__":{"polluted":1},"stacks":[]}',
    `\uFEFF{"stacks":[${A}]}`,
    "{}",
    '{"stacks":{}}',
    '{"stacks":"[]"}',
    '{"other":[1,2,3]}',
  ];
  const invalid: string[] = [
    "{",
    '{"stacks":[',
    `{"stacks":[${A}`,
    '{"stacks":[1,]}',
    '{"stacks":[1 2]}',
    '{"stacks":[,1]}',
    '{"stacks" [1]}',
    "{stacks:[]}",
    '{"stacks":[]} x',
    '{"stacks":[]}}',
    '{"stacks":[]},',
    '{"a":1,}',
    "{,}",
    '{"stacks":["unterminated]}',
    '{"stacks":[tru]}',
    '{"stacks":[{"a":1]}]}',
    '{"stacks":[01]}',
    '{"stacks":["a\nb"]}',
    '{"stacks":["\\x"]}',
    '{"stacks":[NaN]}',
    '{"stacks":[1}',
    '{"a":}',
    '{"a" :: 1}',
    '{"a":1 "b":2}',
    '{"a\\":1}',
    '{"stacks":[]',
  ];
  const notObjects = [
    "",
    "   ",
    "\n",
    "[1]",
    '"x"',
    "42",
    "null",
    "true",
    "<html>maintenance</html>",
    "[",
    "\u00a0",
  ];

  test("valid bodies", async () => {
    for (const text of valid) await expectAgreement(text);
  });

  test("invalid bodies are not JSON", async () => {
    for (const text of invalid) {
      expect(await expectAgreement(text)).toEqual({ ok: false, reason: "body is not JSON" });
    }
  });

  test("bodies that are not an object", async () => {
    for (const text of notObjects) expect((await expectAgreement(text)).ok).toBe(false);
  });

  test("a large body that is not an object is refused without parsing it", async () => {
    const body = encode(`[${"1,".repeat(40_000)}1]`);
    expect(await scanned(body, "stacks", stackItem)).toEqual({
      ok: false,
      reason: "body is not a JSON object",
    });
  });

  test("no body at all", async () => {
    expect(await readListPage(undefined, "stacks", stackItem, () => undefined)).toEqual({
      ok: false,
      reason: "empty body",
    });
  });

  test("random envelopes, and random damage to them", async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const chars = ['"', "\\", "[", "]", "{", "}", ",", ":", "a", "é", "😀", " ", "\n", "\u0000", "/"];
    const text = () => Array.from({ length: Math.floor(random() * 6) }, () => pick(chars)).join("");
    const value = (depth: number): unknown => {
      const kind = Math.floor(random() * (depth > 2 ? 5 : 7));
      if (kind === 0) return null;
      if (kind === 1) return random() < 0.5;
      if (kind === 2) return Math.floor(random() * 2000) - 1000;
      if (kind === 3) return text();
      if (kind === 4) return random() * 1e6;
      if (kind === 5) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, () => [text(), value(depth + 1)]),
      );
    };
    const item = () =>
      random() < 0.7
        ? {
            orgName: text() || "o",
            projectName: "p",
            stackName: "s",
            resourceCount: value(3),
            extra: value(1),
          }
        : value(1);
    for (let round = 0; round < 300; round++) {
      const envelope: Record<string, unknown> = {
        stacks: Array.from({ length: Math.floor(random() * 8) }, item),
      };
      if (random() < 0.5) envelope.continuationToken = text();
      if (random() < 0.3) envelope[text()] = value(0);
      const body = JSON.stringify(envelope, null, pick([0, 1, "\t"]));
      await expectAgreement(body);
      await expectAgreement(body, "stacks", memberItem);
      const at = Math.floor(random() * body.length);
      await expectAgreement(body.slice(0, at));
      await expectAgreement(body.slice(0, at) + body.slice(at + 1));
      await expectAgreement(body.slice(0, at) + pick(chars) + body.slice(at));
    }
  });
});

test("the pause is called after every item and every other field, and awaited", async () => {
  const events: string[] = [];
  const pause = () => {
    events.push("pause");
    return Promise.resolve().then(() => {
      events.push("resumed");
    });
  };
  const validator: Validator<unknown> = (data) => {
    events.push(`item ${JSON.stringify(data)}`);
    return data;
  };
  const result = await readListPage(
    encode('{"stacks":[{"a":1},{"b":2}],"total":2}'),
    "stacks",
    validator,
    pause,
  );
  expect(result.ok).toBe(true);
  expect(events).toEqual([
    'item {"a":1}',
    "pause",
    "resumed",
    'item {"b":2}',
    "pause",
    "resumed",
    "pause",
    "resumed",
  ]);
});
