/**
 * One benchmark run: the compiled exporter against a simulator in this process, with an OTLP sink stamping every
 * export. The simulator's clock moves one tick after each cycle the exporter finishes, so each cycle sees one
 * tick of churn; API calls are counted by the simulator between cycle ends.
 */
import { CADENCE_DEFAULTS, type CadenceOption } from "../src/config/options.ts";
import type { RunningSimulator } from "../src/sim/server.ts";
import { type ExporterProcess, type LogLine, spawnExporter } from "./exporter-process.ts";
import { type OtlpSink, startOtlpSink } from "./otlp-sink.ts";
import { readCpuSeconds } from "./proc.ts";

export interface RunPlan {
  /** The exporter: the compiled binary, or e.g. `bun --cpu-prof-md src/cli/main.ts` to profile from source. */
  readonly command: readonly string[];
  readonly organizations: readonly string[];
  readonly concurrency: number;
  readonly intervalMs: number;
  /** Cycles after the first; 0 stops after the first export. */
  readonly steadyCycles: number;
  /** Timed /metrics scrapes: one after each steady cycle's export, the rest after the last. */
  readonly scrapes: number;
  /** Extra environment of the exporter, e.g. BUN_OPTIONS for a runtime flag. */
  readonly env?: Readonly<Record<string, string>>;
  /** Progress: called as each cycle's export arrives. */
  readonly onCycle?: (cycle: CycleSample) => void;
}

export interface CycleSample {
  /** 1 = the first cycle. */
  readonly index: number;
  /** From the exporter's log line. */
  readonly durationMs: number;
  readonly stacks: number;
  readonly stacksRead: number;
  readonly errors: number;
  readonly timedOut: boolean;
  /** API calls the exporter says it made (its `api_calls` field). */
  readonly loggedCalls: number;
  /** API calls the simulator answered since the previous cycle ended. */
  readonly calls: number;
  /** ListUserStacks calls among them: the stack list pages. */
  readonly listPages: number;
  /** Calls per operation, as the simulator counted them. */
  readonly byOperation: Readonly<Record<string, number>>;
  /** Updates the simulator started in the tick before this cycle (0 for the first). */
  readonly updatesStarted: number;
  /**
   * Exporter CPU seconds from the previous cycle's export (from "serving HTTP" for the first cycle) to this
   * cycle's log line, scrapes excluded.
   */
  readonly collectCpuSeconds: number;
  /** Exporter CPU seconds from this cycle's log line until its OTLP export arrived: collect, encode, send. */
  readonly exportCpuSeconds: number;
  /** ms from the spawn to the bench reading the log line. */
  readonly endedAtMs: number;
}

export interface ScrapeSample {
  readonly ms: number;
  readonly bytes: number;
}

export interface RunResult {
  /** The exporter's command line (token in the environment, never on it). */
  readonly command: string;
  readonly cycles: readonly CycleSample[];
  /** ms from the spawn to the "serving HTTP" line. */
  readonly startupMs: number;
  /** Exporter CPU seconds until the "serving HTTP" line. */
  readonly startupCpuSeconds: number;
  /** ms from the spawn to the first OTLP export reaching the sink. */
  readonly firstExportMs: number;
  readonly scrapes: readonly ScrapeSample[];
  /** RSS when the HTTP server was up, bytes. */
  readonly startRssBytes: number;
  /** RSS samples from the first steady cycle's export to the end (empty without steady cycles), bytes. */
  readonly steadyRssBytes: readonly number[];
  /** VmHWM at the end: the peak RSS of the whole run, bytes. */
  readonly peakRssBytes: number;
  /** Log lines by level, for the warn/error tallies. */
  readonly levels: Readonly<Record<string, number>>;
  /** The last export's bytes, to decode after the run. */
  readonly lastExport: Uint8Array | undefined;
  readonly exitCode: number | null;
}

const CYCLE_LINE = "collection cycle finished";

/** How long to wait for a cycle: its interval, a first cycle that overruns it, and a loaded machine. */
function cycleTimeoutMs(intervalMs: number): number {
  return 3 * intervalMs + 60_000;
}

/** Cycles per organization interval: the default `--pulumi.org-interval` (5m) over the default collect interval (60s). */
export const ORG_INTERVAL_CYCLES = cadenceCycles("pulumi.org-interval");

function cadenceCycles(name: CadenceOption["name"]): number {
  const cadence = CADENCE_DEFAULTS.find((c) => c.option.name === name);
  if (!cadence) throw new Error(`${name} is not a cadence`);
  return cadence.cycles;
}

/** Every cadence at its default's ratio to the collect interval (5 minutes over 60 seconds: every fifth cycle). */
export function cadenceArgs(intervalMs: number): string[] {
  return CADENCE_DEFAULTS.map((c) => `--${c.option.name}=${formatDuration(c.cycles * intervalMs)}`);
}

export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function exporterArgs(plan: RunPlan, simUrl: string, sinkUrl: string): string[] {
  return [
    "run",
    `--pulumi.api-url=${simUrl}`,
    `--pulumi.organizations=${plan.organizations.join(",")}`,
    `--pulumi.max-concurrency=${plan.concurrency}`,
    `--pulumi.collect-interval=${formatDuration(plan.intervalMs)}`,
    // The defaults' ratios: the inventory every fifth cycle, drift once per 60, as in production.
    ...cadenceArgs(plan.intervalMs),
    `--otlp.endpoint=${sinkUrl}`,
    "--otlp.insecure",
    "--web.listen-address=127.0.0.1:0",
    "--log.format=json",
  ];
}

function numberField(line: LogLine, name: string): number {
  const value = line.fields[name];
  if (typeof value !== "number")
    throw new Error(`"${line.msg}" has no numeric ${name}: ${JSON.stringify(line)}`);
  return value;
}

async function timedScrape(url: string, pid: number): Promise<ScrapeSample & { cpuSeconds: number }> {
  const cpuBefore = readCpuSeconds(pid);
  const started = performance.now();
  // As Prometheus asks for it.
  const response = await fetch(url, { headers: { "accept-encoding": "gzip" } });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200)
    throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return { ms, bytes: Buffer.byteLength(text), cpuSeconds: readCpuSeconds(pid) - cpuBefore };
}

export function serverUrl(line: LogLine): string {
  const address = line.fields.address;
  if (typeof address !== "string") throw new Error(`"serving HTTP" has no address: ${JSON.stringify(line)}`);
  return `http://${address}`;
}

export async function runExporter(sim: RunningSimulator, plan: RunPlan): Promise<RunResult> {
  const sink: OtlpSink = startOtlpSink();
  sim.resetStats();
  const args = exporterArgs(plan, sim.url, sink.url);
  let child: ExporterProcess | undefined;
  try {
    child = spawnExporter({
      command: [...plan.command, ...args],
      // Nothing inherited: no proxy, no stray PULUMI_* or OTEL_* setting changes what is measured.
      env: { ...plan.env, PULUMI_ACCESS_TOKEN: sim.token, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    const proc = child;
    const serving = await proc.waitForLine("serving HTTP", 1, 30_000);
    const metricsUrl = `${serverUrl(serving)}/metrics`;

    const cycles: CycleSample[] = [];
    const scrapes: ScrapeSample[] = [];
    const startupCpuSeconds = proc.cpuSeconds();
    const startRssBytes = proc.memory().rssBytes;
    let previous: { calls: number; byOperation: Record<string, number> } = { calls: 0, byOperation: {} };
    let updatesStarted = 0;
    // Exporter CPU at the end of the previous cycle's export, scrapes since then excluded.
    let cpuMark = startupCpuSeconds;
    let steadySince: number | undefined;
    const total = 1 + plan.steadyCycles;
    for (let index = 1; index <= total; index++) {
      const line = await proc.waitForLine(CYCLE_LINE, index, cycleTimeoutMs(plan.intervalMs));
      const cpuAtEnd = proc.cpuSeconds();
      const stats = sim.stats();
      // One tick of churn before the next cycle starts (it is at least the interval minus this one away).
      const tick = sim.tick(1);
      // Every cycle ends with one export; wait for it so exports and scrapes never overlap.
      await sink.waitForExports(index, 60_000);
      const cpuAfterExport = proc.cpuSeconds();
      const totals = Object.fromEntries(Object.entries(stats.operations).map(([op, o]) => [op, o.calls]));
      const byOperation = Object.fromEntries(
        Object.entries(totals).map(([op, calls]) => [op, calls - (previous.byOperation[op] ?? 0)]),
      );
      cycles.push({
        index,
        durationMs: numberField(line, "duration_ms"),
        stacks: numberField(line, "stacks"),
        stacksRead: numberField(line, "stacks_read"),
        errors: numberField(line, "errors"),
        timedOut: line.fields.timed_out === true,
        loggedCalls: numberField(line, "api_calls"),
        calls: stats.calls - previous.calls,
        listPages: byOperation.ListUserStacks ?? 0,
        byOperation,
        updatesStarted,
        collectCpuSeconds: cpuAtEnd - cpuMark,
        exportCpuSeconds: cpuAfterExport - cpuAtEnd,
        endedAtMs: line.at - proc.spawnedAt,
      });
      plan.onCycle?.(cycles[cycles.length - 1] as CycleSample);
      previous = { calls: stats.calls, byOperation: totals };
      updatesStarted = tick.updatesStarted;
      cpuMark = cpuAfterExport;
      // Steady from the first steady cycle's export on: the first cycle's garbage has had a cycle to go.
      if (index === Math.min(2, total)) steadySince = performance.now();
      if (index > 1 && scrapes.length < plan.scrapes) {
        const scrape = await timedScrape(metricsUrl, proc.pid);
        cpuMark += scrape.cpuSeconds;
        scrapes.push({ ms: scrape.ms, bytes: scrape.bytes });
      }
    }
    if (plan.steadyCycles > 0) {
      while (scrapes.length < plan.scrapes) {
        const scrape = await timedScrape(metricsUrl, proc.pid);
        scrapes.push({ ms: scrape.ms, bytes: scrape.bytes });
      }
    }
    const peakRssBytes = proc.memory().peakRssBytes;
    const steadyRssBytes =
      plan.steadyCycles > 0 && steadySince !== undefined
        ? proc.memorySamples.filter((s) => s.at >= (steadySince as number)).map((s) => s.rssBytes)
        : [];
    const firstExport = sink.exports[0];
    if (!firstExport) throw new Error("no OTLP export arrived");
    const lastExport = sink.lastBody;
    const exitCode = await proc.stop();
    child = undefined;
    const levels: Record<string, number> = {};
    for (const line of proc.lines) levels[line.level] = (levels[line.level] ?? 0) + 1;
    return {
      command: `${Object.entries(plan.env ?? {})
        .map(([k, v]) => `${k}=${v} `)
        .join("")}PULUMI_ACCESS_TOKEN=<simulator token> ${plan.command.join(" ")} ${args
        .join(" ")
        .replace(sim.url, "<simulator>")
        .replace(sink.url, "<otlp-sink>")}`,
      cycles,
      startupMs: serving.at - proc.spawnedAt,
      startupCpuSeconds,
      startRssBytes,
      firstExportMs: firstExport.at - proc.spawnedAt,
      scrapes,
      steadyRssBytes,
      peakRssBytes,
      levels,
      lastExport,
      exitCode,
    };
  } finally {
    await child?.stop(2_000);
    await sink.stop();
  }
}
