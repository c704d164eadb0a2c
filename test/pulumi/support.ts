/** A local stand-in for Pulumi Cloud (hono on Bun.serve) that records every request, and a client wired to it. */
import { afterEach } from "bun:test";
import { Hono } from "hono";
import { createLogger, type Logger } from "../../src/log/logger.ts";
import type { Operation } from "../../src/pulumi/api.ts";
import { createPulumiClient, type PulumiClientOptions } from "../../src/pulumi/client.ts";
import type { PulumiApiStatus } from "../../src/pulumi/pulumi-api-error.ts";

/** Distinctive, so a leak anywhere is found by a plain substring search. */
export const TOKEN = "pul-TESTSECRET-9f27c4e1b8d6a35e";

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as sent, e.g. `/api/user/stacks?organization=acme`. */
  target: string;
  authorization: string | null;
  accept: string | null;
  userAgent: string | null;
}

export interface LocalApi {
  url: string;
  app: Hono;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/** `serve(setup)`: a local API for one test ({@link startLocalApi}), stopped after it. */
export function localApiPerTest(): (setup: (app: Hono) => void) => LocalApi {
  let api: LocalApi | undefined;
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });
  return (setup) => {
    api = startLocalApi(setup);
    return api;
  };
}

/** Starts a server whose routes the test adds to `app`; unknown paths answer 418 so a wrong path never passes. */
export function startLocalApi(setup: (app: Hono) => void): LocalApi {
  const requests: RecordedRequest[] = [];
  const app = new Hono();
  app.use(async (c, next) => {
    const url = new URL(c.req.url);
    requests.push({
      method: c.req.method,
      target: `${url.pathname}${url.search}`,
      authorization: c.req.header("authorization") ?? null,
      accept: c.req.header("accept") ?? null,
      userAgent: c.req.header("user-agent") ?? null,
    });
    await next();
  });
  setup(app);
  app.notFound((c) => c.json({ code: 418, message: `no route for ${c.req.path}` }, 418));
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  return {
    url: `http://127.0.0.1:${server.port}`,
    app,
    requests,
    stop: () => server.stop(true),
  };
}

export interface Observed {
  requests: Array<{ operation: Operation; status: PulumiApiStatus }>;
  retries: Array<{ operation: Operation; attempt: number; delayMs: number }>;
  dropped: Array<{ operation: Operation; count: number; reason: string }>;
  delays: number[];
  logLines: string[];
}

/** A client for `url` with recording hooks, a logger that keeps its lines, and a sleep that only records. */
export function observedClient(
  url: string,
  overrides: Partial<PulumiClientOptions> = {},
): { client: ReturnType<typeof createPulumiClient>; seen: Observed; logger: Logger } {
  const seen: Observed = { requests: [], retries: [], dropped: [], delays: [], logLines: [] };
  // No secrets configured: the client itself must keep the token out of what it logs.
  const logger = createLogger({ level: "debug", write: (line) => seen.logLines.push(line) });
  const client = createPulumiClient({
    baseUrl: url,
    token: TOKEN,
    timeoutMs: 2_000,
    logger,
    random: () => 0.5,
    sleep: async (ms) => {
      seen.delays.push(ms);
    },
    hooks: {
      onRequest: (operation, status) => seen.requests.push({ operation, status }),
      onRetry: (operation, attempt, delayMs) => seen.retries.push({ operation, attempt, delayMs }),
      onDropped: (operation, count, reason) => seen.dropped.push({ operation, count, reason }),
    },
    ...overrides,
  });
  return { client, seen, logger };
}

/** Awaits a promise expected to reject and returns the rejection. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected a rejection, but the promise resolved");
}
