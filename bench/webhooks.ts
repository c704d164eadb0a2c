/**
 * The webhook scenario: the compiled exporter with webhooks on (its secret in the environment, the reconcile
 * interval at five cycles, the defaults' ratio) against the simulator, which posts signed webhooks of the updates,
 * deployments and stacks it simulates to the exporter's main listener. One tick after each cycle, as in the other
 * rows. Measured: for each tick, how soon after it (the simulator finishes its updates and sends their webhooks)
 * an OTLP export arrives that counts every update finished in it; and the API calls per cycle, the reads the
 * events caused included (the simulator counts every call between two cycle ends).
 */

import type { SimEvent } from "../src/sim/model.ts";
import type { RunningSimulator } from "../src/sim/server.ts";
import { WebhookSender } from "../src/sim/webhooks.ts";
import { type ExporterProcess, spawnExporter } from "./exporter-process.ts";
import { goFormulaCalls, median } from "./figures.ts";
import { type OtlpSink, startOtlpSink, updatesCountedByStack } from "./otlp-sink.ts";
import { exporterArgs, formatDuration, serverUrl } from "./scenario.ts";
import { ORGANIZATIONS } from "./suite.ts";

export const WEBHOOK_STACKS = 1_000;
export const WEBHOOK_CONCURRENCY = 10;
/** Cycles after the first: a multiple of five, so the organization inventory's share is its mean. */
export const WEBHOOK_STEADY_CYCLES = 20;
/** The reconcile interval in cycles: the defaults' ratio (5 minutes over 60 seconds). */
export const RECONCILE_CYCLES = 5;
const SECRET = "bench-webhook-secret-3d9f2c";
const CYCLE_LINE = "collection cycle finished";

function keyOf(ref: { org: string; project: string; stack: string }): string {
  return `${ref.org}/${ref.project}/${ref.stack}`;
}

/**
 * The updates a tick finished that the exporter can count, by stack: those of stacks the same tick did not delete
 * (a deleted stack's history cannot be read).
 */
export function countableFinishes(events: readonly SimEvent[]): Map<string, number> {
  const deleted = new Set<string>();
  for (const event of events) if (event.type === "stack-deleted") deleted.add(keyOf(event.ref));
  const finished = new Map<string, number>();
  for (const event of events) {
    if (event.type !== "update-finished" || deleted.has(keyOf(event.ref))) continue;
    const key = keyOf(event.ref);
    finished.set(key, (finished.get(key) ?? 0) + 1);
  }
  return finished;
}

export interface CountedExport {
  /** performance.now() on arrival. */
  readonly at: number;
  /** Its `pulumi_update_total` by stack. */
  readonly byStack: ReadonlyMap<string, number>;
}

/** What each stack's counter must reach: its value in `before` plus the updates it finished. */
export function countsNeeded(
  before: ReadonlyMap<string, number> | undefined,
  finished: ReadonlyMap<string, number>,
): Map<string, number> {
  return new Map([...finished].map(([stack, n]) => [stack, (before?.get(stack) ?? 0) + n]));
}

/**
 * ms from `since` to the first export at or after it in which every stack's counter reaches what `needed` says;
 * undefined if none did.
 */
export function timeToCount(
  since: number,
  needed: ReadonlyMap<string, number>,
  exports: readonly CountedExport[],
): number | undefined {
  const hit = exports.find(
    (e) => e.at >= since && [...needed].every(([stack, n]) => (e.byStack.get(stack) ?? 0) >= n),
  );
  return hit === undefined ? undefined : hit.at - since;
}

export interface WebhookCycle {
  readonly index: number;
  /** Calls the simulator answered since the previous cycle ended: the cycle's and the events' reads. */
  readonly calls: number;
  /** The cycle's own calls, as the exporter logs them. */
  readonly cycleCalls: number;
  readonly listPages: number;
  readonly byOperation: Readonly<Record<string, number>>;
  readonly stacks: number;
  readonly stacksRead: number;
  readonly goCalls: number;
}

export interface WebhookTick {
  readonly tick: number;
  readonly updatesStarted: number;
  readonly updatesFinished: number;
  /** Webhooks the simulator sent for it. */
  readonly webhooks: number;
  /** The updates of the tick the exporter should count. */
  readonly expected: number;
  /** From the tick to the export counting all of them; undefined when none did before the next cycle. */
  readonly latencyMs: number | undefined;
}

export interface WebhookRun {
  readonly command: string;
  readonly intervalMs: number;
  readonly reconcileMs: number;
  readonly cycles: readonly WebhookCycle[];
  readonly ticks: readonly WebhookTick[];
  readonly webhookStats: ReturnType<WebhookSender["stats"]>;
  readonly warnings: number;
  readonly errors: number;
}

export interface WebhookSummary {
  readonly stacks: number;
  readonly concurrency: number;
  readonly intervalMs: number;
  readonly reconcileMs: number;
  readonly latencyMedianMs: number;
  readonly latencyMaxMs: number;
  /** Ticks whose updates were counted before the next cycle, of all. */
  readonly ticksCounted: number;
  readonly ticks: number;
  readonly steadyCalls: number;
  readonly goCalls: number;
  readonly reduction: number;
  readonly bySource: Readonly<Record<string, number>>;
  readonly updatesPerTick: number;
  readonly webhooksPerTick: number;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, v) => sum + v, 0) / values.length;
}

export function summarizeWebhooks(
  run: WebhookRun,
  bySource: Readonly<Record<string, number>>,
): WebhookSummary {
  const steady = run.cycles.slice(1);
  // A tick that finished nothing countable has no latency to measure.
  const measured = run.ticks.filter((t) => t.expected > 0);
  const latencies = measured.flatMap((t) => (t.latencyMs === undefined ? [] : [t.latencyMs]));
  const calls = mean(steady.map((c) => c.calls));
  const goCalls = median(steady.map((c) => c.goCalls));
  return {
    stacks: WEBHOOK_STACKS,
    concurrency: WEBHOOK_CONCURRENCY,
    intervalMs: run.intervalMs,
    reconcileMs: run.reconcileMs,
    latencyMedianMs: median(latencies),
    latencyMaxMs: latencies.length === 0 ? Number.NaN : Math.max(...latencies),
    ticksCounted: latencies.length,
    ticks: measured.length,
    steadyCalls: calls,
    goCalls,
    reduction: goCalls / calls,
    bySource,
    updatesPerTick: median(run.ticks.map((t) => t.updatesFinished)),
    webhooksPerTick: median(run.ticks.map((t) => t.webhooks)),
  };
}

function numberField(fields: Readonly<Record<string, unknown>>, name: string): number {
  const value = fields[name];
  if (typeof value !== "number") throw new Error(`the cycle line has no numeric ${name}`);
  return value;
}

/** Waits until `check` holds, re-checking on every export; resolves false after `timeoutMs`. */
function waitFor(check: () => boolean, wakers: Set<() => void>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (result: boolean) => {
      clearTimeout(timer);
      wakers.delete(wake);
      resolve(result);
    };
    const wake = () => {
      if (check()) done(true);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    wakers.add(wake);
    wake();
  });
}

export interface WebhookPlan {
  readonly command: readonly string[];
  readonly intervalMs: number;
  readonly log: (line: string) => void;
}

/** Runs the exporter with webhooks on against `sim` (already warmed up) for the first and the steady cycles. */
export async function runWebhookScenario(sim: RunningSimulator, plan: WebhookPlan): Promise<WebhookRun> {
  const counted: CountedExport[] = [];
  const wakers = new Set<() => void>();
  const sink: OtlpSink = startOtlpSink((body, at) => {
    counted.push({ at, byStack: updatesCountedByStack(body) });
    for (const wake of wakers) wake();
  });
  const reconcileMs = RECONCILE_CYCLES * plan.intervalMs;
  const runPlan = {
    command: plan.command,
    organizations: ORGANIZATIONS,
    concurrency: WEBHOOK_CONCURRENCY,
    intervalMs: plan.intervalMs,
    steadyCycles: WEBHOOK_STEADY_CYCLES,
    scrapes: 0,
  };
  const args = [
    ...exporterArgs(runPlan, sim.url, sink.url),
    `--webhook.reconcile-interval=${formatDuration(reconcileMs)}`,
  ];
  let child: ExporterProcess | undefined;
  let sender: WebhookSender | undefined;
  let lastEvents: readonly SimEvent[] = [];
  const stopListening = sim.model.onTick((_tick, events) => {
    lastEvents = events;
  });
  sim.resetStats();
  try {
    child = spawnExporter({
      command: [...plan.command, ...args],
      env: {
        PULUMI_ACCESS_TOKEN: sim.token,
        PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET,
        PATH: process.env.PATH ?? "/usr/bin:/bin",
      },
    });
    const proc = child;
    const serving = await proc.waitForLine("serving HTTP", 1, 30_000);
    sender = new WebhookSender(sim.model, { url: `${serverUrl(serving)}/webhooks/pulumi`, secret: SECRET });
    const cycles: WebhookCycle[] = [];
    const ticks: WebhookTick[] = [];
    let previous = { calls: 0, byOperation: {} as Record<string, number> };
    for (let index = 1; index <= 1 + WEBHOOK_STEADY_CYCLES; index++) {
      const line = await proc.waitForLine(CYCLE_LINE, index, 3 * plan.intervalMs + 60_000);
      const stats = sim.stats();
      const totals = Object.fromEntries(Object.entries(stats.operations).map(([op, o]) => [op, o.calls]));
      const byOperation = Object.fromEntries(
        Object.entries(totals).map(([op, calls]) => [op, calls - (previous.byOperation[op] ?? 0)]),
      );
      const listPages = byOperation.ListUserStacks ?? 0;
      const stacks = numberField(line.fields, "stacks");
      cycles.push({
        index,
        calls: stats.calls - previous.calls,
        cycleCalls: numberField(line.fields, "api_calls"),
        listPages,
        byOperation,
        stacks,
        stacksRead: numberField(line.fields, "stacks_read"),
        goCalls: goFormulaCalls(listPages, stacks, ORGANIZATIONS.length),
      });
      previous = { calls: stats.calls, byOperation: totals };
      const sentBefore = sender.stats().sent;
      // Every export of the previous tick's reads and of this cycle is in: the counters as they stand.
      const before = counted.at(-1)?.byStack;
      const at = performance.now();
      const report = sim.tick(1);
      const finished = countableFinishes(lastEvents);
      const needed = countsNeeded(before, finished);
      const reached =
        needed.size > 0 &&
        (await waitFor(() => timeToCount(at, needed, counted) !== undefined, wakers, plan.intervalMs));
      ticks.push({
        tick: report.tick,
        updatesStarted: report.updatesStarted,
        updatesFinished: report.updatesFinished,
        webhooks: sender.stats().sent - sentBefore,
        expected: [...finished.values()].reduce((sum, n) => sum + n, 0),
        latencyMs: reached ? timeToCount(at, needed, counted) : undefined,
      });
      const last = ticks.at(-1);
      plan.log(
        `  cycle ${index}: ${cycles.at(-1)?.calls} calls; tick: ${report.updatesFinished} updates finished, ` +
          `counted ${last?.latencyMs === undefined ? "not before the next cycle" : `after ${Math.round(last.latencyMs)} ms`}`,
      );
    }
    await sender.flush();
    const levels: Record<string, number> = {};
    for (const l of proc.lines) levels[l.level] = (levels[l.level] ?? 0) + 1;
    await proc.stop();
    child = undefined;
    return {
      command: `PULUMI_ACCESS_TOKEN=<simulator token> PULUMI_EXPORTER_WEBHOOK_SECRET=<secret> ${plan.command.join(" ")} ${args
        .join(" ")
        .replace(sim.url, "<simulator>")
        .replace(sink.url, "<otlp-sink>")}`,
      intervalMs: plan.intervalMs,
      reconcileMs,
      cycles,
      ticks,
      webhookStats: sender.stats(),
      warnings: levels.warn ?? 0,
      errors: levels.error ?? 0,
    };
  } finally {
    stopListening();
    await sender?.stop();
    await child?.stop(2_000);
    await sink.stop();
  }
}
