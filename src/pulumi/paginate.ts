/** Walk every page of a Pulumi Cloud list, with bounds against a server that never says "last page". */
import type { Operation } from "./api.ts";
import { PulumiApiError } from "./pulumi-api-error.ts";

export const DEFAULT_MAX_PAGES = 10_000;

export interface TokenPage<T> {
  items: T[];
  /** Token for the next page; undefined on the last page. */
  next: string | undefined;
}

function paginationError(operation: Operation, reason: string): PulumiApiError {
  // The pages themselves arrived fine (HTTP 200); it is their sequence that is wrong.
  return new PulumiApiError({ operation, status: 200, attempts: 1, reason });
}

function append<T>(into: T[], items: readonly T[]): void {
  for (const item of items) into.push(item);
}

/** Continuation-token lists: fetch with the token the previous page returned until a page returns none. */
export async function collectTokenPages<T>(
  operation: Operation,
  maxPages: number,
  fetchPage: (token: string | undefined) => Promise<TokenPage<T>>,
  /** Awaited before the next page is fetched, so a long page is worked through in turns. */
  onPage?: (items: readonly T[]) => void | Promise<void>,
): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  for (let page = 1; page <= maxPages; page++) {
    const result = await fetchPage(token);
    append(all, result.items);
    await onPage?.(result.items);
    if (result.next === undefined) return all;
    if (seen.has(result.next)) {
      throw paginationError(operation, `server repeated a continuation token on page ${page}`);
    }
    seen.add(result.next);
    token = result.next;
  }
  throw paginationError(operation, `pagination did not end within ${maxPages} pages`);
}

export interface NumberedPage<T> {
  items: T[];
  /** Items the server sent on this page, valid or not. */
  received: number;
  /** Items across all pages, when the server says. */
  total: number | undefined;
}

/**
 * Page-number lists (pages start at 1): stop once the server's total is reached, on an empty page, or, without a
 * total, on a short page.
 */
export async function collectNumberedPages<T>(
  operation: Operation,
  maxPages: number,
  pageSize: number,
  fetchPage: (page: number, pageSize: number) => Promise<NumberedPage<T>>,
): Promise<T[]> {
  const all: T[] = [];
  let received = 0;
  for (let page = 1; page <= maxPages; page++) {
    const result = await fetchPage(page, pageSize);
    append(all, result.items);
    received += result.received;
    if (result.received === 0) return all;
    if (result.total !== undefined ? received >= result.total : result.received < pageSize) return all;
  }
  throw paginationError(operation, `pagination did not end within ${maxPages} pages`);
}
