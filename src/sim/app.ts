/**
 * The simulator as a hono app: every Pulumi Cloud operation the exporter calls, token auth, fault injection and
 * call counting, plus `/_sim/*` control routes (stats, faults, clock) that are neither authenticated nor counted.
 */
import { type Context, Hono } from "hono";
import type { Operation } from "../pulumi/api.ts";
import { ApiError, unauthorized } from "./api-error.ts";
import { corruptBody } from "./corrupt.ts";
import {
  FaultInjector,
  type FaultPlan,
  type FaultRule,
  parseFaultRules,
  type TerminalFault,
} from "./faults.ts";
import { HANDLERS } from "./handlers.ts";
import { SimModel } from "./model.ts";
import { honoPath, ROUTES } from "./operations.ts";
import { DEMO_TOKEN, type ScenarioInput } from "./options.ts";
import { CallStats } from "./stats.ts";
import { WebhookSender, type WebhookSenderOptions } from "./webhooks.ts";

/** Waits `ms`; resolves early when `signal` aborts. Injected by tests to observe delays without waiting. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export interface SimulatorOptions extends ScenarioInput {
  /** The access token clients must send as `Authorization: token <token>`. Default: DEMO_TOKEN. */
  token?: string;
  /** Faults active from the start. */
  faults?: FaultRule[];
  /** How injected latency and slow bodies wait. Default: real timers. */
  sleep?: Sleep;
  /** Sends signed webhooks of what it simulates to this URL (see src/sim/webhooks.ts). Off by default. */
  webhook?: WebhookSenderOptions;
}

export interface Simulator {
  app: Hono;
  model: SimModel;
  stats: CallStats;
  faults: FaultInjector;
  token: string;
  traffic: Traffic;
  /** The webhook sender, when given a webhook URL. */
  webhooks: WebhookSender | undefined;
}

/**
 * The requests a fault holds right now (hanging, or trickling a body), by the `x-request-id` header the client sent:
 * a test on a manual clock can tell when every request in flight is one only the client's timeout can end.
 */
export interface Traffic {
  readonly held: ReadonlySet<string>;
}

interface TrafficCounter {
  readonly held: Set<string>;
}

/** Holds `id` in `traffic` until the returned release is called (once). */
function hold(traffic: TrafficCounter, id: string): () => void {
  traffic.held.add(id);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    traffic.held.delete(id);
  };
}

const JSON_HEADERS = { "content-type": "application/json" };

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Gateways in front of the API answer 502-504 with HTML, not the API's JSON. */
function gatewayPage(status: number): Response {
  const reason = REASONS[status] ?? "Error";
  return new Response(
    `<html><head><title>${status} ${reason}</title></head><body><h1>${status} ${reason}</h1></body></html>`,
    {
      status,
      headers: { "content-type": "text/html" },
    },
  );
}

/** A body that fails before the first byte: Bun drops the connection and the client's fetch rejects. */
function connectionReset(): Response {
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.error(undefined);
      },
    }),
  );
}

/** Never answers; settles only when the client gives up or the server stops. */
function hang(signal: AbortSignal, release: () => void): Promise<Response> {
  return new Promise((resolve) => {
    const done = () => {
      release();
      resolve(new Response(null, { status: 499 }));
    };
    if (signal.aborted) done();
    else signal.addEventListener("abort", done, { once: true });
  });
}

function terminalResponse(
  fault: TerminalFault,
  signal: AbortSignal,
  holdRequest: () => () => void,
): Response | Promise<Response> {
  switch (fault.type) {
    case "reset":
      return connectionReset();
    case "hang":
      return hang(signal, holdRequest());
    case "down":
      return gatewayPage(503);
    case "status": {
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) };
      if (fault.status >= 502 && fault.status <= 504 && fault.message === undefined) {
        const page = gatewayPage(fault.status);
        for (const [k, v] of Object.entries(headers)) page.headers.set(k, v);
        return page;
      }
      return new ApiError(
        fault.status,
        fault.message ?? REASONS[fault.status] ?? "Error",
        headers,
      ).toResponse();
    }
  }
}

function terminalStatus(fault: TerminalFault): number | "reset" | "hang" {
  return fault.type === "status" ? fault.status : fault.type === "down" ? 503 : fault.type;
}

/** Sends `text` in `chunkBytes` pieces, waiting `intervalMs` between them. */
function trickle(
  text: string,
  chunkBytes: number,
  intervalMs: number,
  sleep: Sleep,
  signal: AbortSignal,
  release: () => void,
): Response {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (offset > 0) await sleep(intervalMs, signal);
      if (signal.aborted) {
        release();
        return controller.close();
      }
      controller.enqueue(bytes.slice(offset, offset + chunkBytes));
      offset += chunkBytes;
      if (offset >= bytes.length) {
        release();
        controller.close();
      }
    },
    cancel: release,
  });
  return new Response(body, { headers: JSON_HEADERS });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requestOrg(c: Context, operation: Operation): string | undefined {
  return operation === "ListUserStacks" ? c.req.query("organization") || undefined : c.req.param("orgName");
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const model = new SimModel(options);
  const stats = new CallStats();
  const faults = new FaultInjector(model.options.seed, options.faults ?? []);
  const token = options.token ?? DEMO_TOKEN;
  const sleep = options.sleep ?? realSleep;
  const app = new Hono();

  const traffic: TrafficCounter = { held: new Set() };
  const webhooks = options.webhook ? new WebhookSender(model, options.webhook) : undefined;

  async function serve(c: Context, operation: Operation): Promise<Response> {
    stats.call(operation);
    const holdRequest = () => hold(traffic, c.req.header("x-request-id") ?? "");
    const signal = c.req.raw.signal;
    const plan: FaultPlan = faults.plan(operation, requestOrg(c, operation));
    for (const hit of plan.hits) stats.fault(operation, hit);
    if (plan.delayMs > 0) {
      stats.delay(operation, plan.delayMs);
      await sleep(plan.delayMs, signal);
      // The client gave up during the delay: there is no one left to answer.
      if (signal.aborted) {
        stats.answer(operation, "aborted");
        return new Response(null, { status: 499 });
      }
    }
    if (plan.terminal) {
      stats.answer(operation, terminalStatus(plan.terminal));
      return terminalResponse(plan.terminal, signal, holdRequest);
    }
    if (c.req.header("authorization") !== `token ${token}`) {
      stats.answer(operation, 401);
      return unauthorized().toResponse();
    }
    let body: unknown;
    try {
      body = HANDLERS[operation](model, {
        params: c.req.param() as Record<string, string>,
        query: (n) => c.req.query(n),
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      stats.answer(operation, error.status);
      return error.toResponse();
    }
    if (plan.invalidItem) body = corruptBody(operation, body)?.body ?? body;
    let text = JSON.stringify(body);
    // Cut mid-document, as a dropped proxy buffer would: valid UTF-8, invalid JSON.
    if (plan.malformed) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    stats.answer(operation, 200);
    if (plan.slowBody) {
      return trickle(
        text,
        plan.slowBody.chunkBytes ?? 16,
        plan.slowBody.intervalMs ?? 100,
        sleep,
        signal,
        holdRequest(),
      );
    }
    return new Response(text, { headers: JSON_HEADERS });
  }

  app.get("/_sim/stats", (c) => c.json(stats.snapshot()));
  app.post("/_sim/stats/reset", (c) => {
    stats.reset();
    return c.json({ ok: true });
  });
  app.get("/_sim/summary", (c) => c.json(model.summary()));
  app.get("/_sim/webhooks", (c) =>
    webhooks ? c.json(webhooks.stats()) : c.json({ error: "no webhook URL" }, 404),
  );
  app.post("/_sim/tick", async (c) => {
    const fromQuery = c.req.query("n");
    const body: unknown =
      fromQuery === undefined ? await c.req.json().catch(() => ({})) : { n: Number(fromQuery) };
    const n = typeof body === "object" && body !== null && "n" in body ? body.n : 1;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 10_000) {
      return new ApiError(400, "n must be a whole number of ticks between 0 and 10000").toResponse();
    }
    return c.json(model.tick(n));
  });
  app.get("/_sim/faults", (c) => c.json(faults.list()));
  app.post("/_sim/faults", async (c) => {
    let input: unknown;
    try {
      input = await c.req.json();
    } catch {
      return new ApiError(
        400,
        "the body must be JSON: a fault rule, a list of rules, or {faults, append}",
      ).toResponse();
    }
    const wrapper = isRecord(input) && "faults" in input ? input : undefined;
    const append = wrapper?.append === true;
    try {
      const rules = parseFaultRules(wrapper ? wrapper.faults : input);
      if (append) faults.add(rules);
      else faults.set(rules);
    } catch (error) {
      return new ApiError(400, (error as Error).message).toResponse();
    }
    return c.json(faults.list());
  });
  app.delete("/_sim/faults", (c) => {
    faults.clear();
    return c.json([]);
  });

  for (const route of ROUTES) app.get(honoPath(route.path), (c) => serve(c, route.operation));

  app.notFound((c) => {
    stats.call("unmatched");
    stats.answer("unmatched", 404);
    return new ApiError(404, `Not Found: ${c.req.method} ${c.req.path}`).toResponse();
  });
  app.onError((error, c) => {
    console.error(`simulator: ${c.req.method} ${c.req.path} failed: ${error.message}`);
    return new ApiError(500, "Internal Server Error").toResponse();
  });

  return { app, model, stats, faults, token, traffic, webhooks };
}

/** The simulator's hono app alone; use createSimulator to also reach its model, stats and faults. */
export function createSimulatorApp(options: SimulatorOptions = {}): Hono {
  return createSimulator(options).app;
}
