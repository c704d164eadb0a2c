/**
 * The Pulumi Cloud HTTP client. Every call site is typed against the generated `paths`, so a renamed path or
 * parameter breaks the build. Requests are retried with backoff, responses validated item by item.
 *
 * Three parts: the transport (transport.ts: one request with its timeout and size cap, the retry loop driven by a
 * retry policy), the readers of its answers (read.ts: objects, pages, paging) and the endpoint table
 * (endpoints.ts: operation → path, validation, paging). This file checks the options and wires them together.
 */
import { type Logger, silentLogger } from "../log/logger.ts";
import type { Timers } from "../timers.ts";
import type { ApiScope, ClientHooks, PulumiApi, UserApi } from "./api.ts";
import { bindEndpoints } from "./endpoints.ts";
import { GARBAGE_POLICY, garbagePacer, RUNTIME_COLLECTORS } from "./garbage.ts";
import { DEFAULT_MAX_PAGES } from "./paginate.ts";
import { createReader } from "./read.ts";
import { type RetryOptions, retryPolicy } from "./retry.ts";
import { checkBaseUrl, createTransport, type FetchFn, type Transport } from "./transport.ts";

export { DEPLOYMENTS_PAGE_SIZE, NEO_TASKS_PAGE_SIZE } from "./endpoints.ts";
export { apiHostPort, type FetchFn, looksLikeConsole } from "./transport.ts";

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
  /** Abandons every request and retry wait once aborted (see {@link PulumiApi.scoped}). */
  signal?: AbortSignal;
  /** Uniform in [0, 1), for backoff jitter. */
  random?: () => number;
  /** Epoch milliseconds, for `Retry-After` dates. */
  now?: () => number;
  /** The per-attempt timeout's clock (tests drive it); the system's by default. */
  timers?: Timers;
  /** Told the size of every response body read; by default collects garbage by {@link GARBAGE_POLICY}. */
  onBody?: (bytes: number) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The options, checked (in this order, so the first wrong one is named) and with their defaults. */
function transportOf(options: PulumiClientOptions): { transport: Transport; maxPages: number } {
  const token = options.token;
  const tokenOf = typeof token === "function" ? token : () => token;
  if (tokenOf() === "") throw new Error("Pulumi client: access token is empty");
  const secrets: string[] = [tokenOf()];
  const apiUrl = checkBaseUrl(options.baseUrl, secrets);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new Error("Pulumi client: timeoutMs must be positive");
  const policy = retryPolicy(options.retry);
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1) {
    throw new Error("Pulumi client: maxResponseBytes must be a positive integer");
  }
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  if (!Number.isInteger(maxPages) || maxPages < 1) {
    throw new Error("Pulumi client: maxPages must be at least 1");
  }
  const transport = createTransport(
    {
      baseUrl: options.baseUrl,
      apiUrl,
      token: tokenOf,
      timeoutMs,
      maxResponseBytes,
      policy,
      hooks: options.hooks ?? {},
      logger: options.logger ?? silentLogger,
      caFile: options.caFile,
      fetch: options.fetch ?? ((request, init) => fetch(request, init)),
      sleep: options.sleep ?? ((ms: number) => Bun.sleep(ms)),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      timers: options.timers,
      onBody: options.onBody ?? garbagePacer(GARBAGE_POLICY, RUNTIME_COLLECTORS),
    },
    secrets,
  );
  return { transport, maxPages };
}

/** A scope inside another: either signal abandons the requests, and both reporters see every attempt. */
function nestScope(outer: ApiScope, inner: ApiScope): ApiScope {
  const signal =
    outer.signal && inner.signal
      ? AbortSignal.any([outer.signal, inner.signal])
      : (inner.signal ?? outer.signal);
  const reporters = [outer.onRequest, inner.onRequest].filter((f) => f !== undefined);
  if (reporters.length < 2) return { signal, onRequest: reporters[0] };
  return {
    signal,
    onRequest: (...args) => {
      for (const report of reporters) report(...args);
    },
  };
}

export function createPulumiClient(options: PulumiClientOptions): PulumiApi & UserApi {
  const { transport, maxPages } = transportOf(options);
  const hooks = options.hooks ?? {};
  const logger = options.logger ?? silentLogger;
  // Every view shares the transport (its connections, its tokens to scrub); only the scope differs.
  const view = (scope: ApiScope): PulumiApi & UserApi => {
    const reader = createReader({ transport, scope, maxPages, hooks, logger });
    return {
      ...bindEndpoints(reader),
      read: (endpoint, ...args) => endpoint(reader)(...args),
      scoped: (inner) => view(nestScope(scope, inner)),
      withSignal: (signal) => view(nestScope(scope, { signal })),
    };
  };
  return view({ signal: options.signal });
}
