/**
 * The fault-matrix rig: the simulator on a real socket, the real Pulumi client, the collector and the catalog's
 * instruments read in memory, plus the truth. Cycles are driven explicitly and the simulated clock only moves on
 * `tick()`, so every run is deterministic. Retry waits are recorded, not slept. Request timeouts and the cycle
 * deadline run on a manual clock that moves only when every request in flight is one the simulator holds, so a
 * busy machine never times out a request that a fault did not hold.
 */
import { Collector } from "../../src/collect/collector.ts";
import type { CycleResult } from "../../src/collect/cycle.ts";
import type { OtlpConfig } from "../../src/config/types.ts";
import type { Family } from "../../src/families.ts";
import { createLogger } from "../../src/log/logger.ts";
import { CATALOG, prometheusName } from "../../src/metrics/catalog.ts";
import { createMetricExporter } from "../../src/metrics/exporters.ts";
import type { Instruments } from "../../src/metrics/instruments.ts";
import { createMetricsPipeline, type MetricsPipeline } from "../../src/metrics/provider.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import { type RunningSimulator, type StartOptions, startSimulator } from "../../src/sim/server.ts";
import { waitOn } from "../../src/timers.ts";
import { driveHeldRequests } from "./held-requests.ts";
import { ManualClock } from "./manual-clock.ts";
import { type MemoryMetrics, memoryMetrics, type Point } from "./memory-metrics.ts";
import { metricNames, points as otlpPoints, type Received } from "./otlp-points.ts";
import { type Series, seriesKey, Truth } from "./reliability-truth.ts";

/** A small fleet with every kind of data, busy enough that updates start and finish between most cycles. */
export const FLEET: StartOptions = {
  seed: 11,
  orgs: 3,
  projectsPerOrg: 2,
  stacks: 24,
  updatesPerStack: 6,
  deploymentsPerOrg: 30,
  membersPerOrg: 9,
  teamsPerOrg: 3,
  environmentsPerOrg: 7,
  policyGroups: 2,
  policyPacks: 2,
  violationsPerOrg: 15,
  neoTasksPerOrg: 8,
  churn: 0.35,
  stacksCreatedPerTick: 0.5,
  // Deleting a stack also deletes updates that finished since the last cycle read it: nothing to compare.
  stacksDeletedPerTick: 0,
  deploymentsPerTick: 1,
  neoTasksPerTick: 0.5,
  tickSeconds: 60,
  pageSizes: { stacks: 4, members: 4, environments: 3, tasks: 3, violations: 4 },
};

export const ORGS = ["org-1", "org-2", "org-3"] as const;

export interface RigOptions {
  scenario?: StartOptions;
  organizations?: readonly string[];
  /** Per-attempt timeout of the client; default 1000 ms. */
  timeoutMs?: number;
  /** Client retries after the first attempt; default 4 (the client's default). */
  maxRetries?: number;
  maxConcurrency?: number;
  /** Default 10 s. */
  cycleBudgetMs?: number;
  /** Also push over OTLP through the exporter's own pipeline (`push()`), besides the in-memory reading. */
  otlp?: OtlpConfig;
}

export interface Rig {
  readonly sim: RunningSimulator;
  readonly truth: Truth;
  readonly collector: Collector;
  readonly metrics: MemoryMetrics;
  /** Every log line (debug and up), already scrubbed by the logger. */
  readonly logs: string[];
  /** Every retry wait the client asked for, in milliseconds. */
  readonly sleeps: number[];
  /** The OTLP pipeline, with the `otlp` option. */
  readonly pipeline: MetricsPipeline | undefined;
  /** Records the truth, then runs one cycle. */
  cycle(): Promise<CycleResult>;
  /** Pushes over OTLP once (the `otlp` option); resolves with whether the backend accepted it. */
  push(): Promise<boolean>;
  /** Advances the simulated clock. */
  tick(n?: number): void;
  /** Every series the exporter currently reports. */
  actual(): Promise<Series>;
  /** One self-metric series; 0 when the series is absent. */
  value(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/** The families the rig switches off. */
export const RIG_DISABLED: ReadonlySet<Family> = new Set(["drift"]);

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const sim = await startSimulator(options.scenario ?? FLEET);
  const timeoutMs = options.timeoutMs ?? 1000;
  const clock = new ManualClock(0);
  const held = driveHeldRequests(sim, clock, timeoutMs);
  const organizations = options.organizations ?? ORGS;
  const truth = new Truth(sim.model, organizations);
  const logs: string[] = [];
  const sleeps: number[] = [];
  const logger = createLogger({ level: "debug", write: (line) => logs.push(line), secrets: [sim.token] });
  let collector: Collector | undefined;
  const readings = () => (collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined);
  const metrics = memoryMetrics(readings);
  const pipeline = options.otlp
    ? createMetricsPipeline({
        config: { otlp: options.otlp, resource: { serviceName: "pulumi-exporter", attributes: {} } },
        readings,
        logger,
        exporter: await createMetricExporter(options.otlp),
      })
    : undefined;
  const instruments = pipeline ? fanOut(metrics.instruments, pipeline.instruments) : metrics.instruments;
  const api = createPulumiClient({
    baseUrl: sim.url,
    token: sim.token,
    timeoutMs,
    timers: clock,
    fetch: held.fetch,
    retry: { maxRetries: options.maxRetries ?? 4, baseDelayMs: 500, maxDelayMs: 30_000 },
    hooks: instruments.clientHooks,
    logger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  const created = new Collector({
    api,
    logger,
    organizations,
    maxConcurrency: options.maxConcurrency ?? 4,
    cycleBudgetMs: options.cycleBudgetMs ?? 10_000,
    onCycle: (result) => instruments.recordCycle(result),
    // Drift reads are per stack and spread over the refresh, not one step per organization as the fault tests
    // count them; their failures are covered in test/collect/drift.test.ts.
    disabled: RIG_DISABLED,
    now: () => truth.clockMs(),
    wait: (ms, signal) => waitOn(clock, ms, signal),
  });
  collector = created;
  return {
    sim,
    truth,
    collector: created,
    metrics,
    logs,
    sleeps,
    pipeline,
    push() {
      if (!pipeline) throw new Error("the rig was started without the otlp option");
      return pipeline.push();
    },
    cycle() {
      truth.observe();
      return created.collect();
    },
    tick(n = 1) {
      sim.tick(n);
    },
    async actual() {
      return seriesFromMemory(await metrics.collect());
    },
    async value(name, labels = {}) {
      return metrics.value(await metrics.collect(), name, labels) ?? 0;
    },
    async stop() {
      held.stop();
      await pipeline?.shutdown();
      await metrics.shutdown();
      await sim.stop();
    },
  };
}

/** Instruments that record into both `a` and `b`. */
function fanOut(a: Instruments, b: Instruments): Instruments {
  return {
    recordCycle(result) {
      a.recordCycle(result);
      b.recordCycle(result);
    },
    recordUpdates(events) {
      a.recordUpdates(events);
      b.recordUpdates(events);
    },
    retainStacks(live) {
      a.retainStacks(live);
      b.retainStacks(live);
    },
    clientHooks: {
      onRequest(...args) {
        a.clientHooks.onRequest(...args);
        b.clientHooks.onRequest(...args);
      },
      onRetry(...args) {
        a.clientHooks.onRetry(...args);
        b.clientHooks.onRetry(...args);
      },
      onDropped(...args) {
        a.clientHooks.onDropped(...args);
        b.clientHooks.onDropped(...args);
      },
    },
    recordCollectError(operation, org) {
      a.recordCollectError(operation, org);
      b.recordCollectError(operation, org);
    },
    recordUnknownValues(values) {
      a.recordUnknownValues(values);
      b.recordUnknownValues(values);
    },
    recordExportFailure() {
      a.recordExportFailure();
      b.recordExportFailure();
    },
    recordExportCollectionErrors(count) {
      a.recordExportCollectionErrors(count);
      b.recordExportCollectionErrors(count);
    },
    recordWebhook(kind, outcome) {
      a.recordWebhook(kind, outcome);
      b.recordWebhook(kind, outcome);
    },
  };
}

export function seriesFromMemory(collected: Map<string, Point[]>): Series {
  const out: Series = {};
  for (const [name, points] of collected) {
    for (const point of points) {
      if (point.count !== undefined) {
        out[seriesKey(`${name}_count`, point.attributes)] = point.count;
        out[seriesKey(`${name}_sum`, point.attributes)] = point.value;
      } else {
        out[seriesKey(name, point.attributes)] = point.value;
      }
    }
  }
  return out;
}

/** The series of one OTLP export (cumulative temporality: each export carries the totals so far). */
export function seriesFromOtlp(received: Received): Series {
  const out: Series = {};
  for (const name of metricNames(received)) {
    for (const point of otlpPoints(received, name)) {
      if (point.kind === "histogram") {
        out[seriesKey(`${name}_count`, point.attributes)] = point.count;
        out[seriesKey(`${name}_sum`, point.attributes)] = point.sum ?? 0;
      } else {
        out[seriesKey(name, point.attributes)] = point.value;
      }
    }
  }
  return out;
}

const FROM_PROMETHEUS = new Map(Object.values(CATALOG).map((d) => [prometheusName(d), d.name]));

/** The series of a Prometheus text exposition, under the catalog's (OTLP) names; histogram buckets left out. */
export function seriesFromPrometheus(text: string): Series {
  const out: Series = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unreadable exposition line: ${line}`);
    const [, rawName = "", rawLabels = "", rawValue = ""] = match;
    if (rawName.endsWith("_bucket")) continue;
    const labels: Record<string, string> = {};
    for (const pair of rawLabels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const [, key = "", value = ""] = pair;
      labels[key] = JSON.parse(`"${value}"`) as string;
    }
    const name = FROM_PROMETHEUS.get(rawName) ?? rawName;
    out[seriesKey(name, labels)] = Number(rawValue);
  }
  return out;
}

/** A failed collection step, as the collector logged it. */
export interface FailedStep {
  operation: string;
  org: string;
  /** `project/stack` for a stack's history, else undefined. */
  stack: string | undefined;
  error: string;
}

/** Parses one logfmt line into its fields. */
export function logfmtFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of line.matchAll(/([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const [, key = "", raw = ""] = match;
    fields[key] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return fields;
}

/** The collection steps that failed, from the log lines (in order; repeats of a streak are logged at debug). */
export function failedSteps(logs: readonly string[]): FailedStep[] {
  return logs
    .map(logfmtFields)
    .filter(
      (f) =>
        f.msg === "collection step failed, keeping previous values" ||
        f.msg === "collection step failed again",
    )
    .map((f) => ({
      operation: f.operation ?? "",
      org: f.org ?? "",
      stack: f.stack === undefined ? undefined : `${f.project}/${f.stack}`,
      error: f.error ?? "",
    }));
}
