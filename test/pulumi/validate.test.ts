import { describe, expect, test } from "bun:test";
import {
  neoTokenBudget,
  parseJson,
  readEnvelope,
  readToken,
  stackUpdateItem,
  validateItems,
  validateValue,
} from "../../src/pulumi/validate.ts";

describe("validateItems", () => {
  test("null optional fields read as absent; null required fields drop the item", () => {
    const result = validateItems(
      [
        {
          kind: "update",
          result: "in-progress",
          startTime: 5,
          endTime: null,
          version: 3,
          resourceChanges: null,
        },
        { kind: "update", result: null, startTime: 4, version: 2 },
      ],
      stackUpdateItem,
    );
    expect(result.valid).toEqual([{ kind: "update", result: "in-progress", startTime: 5, version: 3 }]);
    expect(result.dropped).toBe(1);
    expect(result.firstReason).toBe("result must be a string (was missing)");
  });

  test("fields the exporter does not read are removed", () => {
    const checked = validateValue(
      {
        baseAllowanceTokens: 10,
        effectiveAllowanceTokens: 12,
        consumedTokens: 3,
        exhausted: true,
        windowKind: "monthly",
        secretish: "x",
      },
      neoTokenBudget,
    );
    expect(checked).toEqual({
      ok: true,
      value: {
        baseAllowanceTokens: 10,
        effectiveAllowanceTokens: 12,
        consumedTokens: 3,
        exhausted: true,
        windowKind: "monthly",
      },
    });
  });

  test("the first reason is kept when several items fail", () => {
    const result = validateItems([1, { kind: 2 }], stackUpdateItem);
    expect(result.dropped).toBe(2);
    expect(result.firstReason).toBe("must be an object (was a number)");
  });
});

describe("envelopes", () => {
  test("parseJson", () => {
    expect(parseJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJson("")).toEqual({ ok: false, reason: "empty body" });
    expect(parseJson(undefined)).toEqual({ ok: false, reason: "empty body" });
    expect(parseJson("{")).toEqual({ ok: false, reason: "body is not JSON" });
  });

  test("readEnvelope", () => {
    expect(readEnvelope({ stacks: [] }, "stacks")).toEqual({ ok: true, value: { stacks: [] } });
    expect(readEnvelope({ stacks: null }, "stacks")).toEqual({
      ok: false,
      reason: "stacks must be an array (was null)",
    });
    expect(readEnvelope("x", "stacks")).toEqual({
      ok: false,
      reason: "body must be an object (was a string)",
    });
  });

  test("readToken: absent, null and empty all end the list", () => {
    expect(readToken({}, "continuationToken")).toEqual({ ok: true, value: undefined });
    expect(readToken({ continuationToken: null }, "continuationToken")).toEqual({
      ok: true,
      value: undefined,
    });
    expect(readToken({ continuationToken: "" }, "continuationToken")).toEqual({ ok: true, value: undefined });
    expect(readToken({ continuationToken: "abc" }, "continuationToken")).toEqual({ ok: true, value: "abc" });
    expect(readToken({ nextToken: false }, "nextToken")).toEqual({
      ok: false,
      reason: "nextToken must be a string (was a boolean)",
    });
  });
});
