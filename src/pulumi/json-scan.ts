/**
 * Reads a JSON object body field by field, and the items of its list field one by one, without parsing the body
 * whole: `JSON.parse` of a 130 MB page blocks the event loop for seconds, and builds every field of every item
 * before validation drops most of them.
 *
 * The scanner only finds where each field value and each item begins and ends (tracking strings, escapes and
 * nesting) and checks the punctuation between them; `JSON.parse` checks each value it hands out. So a body is
 * accepted exactly when `JSON.parse` would accept it, with the same values; duplicate keys too keep the last.
 * Bytes are scanned, not text: UTF-8 never uses a byte below 0x80 inside a multi-byte character, so every
 * structural character found is a real one, and only the small slices handed to `JSON.parse` are decoded.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** What the scanner reports, in body order. */
export interface EnvelopeVisitor {
  /** The list field starts (again, when the body repeats the key: its items so far no longer count). */
  listStart(): void;
  item(value: unknown): void;
  /** Any other field, or the list field when its value is not an array. */
  field(key: string, value: unknown): void;
}

/** Why a body was not scanned: it is not JSON, or not an object (then the caller parses it the usual way). */
export type ScanOutcome = "scanned" | "not-json" | "not-an-object" | "empty";

class NotJson extends Error {}

const utf8 = new TextDecoder();

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(bytes: Uint8Array, at: number): number {
  let i = at;
  while (isSpace(bytes[i])) i++;
  return i;
}

/** Just past the string whose opening quote is at `start`. */
function stringEnd(bytes: Uint8Array, start: number): number {
  for (let i = start + 1; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i + 1;
  }
  throw new NotJson();
}

/** Just past the object or array opened at `start`; brackets inside strings do not count. */
function nestedEnd(bytes: Uint8Array, start: number): number {
  let depth = 0;
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) i = stringEnd(bytes, i) - 1;
    else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new NotJson();
}

/** Just past the value starting at `start`. It only delimits the value: `JSON.parse` checks it. */
function valueEnd(bytes: Uint8Array, start: number): number {
  const first = bytes[start];
  if (first === QUOTE) return stringEnd(bytes, start);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) return nestedEnd(bytes, start);
  // A number, true, false or null runs up to the next delimiter.
  let i = start;
  for (; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === COMMA || byte === CLOSE_OBJECT || byte === CLOSE_ARRAY || isSpace(byte)) break;
  }
  if (i === start) throw new NotJson();
  return i;
}

function parseSlice(bytes: Uint8Array, start: number, end: number): unknown {
  try {
    return JSON.parse(utf8.decode(bytes.subarray(start, end)));
  } catch {
    throw new NotJson();
  }
}

function expect(bytes: Uint8Array, at: number, byte: number): void {
  if (bytes[at] !== byte) throw new NotJson();
}

/** Where the body's first value starts: after JSON whitespace and a UTF-8 byte order mark (as `Response.text`). */
export function bodyStart(bytes: Uint8Array): number {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return skipSpace(bytes, bom);
}

type Pause = () => Promise<void> | undefined;

/** The items of the array opened at `start`; returns the index just past it. */
async function scanItems(
  bytes: Uint8Array,
  start: number,
  visitor: EnvelopeVisitor,
  pause: Pause,
): Promise<number> {
  let at = skipSpace(bytes, start + 1);
  if (bytes[at] === CLOSE_ARRAY) return at + 1;
  for (;;) {
    const end = valueEnd(bytes, at);
    visitor.item(parseSlice(bytes, at, end));
    const turn = pause();
    if (turn) await turn;
    at = skipSpace(bytes, end);
    if (bytes[at] === CLOSE_ARRAY) return at + 1;
    expect(bytes, at, COMMA);
    at = skipSpace(bytes, at + 1);
  }
}

/** One `"key": value` member starting at `at`; returns the index just past the value. */
async function scanMember(
  bytes: Uint8Array,
  at: number,
  listField: string,
  visitor: EnvelopeVisitor,
  pause: Pause,
): Promise<number> {
  expect(bytes, at, QUOTE);
  const keyEnd = stringEnd(bytes, at);
  const key = parseSlice(bytes, at, keyEnd);
  if (typeof key !== "string") throw new NotJson();
  const colon = skipSpace(bytes, keyEnd);
  expect(bytes, colon, COLON);
  const value = skipSpace(bytes, colon + 1);
  if (key === listField && bytes[value] === OPEN_ARRAY) {
    visitor.listStart();
    return scanItems(bytes, value, visitor, pause);
  }
  const end = valueEnd(bytes, value);
  visitor.field(key, parseSlice(bytes, value, end));
  const turn = pause();
  if (turn) await turn;
  return end;
}

/**
 * Scans `bytes` as a JSON object, reporting each field, and each item of `listField`, to `visitor`. `pause` is
 * called after every value and awaited when it returns a promise (see timeSlicer).
 */
export async function scanEnvelope(
  bytes: Uint8Array,
  listField: string,
  visitor: EnvelopeVisitor,
  pause: Pause,
): Promise<ScanOutcome> {
  const start = bodyStart(bytes);
  if (start === bytes.length) return "empty";
  if (bytes[start] !== OPEN_OBJECT) return "not-an-object";
  try {
    let at = skipSpace(bytes, start + 1);
    if (bytes[at] !== CLOSE_OBJECT) {
      for (;;) {
        at = skipSpace(bytes, await scanMember(bytes, at, listField, visitor, pause));
        if (bytes[at] === CLOSE_OBJECT) break;
        expect(bytes, at, COMMA);
        at = skipSpace(bytes, at + 1);
      }
    }
    return skipSpace(bytes, at + 1) === bytes.length ? "scanned" : "not-json";
  } catch (error) {
    if (error instanceof NotJson) return "not-json";
    throw error;
  }
}
