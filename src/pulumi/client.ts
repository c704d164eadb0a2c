/**
 * The Pulumi Cloud HTTP client. Every call site is typed against the generated `paths`, so a renamed path or
 * parameter breaks the build. Requests are retried with backoff, responses validated item by item.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import createClient from "openapi-fetch";
import { type Logger, scrub, silentLogger } from "../log/logger.ts";
import { systemTimers, type Timers, timeoutSignal } from "../timers.ts";
import { VERSION } from "../version.ts";
import type {
  AccessTokenItem,
  AgentItem,
  AgentPoolItem,
  ClientHooks,
  Environment,
  Member,
  NeoTaskItem,
  Operation,
  PolicyGroupItem,
  PolicyPackItem,
  PulumiApi,
  StackRef,
  TeamItem,
  UpdatesPage,
  UserApi,
  Violation,
} from "./api.ts";
import { BodyTooLargeError, readBody, withBoundedBody } from "./body.ts";
import { type ListPage, readListPage } from "./list-page.ts";
import { collectNumberedPages, collectTokenPages, DEFAULT_MAX_PAGES } from "./paginate.ts";
import { describeStatus, PulumiApiError, type PulumiApiStatus } from "./pulumi-api-error.ts";
import { DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, type RetryOptions, retryDelay } from "./retry.ts";
import type { paths } from "./schema.gen.ts";
import { timeSlicer } from "./time-slice.ts";
import type { DeploymentSummary, StackSummary } from "./types.ts";
import {
  accessTokenItem,
  agentItem,
  agentPoolItem,
  type Checked,
  currentUser,
  deploymentCounts,
  deploymentItem,
  isPathName,
  isRecord,
  memberItem,
  namedItem,
  neoTaskItem,
  neoTokenBudget,
  orgMetadata,
  parseJson,
  policyResultsMetadata,
  readOptionalCount,
  readToken,
  resourceCount,
  stackItem,
  stackUpdateItem,
  userTokenInfo,
  type Validator,
  validateValue,
  violationItem,
} from "./validate.ts";

export type FetchFn = (request: Request, init?: BunFetchRequestInit) => Promise<Response>;

export interface PulumiClientOptions {
  /** e.g. `https://api.pulumi.com` */
  baseUrl: string;
  /**
   * Pulumi access token; sent only in the Authorization header, never logged. A function is asked before every
   * request, so a rotated token takes effect on the next one.
   */
  token: string | (() => string);
  /** Per attempt, covering connect, headers and body. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** Upper bound on pages walked by one list call. Default 10,000. */
  maxPages?: number;
  /**
   * Largest response body read, in bytes after decompression; a larger one fails its call without a retry.
   * Default 64 MiB.
   */
  maxResponseBytes?: number;
  hooks?: ClientHooks;
  logger?: Logger;
  /** PEM file of extra certificate authorities trusted besides the system ones (e.g. a TLS-inspecting proxy). */
  caFile?: string;
  fetch?: FetchFn;
  sleep?: (ms: number) => Promise<void>;
  /** Abandons every request and retry wait once aborted (see {@link PulumiApi.withSignal}). */
  signal?: AbortSignal;
  /** Uniform in [0, 1), for backoff jitter. */
  random?: () => number;
  /** Epoch milliseconds, for `Retry-After` dates. */
  now?: () => number;
  /** The per-attempt timeout's clock (tests drive it); the system's by default. */
  timers?: Timers;
}

/** Neo tasks are listed 1,000 to a page, the most the API documents. */
export const NEO_TASKS_PAGE_SIZE = 1000;
/** Deployments are listed 100 to a page, the most the API allows. */
export const DEPLOYMENTS_PAGE_SIZE = 100;
const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DETAIL_MAX_CHARS = 200;
const REASON_MAX_CHARS = 300;

/** What openapi-fetch resolves to with `parseAs: "stream"`: the body of a 2xx response is left to read. */
interface RawReply {
  data?: ReadableStream<Uint8Array> | null | undefined;
  error?: unknown;
  response: Response;
}

/** One request, ready to send; `refused` says why it must not be sent at all. */
interface Call {
  run: (signal: AbortSignal) => Promise<RawReply>;
  refused: string | undefined;
  /** The organization the request is about, for the debug log. */
  org: string | undefined;
}

/** Every generated path is a GET; its parameters, as the spec names them. */
type GetPath = keyof paths;
type GetParams<P extends GetPath> = paths[P]["get"]["parameters"];

type RawGet = (
  path: string,
  init: { params: object; querySerializer: () => string; parseAs: "stream"; signal: AbortSignal },
) => Promise<RawReply>;

interface Reply {
  status: number;
  body: Uint8Array | undefined;
  /** The media type, without parameters: `text/html`. */
  contentType: string;
}

type Outcome =
  | {
      kind: "response";
      status: number;
      statusText: string;
      body: Uint8Array | undefined;
      error: unknown;
      retryAfter: string | null;
      contentType: string;
    }
  /** A 2xx response whose body grew past the bound: the same answer again would be no smaller. */
  | { kind: "too-large"; status: number }
  | { kind: "timeout" }
  | { kind: "error"; code: string };

/** A page of a list and the HTTP status it came with. */
type StatusPage<T> = ListPage<T> & { status: number };

/** How many items one list call dropped, and why the first was dropped. */
interface DropTally {
  count: number;
  reason: string | undefined;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`Pulumi client: ${name} must be a non-negative integer`);
  }
  return value;
}

function checkBaseUrl(baseUrl: string, secrets: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`Pulumi client: base URL ${scrub(JSON.stringify(baseUrl), secrets)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`Pulumi client: base URL must be http(s), got ${url.protocol}`);
  }
  return url;
}

/** `host:port` of the API, for network errors: `api.pulumi.com:443`. */
export function apiHostPort(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/** The console (`app.pulumi.com`) serves HTML pages where the API serves JSON; an API host starts with `api.`. */
export function looksLikeConsole(url: URL): boolean {
  return url.hostname === "app.pulumi.com" || !url.hostname.startsWith("api.");
}

const CONSOLE_HINT = "the API URL looks like the Pulumi console; use --pulumi.api-url=https://api.pulumi.com";

/** The media type of a Content-Type header, lower case and without parameters; "" when there is none. */
function mediaType(header: string | null): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** An HTML page: by its content type, or by its first character when the server sent none or a wrong one. */
function isHtml(contentType: string, text: string | undefined): boolean {
  return contentType === "text/html" || /^\s*<(!doctype html|html|head|body|!--)/i.test(text ?? "");
}

function readCaFile(caFile: string): string {
  try {
    return readFileSync(caFile, "utf8");
  } catch (error) {
    const code = isRecord(error) && typeof error.code === "string" ? error.code : "unreadable";
    throw new Error(`Pulumi client: cannot read CA file ${caFile}: ${code}`);
  }
}

function errorCode(error: unknown): string {
  if (isRecord(error) && typeof error.code === "string" && error.code !== "") return error.code;
  if (error instanceof Error) return error.name;
  return "unknown";
}

/**
 * Why a path parameter must not be sent, if it must not. openapi-fetch percent-encodes every value (`/`, `?`,
 * `#` and `%` included), but "." and ".." stay dot segments that the URL parser resolves, and "" drops a segment.
 */
function refusePathParams(path: Record<string, unknown> | undefined): string | undefined {
  for (const [name, value] of Object.entries(path ?? {})) {
    if (typeof value === "string" && isPathName(value)) continue;
    const shown = JSON.stringify(String(value));
    const was = shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
    return `path parameter ${name} must not be "", "." or ".." or contain "/" (was ${was}); no request sent`;
  }
  return undefined;
}

/** Query string of primitive parameters; undefined ones are left out. */
function serializeQuery(...parts: readonly (object | undefined)[]): string {
  const pairs: string[] = [];
  for (const part of parts) {
    for (const [key, value] of Object.entries(part ?? {})) {
      if (value === undefined || value === null) continue;
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    }
  }
  return pairs.join("&");
}

const utf8 = new TextDecoder();

/** The body as text, as `Response.text()` reads it (a byte order mark is skipped). */
function decodeBody(body: Uint8Array | undefined): string | undefined {
  return body === undefined ? undefined : utf8.decode(body);
}

function statusOf(outcome: Outcome): PulumiApiStatus {
  return outcome.kind === "response" || outcome.kind === "too-large" ? outcome.status : outcome.kind;
}

function isRetryable(outcome: Outcome): boolean {
  if (outcome.kind === "response") return isRetryableStatus(outcome.status);
  return outcome.kind !== "too-large";
}

/** The API's own error message from a failed response, scrubbed and short; nothing from HTML error pages. */
function bodyDetail(error: unknown, secrets: readonly string[]): string | undefined {
  let text: string | undefined;
  if (typeof error === "string") text = error;
  else if (isRecord(error) && typeof error.message === "string") text = error.message;
  if (text === undefined) return undefined;
  const line = scrub(text.replace(/\s+/g, " ").trim(), secrets);
  if (line === "" || line.startsWith("<")) return undefined;
  return line.length > DETAIL_MAX_CHARS ? `${line.slice(0, DETAIL_MAX_CHARS)}…` : line;
}

export function createPulumiClient(options: PulumiClientOptions): PulumiApi & UserApi {
  const token = options.token;
  const tokenOf = typeof token === "function" ? token : () => token;
  if (tokenOf() === "") throw new Error("Pulumi client: access token is empty");
  // Every token used so far: scrubbed from messages, the old one included (a late response may echo it).
  const secrets: string[] = [tokenOf()];
  const currentToken = (): string => {
    const token = tokenOf();
    if (!secrets.includes(token)) secrets.push(token);
    return token;
  };
  const apiUrl = checkBaseUrl(options.baseUrl, secrets);
  const baseUrl = options.baseUrl;
  const target = scrub(apiHostPort(apiUrl), secrets);
  const htmlHint = looksLikeConsole(apiUrl) ? CONSOLE_HINT : undefined;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new Error("Pulumi client: timeoutMs must be positive");
  const retry: RetryOptions = {
    maxRetries: nonNegativeInteger("retry.maxRetries", options.retry?.maxRetries ?? DEFAULT_RETRY.maxRetries),
    baseDelayMs: nonNegativeInteger(
      "retry.baseDelayMs",
      options.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
    ),
    maxDelayMs: nonNegativeInteger("retry.maxDelayMs", options.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs),
  };
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1) {
    throw new Error("Pulumi client: maxResponseBytes must be a positive integer");
  }
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  if (!Number.isInteger(maxPages) || maxPages < 1) {
    throw new Error("Pulumi client: maxPages must be at least 1");
  }
  const hooks = options.hooks ?? {};
  const logger = options.logger ?? silentLogger;
  const sleep = options.sleep ?? ((ms: number) => Bun.sleep(ms));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const baseFetch: FetchFn = options.fetch ?? ((request, init) => fetch(request, init));
  // Bun reads HTTP(S)_PROXY and NO_PROXY itself; only the extra CA needs passing. System roots stay trusted.
  const init: BunFetchRequestInit | undefined =
    options.caFile === undefined
      ? undefined
      : { tls: { ca: [...rootCertificates, readCaFile(options.caFile)] } };

  const http = createClient<paths>({
    baseUrl,
    headers: {
      Accept: "application/vnd.pulumi+8",
      "User-Agent": `pulumi-exporter/${VERSION}`,
    },
    // A redirect would carry the token to wherever it points; report it instead of following it.
    redirect: "manual",
    // Error bodies are read here, bounded, before openapi-fetch reads them whole; 2xx bodies in attemptOnce.
    fetch: async (request: Request) => {
      // Set per request, not at creation: the token may have been rotated since.
      request.headers.set("Authorization", `token ${currentToken()}`);
      const response = await baseFetch(request, init);
      return response.ok ? response : withBoundedBody(response);
    },
  });

  // openapi-fetch cannot relate a generic path to its parameters; `get` below checks every call site instead.
  const rawGet = http.GET.bind(http) as unknown as RawGet;

  /**
   * A GET of `path` with its typed parameters. `extraQuery` carries parameters the spec omits; keep it for those.
   */
  function get<P extends GetPath>(
    path: P,
    params: GetParams<P>,
    extraQuery?: Record<string, string | undefined>,
  ): Call {
    const query: object | undefined = params.query;
    const pathParams: Record<string, unknown> | undefined = params.path;
    const org = pathParams?.orgName ?? (query as { organization?: unknown } | undefined)?.organization;
    return {
      refused: refusePathParams(pathParams),
      org: typeof org === "string" ? org : undefined,
      run: (signal) =>
        rawGet(path, {
          params,
          querySerializer: () => serializeQuery(query, extraQuery),
          parseAs: "stream",
          signal,
        }),
    };
  }

  const safe = (text: string, max: number): string => {
    const clean = scrub(text, secrets);
    return clean.length > max ? `${clean.slice(0, max)}…` : clean;
  };

  /**
   * What a failed response said: the API's own message, or that it was an HTML page (a console or a proxy's page).
   * 5xx pages come from gateways in front of the API, whatever the URL: their status says it all.
   */
  function responseDetail(outcome: Extract<Outcome, { kind: "response" }>): string | undefined {
    const text = typeof outcome.error === "string" ? outcome.error : undefined;
    if (!isHtml(outcome.contentType, text)) return bodyDetail(outcome.error, secrets);
    if (outcome.status >= 500) return undefined;
    const page = `got an HTML page (${outcome.contentType || "no content type"}) where JSON was expected`;
    return htmlHint ? `${page}; ${htmlHint}` : page;
  }

  function failure(operation: Operation, outcome: Outcome, attempts: number): PulumiApiError {
    switch (outcome.kind) {
      case "response":
        return new PulumiApiError({
          operation,
          status: outcome.status,
          attempts,
          reason: describeStatus(outcome.status, outcome.statusText),
          detail: responseDetail(outcome),
        });
      case "too-large":
        return new PulumiApiError({
          operation,
          status: outcome.status,
          attempts,
          reason: `response body exceeds --pulumi.max-response-bytes (${maxResponseBytes} bytes)`,
        });
      case "timeout":
        return new PulumiApiError({
          operation,
          status: "timeout",
          attempts,
          reason: `request timed out (${timeoutMs} ms)`,
        });
      case "error":
        return new PulumiApiError({
          operation,
          status: "error",
          attempts,
          reason: `network error (${safe(outcome.code, 80)}) reaching ${target}`,
        });
    }
  }

  const lifetime = options.signal;

  function cancelled(operation: Operation, attempts: number): PulumiApiError {
    return new PulumiApiError({
      operation,
      status: "error",
      attempts,
      reason: "cancelled at the cycle deadline",
    });
  }

  /** Waits between retries, cut short when the lifetime signal aborts. */
  function pause(ms: number): Promise<void> {
    if (!lifetime) return sleep(ms);
    return Promise.race([
      sleep(ms),
      new Promise<void>((resolve) => lifetime.addEventListener("abort", () => resolve(), { once: true })),
    ]);
  }

  async function attemptOnce(call: Call): Promise<Outcome> {
    const timeout = timeoutSignal(options.timers ?? systemTimers, timeoutMs);
    // Aborted once the body is too large, so the connection goes rather than the rest of the body being sent.
    const dropped = new AbortController();
    const signals = [timeout, dropped.signal, ...(lifetime ? [lifetime] : [])];
    const signal = AbortSignal.any(signals);
    let status = 0;
    try {
      const { data, error, response } = await call.run(signal);
      status = response.status;
      // The timeout covers the body too: it stays armed while the body streams in.
      const body = data ? await readBody(data, maxResponseBytes, timeSlicer()) : undefined;
      return {
        kind: "response",
        status,
        statusText: response.statusText,
        body,
        error,
        retryAfter: response.headers.get("retry-after"),
        contentType: mediaType(response.headers.get("content-type")),
      };
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        dropped.abort();
        return { kind: "too-large", status };
      }
      return timeout.aborted ? { kind: "timeout" } : { kind: "error", code: errorCode(error) };
    }
  }

  /** One logical request: attempts until success, a non-retryable answer, or retries run out. */
  async function send(operation: Operation, call: Call, accept: readonly number[] = []): Promise<Reply> {
    if (call.refused !== undefined) {
      throw new PulumiApiError({
        operation,
        status: "error",
        attempts: 0,
        reason: safe(call.refused, REASON_MAX_CHARS),
      });
    }
    const attempts = retry.maxRetries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (lifetime?.aborted) throw cancelled(operation, attempt - 1);
      const started = performance.now();
      const outcome = await attemptOnce(call);
      if (lifetime?.aborted) throw cancelled(operation, attempt);
      const elapsedMs = performance.now() - started;
      hooks.onRequest?.(operation, statusOf(outcome), elapsedMs / 1000);
      logger.debug("Pulumi Cloud request", {
        operation,
        org: call.org,
        status: statusOf(outcome),
        attempt,
        duration_ms: Math.round(elapsedMs),
      });
      if (outcome.kind === "response") {
        const ok = outcome.status >= 200 && outcome.status < 300;
        if (ok || accept.includes(outcome.status))
          return {
            status: outcome.status,
            body: jsonBody(operation, outcome, attempt),
            contentType: outcome.contentType,
          };
      }
      if (!isRetryable(outcome) || attempt === attempts) throw failure(operation, outcome, attempt);
      const retryAfterMs =
        outcome.kind === "response" ? parseRetryAfter(outcome.retryAfter, now()) : undefined;
      const delayMs = retryDelay(attempt, retryAfterMs, retry, random);
      hooks.onRetry?.(operation, attempt, delayMs);
      logger.info("retrying Pulumi Cloud request", {
        operation,
        status: statusOf(outcome),
        retry: attempt,
        delay_ms: delayMs,
      });
      await pause(delayMs);
    }
    // Unreachable: the last attempt either returned or threw.
    throw new PulumiApiError({ operation, status: "error", attempts, reason: "no attempt made" });
  }

  /** The body of an answer that must be JSON; an HTML page (the console, a proxy's login page) says so plainly. */
  function jsonBody(
    operation: Operation,
    outcome: { status: number; body: Uint8Array | undefined; contentType: string },
    attempts: number,
  ): Uint8Array | undefined {
    const head = outcome.body === undefined ? undefined : utf8.decode(outcome.body.subarray(0, 64));
    if (!isHtml(outcome.contentType, head)) return outcome.body;
    throw new PulumiApiError({
      operation,
      status: outcome.status,
      attempts,
      reason: `got an HTML page (${outcome.status}, ${outcome.contentType || "no content type"}) where JSON was expected`,
      ...(htmlHint ? { detail: htmlHint } : {}),
    });
  }

  function malformed(operation: Operation, status: number, reason: string): PulumiApiError {
    return new PulumiApiError({
      operation,
      status,
      attempts: 1,
      reason: `malformed response: ${safe(reason, REASON_MAX_CHARS)}`,
    });
  }

  function must<T>(operation: Operation, status: number, checked: Checked<T>): T {
    if (!checked.ok) throw malformed(operation, status, checked.reason);
    return checked.value;
  }

  async function fetchJson(operation: Operation, call: Call): Promise<{ status: number; body: unknown }> {
    const reply = await send(operation, call);
    return { status: reply.status, body: must(operation, reply.status, parseJson(decodeBody(reply.body))) };
  }

  async function fetchObject<T>(operation: Operation, call: Call, validator: Validator<T>): Promise<T> {
    const { status, body } = await fetchJson(operation, call);
    return must(operation, status, validateValue(body, validator));
  }

  function tally(): DropTally {
    return { count: 0, reason: undefined };
  }

  /** One page of a list, read and validated item by item with the event loop free in between. */
  async function fetchPage<T>(
    operation: Operation,
    call: Call,
    field: string,
    validator: Validator<T>,
    into: DropTally,
  ): Promise<StatusPage<T>> {
    const reply = await send(operation, call);
    const page = must(
      operation,
      reply.status,
      await readListPage(reply.body, field, validator, timeSlicer()),
    );
    into.count += page.droppedAfter.length;
    into.reason ??= page.firstReason;
    return { ...page, status: reply.status };
  }

  /** A field of a page's envelope, checked; the page is rejected whole when it is malformed. */
  function envelopeField<T>(
    operation: Operation,
    page: StatusPage<unknown>,
    read: (envelope: Record<string, unknown>, field: string) => Checked<T>,
    field: string,
  ): T {
    return must(operation, page.status, read(page.envelope, field));
  }

  function reportDropped(operation: Operation, dropped: DropTally): void {
    if (dropped.count === 0) return;
    const reason = safe(dropped.reason ?? "invalid item", REASON_MAX_CHARS);
    logger.warn("dropped malformed items from a Pulumi Cloud response", {
      operation,
      count: dropped.count,
      reason,
    });
    hooks.onDropped?.(operation, dropped.count, reason);
  }

  /** A list that fits one response. */
  async function listOnce<T>(
    operation: Operation,
    field: string,
    validator: Validator<T>,
    call: Call,
  ): Promise<T[]> {
    const dropped = tally();
    const page = await fetchPage(operation, call, field, validator, dropped);
    reportDropped(operation, dropped);
    return page.valid;
  }

  /** A list walked by continuation token; `tokenField` names the token in the response. */
  async function listByToken<T>(
    operation: Operation,
    field: string,
    tokenField: string,
    validator: Validator<T>,
    call: (token: string | undefined) => Call,
    onPage?: (items: readonly T[]) => void | Promise<void>,
  ): Promise<T[]> {
    const dropped = tally();
    const items = await collectTokenPages(
      operation,
      maxPages,
      async (token) => {
        const page = await fetchPage(operation, call(token), field, validator, dropped);
        return { items: page.valid, next: envelopeField(operation, page, readToken, tokenField) };
      },
      onPage,
    );
    reportDropped(operation, dropped);
    return items;
  }

  const stackPath = (ref: StackRef) => ({ orgName: ref.org, projectName: ref.project, stackName: ref.stack });

  return {
    withSignal: (signal) =>
      createPulumiClient({ ...options, signal: lifetime ? AbortSignal.any([lifetime, signal]) : signal }),
    scoped: ({ signal, onRequest }) =>
      createPulumiClient({
        ...options,
        signal: lifetime ? AbortSignal.any([lifetime, signal]) : signal,
        hooks: {
          ...hooks,
          onRequest: (...args) => {
            hooks.onRequest?.(...args);
            onRequest(...args);
          },
        },
      }),

    listStacks: (org, onPage): Promise<StackSummary[]> =>
      listByToken(
        "ListUserStacks",
        "stacks",
        "continuationToken",
        stackItem,
        (token) => get("/api/user/stacks", { query: { organization: org, continuationToken: token } }),
        onPage,
      ),

    getStackResourceCount: async (ref) => {
      const call = get("/api/stacks/{orgName}/{projectName}/{stackName}/resources/count", {
        path: stackPath(ref),
      });
      return (await fetchObject("GetStackResourceCount", call, resourceCount)).resourceCount;
    },

    getStackUpdates: async (ref, page, pageSize): Promise<UpdatesPage> => {
      const operation = "GetStackUpdates";
      const call = get("/api/stacks/{orgName}/{projectName}/{stackName}/updates", {
        path: stackPath(ref),
        query: { page, pageSize },
      });
      const dropped = tally();
      const result = await fetchPage(operation, call, "updates", stackUpdateItem, dropped);
      const total = envelopeField(operation, result, readOptionalCount, "total");
      reportDropped(operation, dropped);
      return { updates: result.valid, total, droppedAfter: result.droppedAfter };
    },

    getOrgDeploymentCounts: async (org) => {
      const operation = "OrgDeploymentsMetadata";
      const { status, body } = await fetchJson(
        operation,
        get("/api/orgs/{orgName}/deployments/metadata", { path: { orgName: org } }),
      );
      if (!isRecord(body)) throw malformed(operation, status, "body must be an object");
      const counts = validateValue(body.deploymentCounts, deploymentCounts);
      if (!counts.ok) throw malformed(operation, status, `deploymentCounts: ${counts.reason}`);
      return counts.value;
    },

    listOrgDeployments: async (org): Promise<DeploymentSummary[]> => {
      const operation = "ListOrgDeployments";
      const dropped = tally();
      const items = await collectNumberedPages(
        operation,
        maxPages,
        DEPLOYMENTS_PAGE_SIZE,
        async (page, pageSize) => {
          const call = get("/api/orgs/{orgName}/deployments", {
            path: { orgName: org },
            query: { page, pageSize },
          });
          const result = await fetchPage(operation, call, "deployments", deploymentItem, dropped);
          const total = envelopeField(operation, result, readOptionalCount, "total");
          const received = result.valid.length + result.droppedAfter.length;
          return { items: result.valid, received, total };
        },
      );
      reportDropped(operation, dropped);
      return items;
    },

    listMembers: (org): Promise<Member[]> =>
      listByToken("ListOrganizationMembers", "members", "continuationToken", memberItem, (token) =>
        get("/api/orgs/{orgName}/members", { path: { orgName: org }, query: { continuationToken: token } }),
      ),

    listTeams: (org): Promise<TeamItem[]> =>
      listOnce("ListTeams", "teams", namedItem, get("/api/orgs/{orgName}/teams", { path: { orgName: org } })),

    listEnvironments: (org): Promise<Environment[]> =>
      listByToken("ListOrgEnvironments_esc", "environments", "nextToken", namedItem, (token) =>
        get("/api/esc/environments/{orgName}", {
          path: { orgName: org },
          query: { continuationToken: token },
        }),
      ),

    listPolicyGroups: (org): Promise<PolicyGroupItem[]> =>
      listOnce(
        "ListPolicyGroups",
        "policyGroups",
        namedItem,
        get("/api/orgs/{orgName}/policygroups", { path: { orgName: org } }),
      ),

    listPolicyPacks: (org): Promise<PolicyPackItem[]> =>
      listOnce(
        "ListPolicyPacks_orgs",
        "policyPacks",
        namedItem,
        get("/api/orgs/{orgName}/policypacks", { path: { orgName: org } }),
      ),

    listPolicyViolations: (org): Promise<Violation[]> =>
      listByToken("ListPolicyViolationsV2", "policyViolations", "continuationToken", violationItem, (token) =>
        // The spec declares no query parameters here, yet the response pages with a continuation token.
        get(
          "/api/orgs/{orgName}/policyresults/violationsv2",
          { path: { orgName: org } },
          { continuationToken: token },
        ),
      ),

    getPolicyResultsMetadata: (org) =>
      fetchObject(
        "GetPolicyResultsMetadata",
        get("/api/orgs/{orgName}/policyresults/metadata", { path: { orgName: org } }),
        policyResultsMetadata,
      ),

    listNeoTasks: (org): Promise<NeoTaskItem[]> =>
      listByToken("ListTasks", "tasks", "continuationToken", neoTaskItem, (token) =>
        get("/api/preview/agents/{orgName}/tasks", {
          path: { orgName: org },
          // The largest page the API documents (1-1000): fewer calls for organizations with many tasks.
          query: { continuationToken: token, pageSize: NEO_TASKS_PAGE_SIZE },
        }),
      ),

    getCurrentUser: async () => {
      const user = await fetchObject("GetCurrentUser", get("/api/user", {}), currentUser);
      return { login: user.githubLogin, organizations: user.organizations.map((o) => o.githubLogin) };
    },

    organizationVisible: async (org) => {
      const call = get("/api/user/stacks", { query: { organization: org, maxResults: 1 } });
      const reply = await send("ListUserStacks", call, [403, 404]);
      return reply.status !== 403 && reply.status !== 404;
    },

    getNeoTokenBudget: async (org) => {
      const operation = "GetOrgNeoTokenBudget";
      const call = get("/api/orgs/{orgName}/neo/token-budget", { path: { orgName: org } });
      const reply = await send(operation, call, [404]);
      if (reply.status === 404) return null;
      const body = must(operation, reply.status, parseJson(decodeBody(reply.body)));
      return must(operation, reply.status, validateValue(body, neoTokenBudget));
    },

    listAgentPools: (org): Promise<AgentPoolItem[]> =>
      listOnce(
        "ListOrgAgentPool",
        "agentPools",
        agentPoolItem,
        get("/api/orgs/{orgName}/agent-pools", { path: { orgName: org } }),
      ),

    getAgentPoolAgents: async (org, poolId): Promise<AgentItem[] | null> => {
      const operation = "GetAgentPool";
      const call = get("/api/orgs/{orgName}/agent-pools/{poolId}", { path: { orgName: org, poolId } });
      const reply = await send(operation, call, [404]);
      if (reply.status === 404) return null;
      const page = must(
        operation,
        reply.status,
        await readListPage(reply.body, "agents", agentItem, timeSlicer()),
      );
      reportDropped(operation, { count: page.droppedAfter.length, reason: page.firstReason });
      return page.valid;
    },

    getOrgMetadata: (org) =>
      fetchObject(
        "GetOrganizationMetadata",
        get("/api/orgs/{orgName}/metadata", { path: { orgName: org } }),
        orgMetadata,
      ),

    listOrgTokens: (org): Promise<AccessTokenItem[]> =>
      listOnce(
        "ListOrgTokens",
        "tokens",
        accessTokenItem,
        get("/api/orgs/{orgName}/tokens", { path: { orgName: org } }),
      ),

    listPersonalTokens: (): Promise<AccessTokenItem[]> =>
      listOnce("ListPersonalTokens", "tokens", accessTokenItem, get("/api/user/tokens", {})),

    listTeamTokens: (org, team): Promise<AccessTokenItem[]> =>
      listOnce(
        "ListTeamTokens",
        "tokens",
        accessTokenItem,
        get("/api/orgs/{orgName}/teams/{teamName}/tokens", { path: { orgName: org, teamName: team } }),
      ),

    getTokenInfo: async () => {
      const info = (await fetchObject("GetCurrentUser", get("/api/user", {}), userTokenInfo)).tokenInfo;
      return info && { name: info.name, organization: info.organization ?? "", team: info.team ?? "" };
    },
  };
}
