/**
 * The transport of the Pulumi Cloud client: one GET with its timeout and response size cap, and the retry loop
 * around it, driven by a {@link RetryPolicy}. It knows nothing of endpoints: `get` builds a typed request for any
 * generated path, `send` runs it and hands back the raw JSON body.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import createClient from "openapi-fetch";
import { type Logger, scrub } from "../log/logger.ts";
import { systemTimers, type Timers, timeoutSignal } from "../timers.ts";
import { VERSION } from "../version.ts";
import type { ApiScope, ClientHooks, Operation } from "./api.ts";
import { BodyTooLargeError, readBody, withBoundedBody } from "./body.ts";
import { describeStatus, PulumiApiError, type PulumiApiStatus } from "./pulumi-api-error.ts";
import { type AttemptResult, parseRetryAfter, type RetryPolicy, retryDelay, shouldRetry } from "./retry.ts";
import type { paths } from "./schema.gen.ts";
import { timeSlicer } from "./time-slice.ts";
import { isPathName, isRecord } from "./validate.ts";

export type FetchFn = (request: Request, init?: BunFetchRequestInit) => Promise<Response>;

const DETAIL_MAX_CHARS = 200;
export const REASON_MAX_CHARS = 300;

/** What openapi-fetch resolves to with `parseAs: "stream"`: the body of a 2xx response is left to read. */
interface RawReply {
  data?: ReadableStream<Uint8Array> | null | undefined;
  error?: unknown;
  response: Response;
}

/** One request, ready to send; `refused` says why it must not be sent at all. */
export interface Call {
  run: (signal: AbortSignal) => Promise<RawReply>;
  refused: string | undefined;
  /** The organization the request is about, for the debug log. */
  org: string | undefined;
}

/** Every generated path is a GET; its parameters, as the spec names them. */
export type GetPath = keyof paths;
export type GetParams<P extends GetPath> = paths[P]["get"]["parameters"];

type RawGet = (
  path: string,
  init: { params: object; querySerializer: () => string; parseAs: "stream"; signal: AbortSignal },
) => Promise<RawReply>;

export interface Reply {
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
  /** A 2xx response whose body grew past the bound. */
  | { kind: "too-large"; status: number }
  | { kind: "timeout" }
  | { kind: "error"; code: string };

/** Whom a request serves: abandoned when `signal` aborts; every attempt also reported to `onRequest`. */
export type RequestScope = ApiScope;

export interface TransportOptions {
  baseUrl: string;
  /** `baseUrl`, parsed and checked by {@link checkBaseUrl}. */
  apiUrl: URL;
  token: () => string;
  timeoutMs: number;
  maxResponseBytes: number;
  policy: RetryPolicy;
  hooks: ClientHooks;
  logger: Logger;
  caFile: string | undefined;
  fetch: FetchFn;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
  timers: Timers | undefined;
  /** Told the size of every response body read (src/pulumi/garbage.ts collects garbage by it). */
  onBody: (bytes: number) => void;
}

export interface Transport {
  /** A GET of `path` with its typed parameters. `extraQuery` carries parameters the spec omits; keep it for those. */
  get<P extends GetPath>(
    path: P,
    params: GetParams<P>,
    extraQuery?: Record<string, string | undefined>,
  ): Call;
  /** One logical request: attempts until success (or a status in `accept`), a non-retryable answer, or retries run out. */
  send(operation: Operation, call: Call, scope: RequestScope, accept?: readonly number[]): Promise<Reply>;
  /** `text` scrubbed of every token used so far and cut to `max` characters. */
  safe(text: string, max: number): string;
}

/** The settings every step of a request reads. */
interface Context extends Omit<TransportOptions, "baseUrl" | "apiUrl" | "token" | "caFile" | "fetch"> {
  /** Every token used so far: scrubbed from messages, the old one included (a late response may echo it). */
  readonly secrets: string[];
  /** `host:port` of the API, for network errors. */
  readonly target: string;
  readonly htmlHint: string | undefined;
}

export function checkBaseUrl(baseUrl: string, secrets: readonly string[]): URL {
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

function statusOf(outcome: Outcome): PulumiApiStatus {
  return outcome.kind === "response" || outcome.kind === "too-large" ? outcome.status : outcome.kind;
}

/** The outcome as the retry policy sees it. */
function attemptResult(outcome: Outcome): AttemptResult {
  if (outcome.kind === "response") return { kind: "status", status: outcome.status };
  return outcome.kind === "too-large" ? { kind: "too-large" } : { kind: "no-answer" };
}

function safe(ctx: Context, text: string, max: number): string {
  const clean = scrub(text, ctx.secrets);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
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

/**
 * What a failed response said: the API's own message, or that it was an HTML page (a console or a proxy's page).
 * 5xx pages come from gateways in front of the API, whatever the URL: their status says it all.
 */
function responseDetail(ctx: Context, outcome: Extract<Outcome, { kind: "response" }>): string | undefined {
  const text = typeof outcome.error === "string" ? outcome.error : undefined;
  if (!isHtml(outcome.contentType, text)) return bodyDetail(outcome.error, ctx.secrets);
  if (outcome.status >= 500) return undefined;
  const page = `got an HTML page (${outcome.contentType || "no content type"}) where JSON was expected`;
  return ctx.htmlHint ? `${page}; ${ctx.htmlHint}` : page;
}

function failure(ctx: Context, operation: Operation, outcome: Outcome, attempts: number): PulumiApiError {
  switch (outcome.kind) {
    case "response":
      return new PulumiApiError({
        operation,
        status: outcome.status,
        attempts,
        reason: describeStatus(outcome.status, outcome.statusText),
        detail: responseDetail(ctx, outcome),
      });
    case "too-large":
      return new PulumiApiError({
        operation,
        status: outcome.status,
        attempts,
        reason: `response body exceeds --pulumi.max-response-bytes (${ctx.maxResponseBytes} bytes)`,
      });
    case "timeout":
      return new PulumiApiError({
        operation,
        status: "timeout",
        attempts,
        reason: `request timed out (${ctx.timeoutMs} ms)`,
      });
    case "error":
      return new PulumiApiError({
        operation,
        status: "error",
        attempts,
        reason: `network error (${safe(ctx, outcome.code, 80)}) reaching ${ctx.target}`,
      });
  }
}

function cancelled(operation: Operation, attempts: number): PulumiApiError {
  return new PulumiApiError({
    operation,
    status: "error",
    attempts,
    reason: "cancelled at the cycle deadline",
  });
}

/** Waits between retries, cut short when the scope's signal aborts. */
function pause(ctx: Context, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return ctx.sleep(ms);
  return Promise.race([
    ctx.sleep(ms),
    new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
  ]);
}

/** One HTTP attempt, bounded by the timeout (headers and body) and the size cap. */
async function attemptOnce(ctx: Context, call: Call, lifetime: AbortSignal | undefined): Promise<Outcome> {
  const timeout = timeoutSignal(ctx.timers ?? systemTimers, ctx.timeoutMs);
  // Aborted once the body is too large, so the connection goes rather than the rest of the body being sent.
  const dropped = new AbortController();
  const signal = AbortSignal.any([timeout, dropped.signal, ...(lifetime ? [lifetime] : [])]);
  let status = 0;
  try {
    const { data, error, response } = await call.run(signal);
    status = response.status;
    // The timeout covers the body too: it stays armed while the body streams in.
    const body = data ? await readBody(data, ctx.maxResponseBytes, timeSlicer()) : undefined;
    if (body !== undefined) ctx.onBody(body.byteLength);
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

/** The body of an answer that must be JSON; an HTML page (the console, a proxy's login page) says so plainly. */
function jsonBody(
  ctx: Context,
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
    ...(ctx.htmlHint ? { detail: ctx.htmlHint } : {}),
  });
}

/** Reports one attempt to the client's hooks, the scope's, and the debug log. */
function reportAttempt(
  ctx: Context,
  scope: RequestScope,
  operation: Operation,
  call: Call,
  report: { outcome: Outcome; attempt: number; elapsedMs: number },
): void {
  const status = statusOf(report.outcome);
  ctx.hooks.onRequest?.(operation, status, report.elapsedMs / 1000);
  scope.onRequest?.(operation, status, report.elapsedMs / 1000);
  ctx.logger.debug("Pulumi Cloud request", {
    operation,
    org: call.org,
    status,
    attempt: report.attempt,
    duration_ms: Math.round(report.elapsedMs),
  });
}

/** Waits before retry number `attempt`, as the answer (Retry-After) and the policy say. */
async function waitToRetry(
  ctx: Context,
  scope: RequestScope,
  operation: Operation,
  outcome: Outcome,
  attempt: number,
): Promise<void> {
  const retryAfterMs =
    outcome.kind === "response" ? parseRetryAfter(outcome.retryAfter, ctx.now()) : undefined;
  const delayMs = retryDelay(attempt, retryAfterMs, ctx.policy, ctx.random);
  ctx.hooks.onRetry?.(operation, attempt, delayMs);
  ctx.logger.info("retrying Pulumi Cloud request", {
    operation,
    status: statusOf(outcome),
    retry: attempt,
    delay_ms: delayMs,
  });
  await pause(ctx, delayMs, scope.signal);
}

async function send(
  ctx: Context,
  operation: Operation,
  call: Call,
  scope: RequestScope,
  accept: readonly number[],
): Promise<Reply> {
  if (call.refused !== undefined) {
    throw new PulumiApiError({
      operation,
      status: "error",
      attempts: 0,
      reason: safe(ctx, call.refused, REASON_MAX_CHARS),
    });
  }
  const lifetime = scope.signal;
  const attempts = ctx.policy.maxRetries + 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (lifetime?.aborted) throw cancelled(operation, attempt - 1);
    const started = performance.now();
    const outcome = await attemptOnce(ctx, call, lifetime);
    if (lifetime?.aborted) throw cancelled(operation, attempt);
    reportAttempt(ctx, scope, operation, call, { outcome, attempt, elapsedMs: performance.now() - started });
    if (outcome.kind === "response") {
      const ok = outcome.status >= 200 && outcome.status < 300;
      if (ok || accept.includes(outcome.status)) {
        const body = jsonBody(ctx, operation, outcome, attempt);
        return { status: outcome.status, body, contentType: outcome.contentType };
      }
    }
    if (!shouldRetry(ctx.policy, attemptResult(outcome)) || attempt === attempts) {
      throw failure(ctx, operation, outcome, attempt);
    }
    await waitToRetry(ctx, scope, operation, outcome, attempt);
  }
  // Unreachable: the last attempt either returned or threw.
  throw new PulumiApiError({ operation, status: "error", attempts, reason: "no attempt made" });
}

/** openapi-fetch with the exporter's headers, the current token on every request, and bounded error bodies. */
function rawGetter(options: TransportOptions, currentToken: () => string): RawGet {
  // Bun reads HTTP(S)_PROXY and NO_PROXY itself; only the extra CA needs passing. System roots stay trusted.
  const init: BunFetchRequestInit | undefined =
    options.caFile === undefined
      ? undefined
      : { tls: { ca: [...rootCertificates, readCaFile(options.caFile)] } };
  const http = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { Accept: "application/vnd.pulumi+8", "User-Agent": `pulumi-exporter/${VERSION}` },
    // A redirect would carry the token to wherever it points; report it instead of following it.
    redirect: "manual",
    // Error bodies are read here, bounded, before openapi-fetch reads them whole; 2xx bodies in attemptOnce.
    fetch: async (request: Request) => {
      // Set per request, not at creation: the token may have been rotated since.
      request.headers.set("Authorization", `token ${currentToken()}`);
      const response = await options.fetch(request, init);
      return response.ok ? response : withBoundedBody(response);
    },
  });
  // openapi-fetch cannot relate a generic path to its parameters; `get` checks every call site instead.
  return http.GET.bind(http) as unknown as RawGet;
}

/** `secrets`: the tokens known so far (the first one), to which every token used later is added. */
export function createTransport(options: TransportOptions, secrets: string[]): Transport {
  const currentToken = (): string => {
    const token = options.token();
    if (!secrets.includes(token)) secrets.push(token);
    return token;
  };
  const apiUrl = options.apiUrl;
  const ctx: Context = {
    ...options,
    secrets,
    target: scrub(apiHostPort(apiUrl), secrets),
    htmlHint: looksLikeConsole(apiUrl) ? CONSOLE_HINT : undefined,
  };
  const rawGet = rawGetter(options, currentToken);
  return {
    get: (path, params, extraQuery) => {
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
    },
    send: (operation, call, scope, accept = []) => send(ctx, operation, call, scope, accept),
    safe: (text, max) => safe(ctx, text, max),
  };
}
