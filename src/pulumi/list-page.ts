/**
 * One page of a list response, read item by item (see json-scan.ts): each item is validated as soon as it is
 * parsed, so only the small validated items are kept, and the event loop gets a turn every few milliseconds.
 */
import { type EnvelopeVisitor, scanEnvelope } from "./json-scan.ts";
import {
  type Checked,
  describeKind,
  parseJson,
  readEnvelope,
  type Validator,
  validateValue,
} from "./validate.ts";

export interface ListPage<T> {
  /** The fields around the list: continuation token, total and whatever else the body has. */
  envelope: Record<string, unknown>;
  valid: T[];
  /** One entry per dropped item: how many valid items of the page came before it. */
  droppedAfter: number[];
  /** Why the first dropped item was rejected. */
  firstReason: string | undefined;
}

/** A body that is not an object is refused; one this small is parsed first, to say what it is instead. */
const NON_OBJECT_PARSE_MAX_BYTES = 64 * 1024;

const utf8 = new TextDecoder();

function notAnObject(body: Uint8Array, field: string): Checked<never> {
  if (body.byteLength > NON_OBJECT_PARSE_MAX_BYTES) return { ok: false, reason: "body is not a JSON object" };
  const parsed = parseJson(utf8.decode(body));
  if (!parsed.ok) return parsed;
  const envelope = readEnvelope(parsed.value, field);
  return envelope.ok ? { ok: false, reason: "body must be an object" } : envelope;
}

/**
 * The page in `body`: an object whose `field` is the array of items. `pause` is called after every item and
 * awaited when it returns a promise (see timeSlicer).
 */
export async function readListPage<T>(
  body: Uint8Array | undefined,
  field: string,
  validator: Validator<T>,
  pause: () => Promise<void> | undefined,
): Promise<Checked<ListPage<T>>> {
  if (body === undefined) return { ok: false, reason: "empty body" };
  const envelope: Record<string, unknown> = Object.create(null);
  let page: ListPage<T> | undefined;
  const visitor: EnvelopeVisitor = {
    listStart: () => {
      delete envelope[field];
      page = { envelope, valid: [], droppedAfter: [], firstReason: undefined };
    },
    item: (value) => {
      if (page === undefined) return;
      const checked = validateValue(value, validator);
      if (checked.ok) {
        page.valid.push(checked.value);
        return;
      }
      page.droppedAfter.push(page.valid.length);
      page.firstReason ??= checked.reason;
    },
    field: (key, value) => {
      envelope[key] = value;
      // A later non-array value for the list field wins, as with JSON.parse.
      if (key === field) page = undefined;
    },
  };
  switch (await scanEnvelope(body, field, visitor, pause)) {
    case "empty":
      return { ok: false, reason: "empty body" };
    case "not-json":
      return { ok: false, reason: "body is not JSON" };
    case "not-an-object":
      return notAnObject(body, field);
    case "scanned":
      if (page !== undefined) return { ok: true, value: page };
      return { ok: false, reason: `${field} must be an array (was ${describeKind(envelope[field])})` };
  }
}
