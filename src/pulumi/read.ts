/**
 * Reading answers of the transport: JSON objects and list pages validated item by item, pages walked by token or
 * by number, dropped items counted. What the endpoint table (endpoints.ts) is written in.
 */
import type { Logger } from "../log/logger.ts";
import type { ClientHooks, Operation } from "./api.ts";
import { type ListPage, readListPage } from "./list-page.ts";
import { collectNumberedPages, collectTokenPages } from "./paginate.ts";
import { PulumiApiError } from "./pulumi-api-error.ts";
import { timeSlicer } from "./time-slice.ts";
import { type Call, REASON_MAX_CHARS, type Reply, type RequestScope, type Transport } from "./transport.ts";
import { type Checked, parseJson, readToken, type Validator, validateValue } from "./validate.ts";

/** A page of a list and the HTTP status it came with. */
export type StatusPage<T> = ListPage<T> & { status: number };

/** How many items one list call dropped, and why the first was dropped. */
export interface DropTally {
  count: number;
  reason: string | undefined;
}

export interface ReaderOptions {
  transport: Transport;
  scope: RequestScope;
  maxPages: number;
  hooks: ClientHooks;
  logger: Logger;
}

/** Everything an endpoint needs, with the requests of one scope. */
export interface Reader {
  readonly get: Transport["get"];
  readonly maxPages: number;
  send(operation: Operation, call: Call, accept?: readonly number[]): Promise<Reply>;
  fetchJson(operation: Operation, call: Call): Promise<{ status: number; body: unknown }>;
  fetchObject<T>(operation: Operation, call: Call, validator: Validator<T>): Promise<T>;
  /** One page of a list from a reply already received, validated item by item; its drops added to `into`. */
  readPage<T>(
    operation: Operation,
    reply: Reply,
    field: string,
    validator: Validator<T>,
    into: DropTally,
  ): Promise<StatusPage<T>>;
  /** One page of a list, read and validated item by item with the event loop free in between. */
  fetchPage<T>(
    operation: Operation,
    call: Call,
    field: string,
    validator: Validator<T>,
    into: DropTally,
  ): Promise<StatusPage<T>>;
  /** A field of a page's envelope, checked; the page is rejected whole when it is malformed. */
  envelopeField<T>(
    operation: Operation,
    page: StatusPage<unknown>,
    read: (envelope: Record<string, unknown>, field: string) => Checked<T>,
    field: string,
  ): T;
  /** Logs and reports the items a list call dropped, if any. */
  reportDropped(operation: Operation, dropped: DropTally): void;
  malformed(operation: Operation, status: number, reason: string): PulumiApiError;
  must<T>(operation: Operation, status: number, checked: Checked<T>): T;
}

export function tally(): DropTally {
  return { count: 0, reason: undefined };
}

const utf8 = new TextDecoder();

/** The body as text, as `Response.text()` reads it (a byte order mark is skipped). */
export function decodeBody(body: Uint8Array | undefined): string | undefined {
  return body === undefined ? undefined : utf8.decode(body);
}

export function createReader(options: ReaderOptions): Reader {
  const { transport, scope, logger, hooks } = options;
  const malformed = (operation: Operation, status: number, reason: string): PulumiApiError =>
    new PulumiApiError({
      operation,
      status,
      attempts: 1,
      reason: `malformed response: ${transport.safe(reason, REASON_MAX_CHARS)}`,
    });
  const must = <T>(operation: Operation, status: number, checked: Checked<T>): T => {
    if (!checked.ok) throw malformed(operation, status, checked.reason);
    return checked.value;
  };
  const send: Reader["send"] = (operation, call, accept) => transport.send(operation, call, scope, accept);
  const fetchJson: Reader["fetchJson"] = async (operation, call) => {
    const reply = await send(operation, call);
    return { status: reply.status, body: must(operation, reply.status, parseJson(decodeBody(reply.body))) };
  };
  const readPage: Reader["readPage"] = async (operation, reply, field, validator, into) => {
    const page = must(
      operation,
      reply.status,
      await readListPage(reply.body, field, validator, timeSlicer()),
    );
    into.count += page.droppedAfter.length;
    into.reason ??= page.firstReason;
    return { ...page, status: reply.status };
  };
  return {
    get: transport.get,
    maxPages: options.maxPages,
    send,
    fetchJson,
    fetchObject: async (operation, call, validator) => {
      const { status, body } = await fetchJson(operation, call);
      return must(operation, status, validateValue(body, validator));
    },
    readPage,
    fetchPage: async (operation, call, field, validator, into) =>
      readPage(operation, await send(operation, call), field, validator, into),
    envelopeField: (operation, page, read, field) => must(operation, page.status, read(page.envelope, field)),
    reportDropped: (operation, dropped) => {
      if (dropped.count === 0) return;
      const reason = transport.safe(dropped.reason ?? "invalid item", REASON_MAX_CHARS);
      logger.warn("dropped malformed items from a Pulumi Cloud response", {
        operation,
        count: dropped.count,
        reason,
      });
      hooks.onDropped?.(operation, dropped.count, reason);
    },
    malformed,
    must,
  };
}

/** A list that fits one response. */
export async function listOnce<T>(
  read: Reader,
  operation: Operation,
  field: string,
  validator: Validator<T>,
  call: Call,
): Promise<T[]> {
  const dropped = tally();
  const page = await read.fetchPage(operation, call, field, validator, dropped);
  read.reportDropped(operation, dropped);
  return page.valid;
}

/** A list walked by continuation token; `tokenField` names the token in the response. */
export async function listByToken<T>(
  read: Reader,
  list: { operation: Operation; field: string; tokenField: string; validator: Validator<T> },
  call: (token: string | undefined) => Call,
  onPage?: (items: readonly T[]) => void | Promise<void>,
): Promise<T[]> {
  const { operation, field, tokenField, validator } = list;
  const dropped = tally();
  const items = await collectTokenPages(
    operation,
    read.maxPages,
    async (token) => {
      const page = await read.fetchPage(operation, call(token), field, validator, dropped);
      return { items: page.valid, next: read.envelopeField(operation, page, readToken, tokenField) };
    },
    onPage,
  );
  read.reportDropped(operation, dropped);
  return items;
}

/** A list walked by page number, `pageSize` to a page, until the envelope's `totalField` (or a short page). */
export async function listByNumber<T>(
  read: Reader,
  list: { operation: Operation; field: string; validator: Validator<T>; pageSize: number },
  total: (page: StatusPage<T>) => number | undefined,
  call: (page: number, pageSize: number) => Call,
): Promise<T[]> {
  const { operation, field, validator } = list;
  const dropped = tally();
  const items = await collectNumberedPages(
    operation,
    read.maxPages,
    list.pageSize,
    async (page, pageSize) => {
      const result = await read.fetchPage(operation, call(page, pageSize), field, validator, dropped);
      const received = result.valid.length + result.droppedAfter.length;
      return { items: result.valid, received, total: total(result) };
    },
  );
  read.reportDropped(operation, dropped);
  return items;
}
