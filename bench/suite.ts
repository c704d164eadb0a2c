/**
 * The benchmark matrix: for each fleet size a seeded simulator with latency on every call, and for each concurrency
 * one full run (the first cycle, then steady cycles) plus, where affordable, extra runs that stop after the first
 * export so the first cycle and the first export are medians too.
 */

import { ORG_SOURCES, STACK_SOURCES } from "../src/collect/sources/index.ts";
import { DEFAULT_PAGE_SIZES } from "../src/sim/options.ts";
import { type RunningSimulator, startSimulator } from "../src/sim/server.ts";
import { goFormulaCalls, lowerBoundMs, median } from "./figures.ts";
import { countDataPoints } from "./otlp-sink.ts";
import { type CycleSample, type RunResult, runExporter } from "./scenario.ts";

export const ORGANIZATIONS = ["org-1", "org-2", "org-3"] as const;

export interface Latency {
  /** Mean injected latency per call, ms. */
  readonly meanMs: number;
  /** Uniform spread around the mean, ± ms. */
  readonly jitterMs: number;
}

export const LATENCY: Latency = { meanMs: 50, jitterMs: 10 };

export interface SizePlan {
  readonly stacks: number;
  /** Cycles after the first in the full run. */
  readonly steadyCycles: number;
  /** Extra runs per concurrency that stop after the first export. */
  readonly firstRepeats: number;
  readonly scrapes: number;
}

export const FULL_SIZES: readonly SizePlan[] = [
  { stacks: 100, steadyCycles: 5, firstRepeats: 2, scrapes: 5 },
  // 15 steady cycles: a multiple of the inventory's 5 and of the running-update back-off's 3, whose reads bunch up.
  { stacks: 1_000, steadyCycles: 15, firstRepeats: 2, scrapes: 5 },
  // A first cycle here takes about a minute at concurrency 10: no repeats, the fewest steady cycles the medians allow.
  { stacks: 10_000, steadyCycles: 3, firstRepeats: 0, scrapes: 5 },
];

export const CONCURRENCIES: readonly number[] = [10, 30];

/** Ticks the simulator runs before the exporter starts, so as many updates run as in any later cycle. */
export const WARM_UP_TICKS = 30;

export const SCENARIO = {
  seed: 1,
  orgs: ORGANIZATIONS.length,
  churn: 0.02,
  // One tick per cycle is one minute of simulated time: the exporter's default interval.
  tickSeconds: 60,
} as const;

/**
 * Calls a first cycle makes, rounded up: one history page per stack, the stack list pages (one more per org for its
 * last partial page), up to 18 calls of the organization endpoints per org (several take more than one page).
 */
export function estimatedFirstCycleCalls(stacks: number, orgs: number): number {
  return stacks + Math.ceil(stacks / DEFAULT_PAGE_SIZES.stacks) + orgs + 18 * orgs;
}

/**
 * The collect interval of a run. The cycle budget is 90 % of the interval (the whole interval below 10 s), and the
 * first cycle must finish inside it: its lower bound, 20 % slack for a busy machine and a second for the serial
 * stack listing. At least 3 s so steady cycles do not follow each other back to back.
 */
export function intervalFor(stacks: number, concurrency: number, latency: Latency = LATENCY): number {
  const bound = lowerBoundMs(
    estimatedFirstCycleCalls(stacks, ORGANIZATIONS.length),
    concurrency,
    latency.meanMs,
  );
  const needed = bound * 1.2 + 1_000;
  const interval = needed <= 10_000 ? needed : needed / 0.9;
  return Math.max(3_000, Math.ceil(interval / 1_000) * 1_000);
}

export interface FirstCycle {
  readonly wallMs: number;
  readonly boundMs: number;
  readonly calls: number;
  readonly firstExportMs: number;
  /** From the first cycle's log line to the first export's arrival. */
  readonly exportAfterCycleMs: number;
  readonly startupMs: number;
}

export interface RowResult {
  readonly stacks: number;
  readonly concurrency: number;
  readonly intervalMs: number;
  readonly main: RunResult;
  /** The main run's first cycle followed by the repeats'. */
  readonly firsts: readonly FirstCycle[];
  /** Data points per metric in the main run's last export. */
  readonly exportedPoints: ReadonlyMap<string, number>;
}

export interface Summary {
  readonly stacks: number;
  readonly concurrency: number;
  readonly intervalMs: number;
  readonly command: string;
  readonly first: {
    readonly runs: number;
    readonly calls: number;
    readonly listPages: number;
    readonly goCalls: number;
    readonly wallMs: number;
    readonly boundMs: number;
    /** Median over runs of wall / bound, each from one run. */
    readonly ratio: number;
    readonly collectCpuSeconds: number;
    readonly exportCpuSeconds: number;
    readonly startupMs: number;
    readonly startupCpuSeconds: number;
    readonly firstExportMs: number;
    readonly firstExportMinMs: number;
    readonly firstExportMaxMs: number;
    /** Median over runs of the time from the first cycle's log line to the first export's arrival. */
    readonly exportAfterCycleMs: number;
    readonly timedOut: boolean;
  };
  readonly steady: {
    readonly cycles: number;
    /**
     * Mean calls per steady cycle: the organization inventory is read one cycle in five, so a median would hide
     * it. The steady cycles are a multiple of five (`ORG_INTERVAL_CYCLES`).
     */
    readonly calls: number;
    readonly goCalls: number;
    /** Go formula (median per cycle) / our mean calls per cycle. */
    readonly reduction: number;
    /** Mean calls per steady cycle of each source of the registry, by source name. */
    readonly bySource: Readonly<Record<string, number>>;
    readonly listPages: number;
    /** GetStackUpdates and GetStackResourceCount calls. */
    readonly stackCalls: number;
    /** Calls of the organization endpoints (pages included). */
    readonly orgCalls: number;
    readonly stacksRead: number;
    /** Updates the simulator started in the tick before each cycle. */
    readonly updatesStarted: number;
    readonly wallMs: number;
    readonly boundMs: number;
    /** Median of per-cycle wall / bound. */
    readonly ratio: number;
    readonly collectCpuSeconds: number;
    readonly exportCpuSeconds: number;
    readonly timedOut: number;
    readonly errors: number;
  };
  readonly rss: {
    readonly startBytes: number;
    readonly steadyBytes: number;
    readonly steadyMaxBytes: number;
    readonly peakBytes: number;
  };
  readonly scrape: {
    readonly runs: number;
    readonly medianMs: number;
    readonly minMs: number;
    readonly maxMs: number;
    readonly bytes: number;
  };
  readonly exportedPoints: number;
  /** The simulator and the exporter agree on the number of calls in every cycle. */
  readonly callsAgree: boolean;
  readonly warnings: number;
  readonly errors: number;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, v) => sum + v, 0) / values.length;
}

/**
 * The calls of the cycle itself, as the exporter counts them (its `api_calls`): the simulator's count for the first
 * cycle also holds the start-up check's one `GetCurrentUser`, made before the cycle began (the tokens source's, one
 * per organization in that cycle, are the cycle's own).
 */
export function cycleCalls(cycle: CycleSample, first: boolean): number {
  return cycle.calls - (first ? Math.min(1, cycle.byOperation.GetCurrentUser ?? 0) : 0);
}

/**
 * The source of each operation, from the registry: the source whose own operation it is (its first), else the
 * first that also calls it (the deployment counts fall back to the deployments source's list).
 */
const SOURCE_OF: ReadonlyMap<string, string> = (() => {
  const sources = [...STACK_SOURCES, ...ORG_SOURCES];
  const map = new Map<string, string>();
  for (const source of sources) map.set(source.operations[0], source.name);
  for (const source of sources)
    for (const op of source.operations) if (!map.has(op)) map.set(op, source.name);
  map.set("GetCurrentUser", "start-up check");
  return map;
})();

/** Mean calls per cycle of each source; calls of operations no source declares under their operation name. */
export function callsBySource(cycles: readonly Pick<CycleSample, "byOperation">[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const cycle of cycles) {
    for (const [operation, calls] of Object.entries(cycle.byOperation)) {
      const source = SOURCE_OF.get(operation) ?? operation;
      totals[source] = (totals[source] ?? 0) + calls;
    }
  }
  return Object.fromEntries(Object.entries(totals).map(([source, calls]) => [source, calls / cycles.length]));
}

function stackCalls(cycle: CycleSample): number {
  return (cycle.byOperation.GetStackUpdates ?? 0) + (cycle.byOperation.GetStackResourceCount ?? 0);
}

function goCalls(cycle: CycleSample): number {
  return goFormulaCalls(cycle.listPages, cycle.stacks, ORGANIZATIONS.length);
}

export function summarize(row: RowResult, latency: Latency = LATENCY): Summary {
  const { main, firsts } = row;
  const first = main.cycles[0];
  if (!first) throw new Error(`${row.stacks} stacks, concurrency ${row.concurrency}: no cycle finished`);
  const steady = main.cycles.slice(1);
  const bound = (cycle: CycleSample) => lowerBoundMs(cycle.calls, row.concurrency, latency.meanMs);
  const exports = firsts.map((f) => f.firstExportMs);
  const scrapeMs = main.scrapes.map((s) => s.ms);
  return {
    stacks: row.stacks,
    concurrency: row.concurrency,
    intervalMs: row.intervalMs,
    command: main.command,
    first: {
      runs: firsts.length,
      calls: first.calls,
      listPages: first.listPages,
      goCalls: goCalls(first),
      wallMs: median(firsts.map((f) => f.wallMs)),
      boundMs: median(firsts.map((f) => f.boundMs)),
      ratio: median(firsts.map((f) => f.wallMs / f.boundMs)),
      collectCpuSeconds: first.collectCpuSeconds,
      exportCpuSeconds: first.exportCpuSeconds,
      startupMs: median(firsts.map((f) => f.startupMs)),
      startupCpuSeconds: main.startupCpuSeconds,
      firstExportMs: median(exports),
      firstExportMinMs: Math.min(...exports),
      firstExportMaxMs: Math.max(...exports),
      exportAfterCycleMs: median(firsts.map((f) => f.exportAfterCycleMs)),
      timedOut: first.timedOut,
    },
    steady: {
      cycles: steady.length,
      calls: mean(steady.map((c) => c.calls)),
      goCalls: median(steady.map(goCalls)),
      reduction: median(steady.map(goCalls)) / mean(steady.map((c) => c.calls)),
      bySource: callsBySource(steady),
      listPages: median(steady.map((c) => c.listPages)),
      stackCalls: median(steady.map(stackCalls)),
      orgCalls: median(steady.map((c) => c.calls - c.listPages - stackCalls(c))),
      stacksRead: median(steady.map((c) => c.stacksRead)),
      updatesStarted: median(steady.map((c) => c.updatesStarted)),
      wallMs: median(steady.map((c) => c.durationMs)),
      boundMs: median(steady.map(bound)),
      ratio: median(steady.map((c) => c.durationMs / bound(c))),
      collectCpuSeconds: median(steady.map((c) => c.collectCpuSeconds)),
      exportCpuSeconds: median(steady.map((c) => c.exportCpuSeconds)),
      timedOut: steady.filter((c) => c.timedOut).length,
      errors: steady.reduce((sum, c) => sum + c.errors, 0),
    },
    rss: {
      startBytes: main.startRssBytes,
      steadyBytes: median(main.steadyRssBytes),
      steadyMaxBytes: Math.max(...main.steadyRssBytes),
      peakBytes: main.peakRssBytes,
    },
    scrape: {
      runs: scrapeMs.length,
      medianMs: median(scrapeMs),
      minMs: Math.min(...scrapeMs),
      maxMs: Math.max(...scrapeMs),
      bytes: main.scrapes.at(-1)?.bytes ?? 0,
    },
    exportedPoints: [...row.exportedPoints.values()].reduce((a, b) => a + b, 0),
    callsAgree: main.cycles.every((c, i) => cycleCalls(c, i === 0) === c.loggedCalls),
    warnings: main.levels.warn ?? 0,
    errors: main.levels.error ?? 0,
  };
}

export interface SuiteOptions {
  readonly command: readonly string[];
  readonly sizes: readonly SizePlan[];
  readonly concurrencies: readonly number[];
  readonly latency?: Latency;
  readonly env?: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}

function firstCycleOf(run: RunResult, concurrency: number, latency: Latency): FirstCycle {
  const cycle = run.cycles[0];
  if (!cycle) throw new Error("the run has no first cycle");
  return {
    wallMs: cycle.durationMs,
    boundMs: lowerBoundMs(cycle.calls, concurrency, latency.meanMs),
    calls: cycle.calls,
    firstExportMs: run.firstExportMs,
    exportAfterCycleMs: run.firstExportMs - cycle.endedAtMs,
    startupMs: run.startupMs,
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function benchSize(sim: RunningSimulator, size: SizePlan, options: SuiteOptions): Promise<RowResult[]> {
  const latency = options.latency ?? LATENCY;
  const rows: RowResult[] = [];
  for (const concurrency of options.concurrencies) {
    const intervalMs = intervalFor(size.stacks, concurrency, latency);
    const label = `${size.stacks} stacks, concurrency ${concurrency}, interval ${seconds(intervalMs)}`;
    options.log(`${label}: first cycle and ${size.steadyCycles} steady cycles`);
    const plan = {
      command: options.command,
      organizations: ORGANIZATIONS,
      concurrency,
      intervalMs,
      scrapes: size.scrapes,
      ...(options.env ? { env: options.env } : {}),
    };
    const main = await runExporter(sim, {
      ...plan,
      steadyCycles: size.steadyCycles,
      onCycle: (c) =>
        options.log(
          `  cycle ${c.index}: ${seconds(c.durationMs)}, ${c.calls} calls, ${c.stacksRead} stacks read`,
        ),
    });
    const firsts = [firstCycleOf(main, concurrency, latency)];
    for (let i = 0; i < size.firstRepeats; i++) {
      const repeat = await runExporter(sim, { ...plan, steadyCycles: 0 });
      const first = firstCycleOf(repeat, concurrency, latency);
      options.log(
        `  first cycle again: ${seconds(first.wallMs)}, first export after ${seconds(first.firstExportMs)}`,
      );
      firsts.push(first);
    }
    const exportedPoints = main.lastExport ? countDataPoints(main.lastExport) : new Map<string, number>();
    rows.push({ stacks: size.stacks, concurrency, intervalMs, main, firsts, exportedPoints });
  }
  return rows;
}

export async function runSuite(options: SuiteOptions): Promise<RowResult[]> {
  const latency = options.latency ?? LATENCY;
  const rows: RowResult[] = [];
  for (const size of options.sizes) {
    const sim = await startSimulator({
      ...SCENARIO,
      stacks: size.stacks,
      faults: [{ type: "latency", ms: latency.meanMs - latency.jitterMs, jitterMs: 2 * latency.jitterMs }],
    });
    try {
      sim.tick(WARM_UP_TICKS);
      rows.push(...(await benchSize(sim, size, options)));
    } finally {
      await sim.stop();
    }
  }
  return rows;
}
