/** Breaks one item of a response so it no longer matches the schema: the `invalid-item` fault. */
import type { Operation } from "../pulumi/api.ts";
import { PULUMI_OPERATIONS } from "../pulumi/operations.gen.ts";

/** Per operation: the array holding the items (none for a single object) and the required field to drop. */
function target(operation: Operation): { list: string | undefined; field: string } {
  const entry: { items?: string; invalidWithout: string } = PULUMI_OPERATIONS[operation];
  return { list: entry.items, field: entry.invalidWithout };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface Corruption {
  /** Index of the broken item in its page; undefined for a single-object response. */
  index: number | undefined;
  field: string;
}

/**
 * Returns a copy of `body` with one required field removed: from the middle item of the page, or from the
 * object itself. Undefined when there is nothing to break (an empty page).
 */
export function corruptBody(
  operation: Operation,
  body: unknown,
): { body: unknown; corruption: Corruption } | undefined {
  const { list, field } = target(operation);
  if (!isRecord(body)) return undefined;
  if (list === undefined) {
    const { [field]: _dropped, ...rest } = body;
    return { body: rest, corruption: { index: undefined, field } };
  }
  const items = body[list];
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const index = Math.floor(items.length / 2);
  const broken = items.map((item: unknown, i) => {
    if (i !== index || !isRecord(item)) return item;
    const { [field]: _dropped, ...rest } = item;
    return rest;
  });
  return { body: { ...body, [list]: broken }, corruption: { index, field } };
}
