/** Runs the simulator on a real socket (Bun.serve on 127.0.0.1, a free port by default). */
import type { Hono } from "hono";
import { pollEvery, systemTimers, type Timers } from "../timers.ts";
import { createSimulator, type SimulatorOptions, type Traffic } from "./app.ts";
import type { ActiveFault, FaultRule } from "./faults.ts";
import type { SimModel, TickReport } from "./model.ts";
import type { SimStats } from "./stats.ts";
import type { WebhookSender } from "./webhooks.ts";

export interface StartOptions extends SimulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /**
   * Real-time mode: one tick every this many milliseconds of `timers`. Off by default. Unless given, the simulated
   * clock then starts at the timers' clock and each tick advances it by the interval, so it keeps pace.
   */
  tickEveryMs?: number;
  /** The clock and timers of real-time mode; the system's by default (tests drive a manual clock). */
  timers?: Timers;
}

export interface RunningSimulator {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  token: string;
  model: SimModel;
  app: Hono;
  stop(): Promise<void>;
  tick(n?: number): TickReport;
  stats(): SimStats;
  resetStats(): void;
  /** Replaces every fault rule. */
  setFaults(rules: FaultRule[]): void;
  addFaults(rules: FaultRule[]): void;
  clearFaults(): void;
  listFaults(): ActiveFault[];
  /** What the simulator is busy with right now (see {@link Traffic}). */
  traffic(): Traffic;
  /** The webhook sender (its stats, and `flush` to wait for deliveries), when given a webhook URL. */
  webhooks: WebhookSender | undefined;
}

export async function startSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const { tickEveryMs } = options;
  if (tickEveryMs !== undefined && !(Number.isFinite(tickEveryMs) && tickEveryMs >= 1)) {
    throw new Error(`invalid simulator option: tickEveryMs must be at least 1 (got ${tickEveryMs})`);
  }
  const timers = options.timers ?? systemTimers;
  const sim = createSimulator(
    tickEveryMs === undefined
      ? options
      : {
          ...options,
          startTime: options.startTime ?? Math.floor(timers.now() / 1000),
          tickSeconds: options.tickSeconds ?? Math.max(1, Math.round(tickEveryMs / 1000)),
        },
  );
  const server = Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    // No idle timeout: a `hang` fault must hold the request until the client gives up.
    idleTimeout: 0,
    fetch: sim.app.fetch,
  });
  const ticking =
    tickEveryMs === undefined ? undefined : pollEvery(timers, tickEveryMs, () => sim.model.tick(1));
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return {
    url: `http://${host}:${server.port}`,
    token: sim.token,
    model: sim.model,
    app: sim.app,
    async stop() {
      ticking?.stop();
      await sim.webhooks?.stop();
      await server.stop(true);
    },
    tick: (n = 1) => sim.model.tick(n),
    stats: () => sim.stats.snapshot(),
    resetStats: () => sim.stats.reset(),
    setFaults: (rules) => sim.faults.set(rules),
    addFaults: (rules) => sim.faults.add(rules),
    clearFaults: () => sim.faults.clear(),
    listFaults: () => sim.faults.list(),
    traffic: () => ({ held: new Set(sim.traffic.held) }),
    webhooks: sim.webhooks,
  };
}
