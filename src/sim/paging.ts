/** Query parameters and continuation tokens, validated the way Pulumi Cloud does (400 on nonsense). */
import { ApiError } from "./api-error.ts";

/** Where the next page starts: after a sort key (stable while items come and go) or at an offset. */
export type Cursor = { after: string } | { offset: number };

export function encodeToken(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

export function decodeToken(token: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null) {
      if ("after" in value && typeof value.after === "string") return { after: value.after };
      if ("offset" in value && Number.isInteger(value.offset) && (value.offset as number) >= 0) {
        return { offset: value.offset as number };
      }
    }
  } catch {
    // Falls through to the 400 below.
  }
  throw new ApiError(400, "Invalid continuation token");
}

export function offsetOf(token: string | undefined): number {
  if (token === undefined || token === "") return 0;
  const cursor = decodeToken(token);
  if (!("offset" in cursor)) throw new ApiError(400, "Invalid continuation token");
  return cursor.offset;
}

export function afterOf(token: string | undefined): string | undefined {
  if (token === undefined || token === "") return undefined;
  const cursor = decodeToken(token);
  if (!("after" in cursor)) throw new ApiError(400, "Invalid continuation token");
  return cursor.after;
}

export interface IntRange {
  min: number;
  max?: number;
  fallback: number;
  /** The API's own wording for the 400. */
  message?: string;
}

/** An integer query parameter; absent or empty gives the fallback, anything out of range a 400. */
export function intParam(value: string | undefined, name: string, range: IntRange): number {
  if (value === undefined || value === "") return range.fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    throw new ApiError(400, range.message ?? `Invalid '${name}' value.`);
  }
  return n;
}

export function boolParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw new ApiError(400, `Invalid '${name}' value.`);
}

/** Items after `after` (by `keyOf`, items sorted by it), up to `limit`, and the token for the rest. */
export function pageAfter<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  after: string | undefined,
  limit: number,
): { items: T[]; next: string | undefined } {
  let start = 0;
  if (after !== undefined) {
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keyOf(items[mid] as T) <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const page = items.slice(start, start + limit);
  const last = page.at(-1);
  const next =
    start + limit < items.length && last !== undefined ? encodeToken({ after: keyOf(last) }) : undefined;
  return { items: page, next };
}

/** `limit` items from `offset`, and the token for the rest. */
export function pageAt<T>(
  items: readonly T[],
  offset: number,
  limit: number,
): { items: T[]; next: string | undefined } {
  const page = items.slice(offset, offset + limit);
  const next = offset + limit < items.length ? encodeToken({ offset: offset + limit }) : undefined;
  return { items: page, next };
}
