/**
 * `npm run bench`: the compiled exporter against the simulator at 100, 1,000 and 10,000 stacks, concurrency 10 and
 * 30, and docs/benchmarks.md regenerated from what was measured.
 *
 *   bun bench/run.ts                 everything, about 8 minutes on 2 cores
 *   bun bench/run.ts --quick         100 and 1,000 stacks only
 *   bun bench/run.ts --scenario webhooks   the webhook scenario alone (1,000 stacks, about 4 minutes)
 *   options: --sizes 100,1000  --concurrency 10,30  --out <file>  --no-write (print only)
 *            --exec "<command>" runs that instead of dist/pulumi-exporter (e.g. "bun --cpu-prof-md src/cli/main.ts"
 *            to profile from source); never written to the docs.
 *            --scenario polling|webhooks: one of the two (default: both)
 */
import { join } from "node:path";
import { startSimulator } from "../src/sim/server.ts";
import { BINARY, binaryVersion, ensureBinary, ROOT } from "./binary.ts";
import { describeMachine, loadAverage } from "./machine.ts";
import { writeSection } from "./markdown.ts";
import { renderBenchSection } from "./report.ts";
import {
  CONCURRENCIES,
  callsBySource,
  FULL_SIZES,
  intervalFor,
  LATENCY,
  runSuite,
  SCENARIO,
  type SizePlan,
  summarize,
  WARM_UP_TICKS,
} from "./suite.ts";
import { renderWebhookSection } from "./webhook-report.ts";
import {
  runWebhookScenario,
  summarizeWebhooks,
  WEBHOOK_CONCURRENCY,
  WEBHOOK_STACKS,
  type WebhookRun,
} from "./webhooks.ts";

export const SCENARIOS = ["polling", "webhooks"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchArgs {
  quick: boolean;
  sizes: readonly SizePlan[];
  concurrencies: readonly number[];
  out: string;
  write: boolean;
  exec: readonly string[] | undefined;
  scenarios: readonly Scenario[];
}

function numbers(flag: string, text: string): number[] {
  const values = text.split(",").map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`${flag} takes whole numbers separated by commas (got "${text}")`);
  }
  return values;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = {
    quick: false,
    sizes: FULL_SIZES,
    concurrencies: CONCURRENCIES,
    out: join(ROOT, "docs", "benchmarks.md"),
    write: true,
    exec: undefined,
    scenarios: SCENARIOS,
  };
  let sizes: number[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--quick":
        args.quick = true;
        break;
      case "--sizes":
        sizes = numbers(flag, value());
        break;
      case "--concurrency":
        args.concurrencies = numbers(flag, value());
        break;
      case "--out":
        args.out = value();
        break;
      case "--no-write":
        args.write = false;
        break;
      case "--scenario": {
        const name = value();
        if (!(SCENARIOS as readonly string[]).includes(name))
          throw new Error(`--scenario takes ${SCENARIOS.join(" or ")} (got "${name}")`);
        args.scenarios = [name as Scenario];
        break;
      }
      case "--exec":
        args.exec = value()
          .split(" ")
          .filter((part) => part !== "");
        break;
      default:
        throw new Error(
          `unknown argument ${arg} (expected --quick, --sizes, --concurrency, --out, --no-write, --exec, --scenario)`,
        );
    }
  }
  const wanted = sizes ?? (args.quick ? [100, 1_000] : FULL_SIZES.map((s) => s.stacks));
  args.sizes = wanted.map(
    (stacks) =>
      FULL_SIZES.find((s) => s.stacks === stacks) ?? { stacks, steadyCycles: 3, firstRepeats: 0, scrapes: 5 },
  );
  // Profiling from source measures something else than the binary: never into the docs.
  if (args.exec) args.write = false;
  return args;
}

function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) return "npm run bench";
  return argv.length === 2 && argv[0] === "--scenario"
    ? `npm run bench -- --scenario ${argv[1]}`
    : `bun bench/run.ts ${argv.join(" ")}`;
}

/** The stack list pages and the organization calls: what a cycle costs whatever the stacks do. */
function fixedCalls(run: WebhookRun): number {
  const steady = run.cycles.slice(1);
  const fixed = steady.map(
    (c) => c.calls - (c.byOperation.GetStackUpdates ?? 0) - (c.byOperation.GetStackResourceCount ?? 0),
  );
  return fixed.reduce((sum, v) => sum + v, 0) / Math.max(1, fixed.length);
}

async function webhookBench(args: BenchArgs, argv: readonly string[], log: (line: string) => void) {
  const startedAt = new Date();
  const started = performance.now();
  const sim = await startSimulator({
    ...SCENARIO,
    stacks: WEBHOOK_STACKS,
    faults: [{ type: "latency", ms: LATENCY.meanMs - LATENCY.jitterMs, jitterMs: 2 * LATENCY.jitterMs }],
  });
  let run: WebhookRun;
  try {
    sim.tick(WARM_UP_TICKS);
    const intervalMs = intervalFor(WEBHOOK_STACKS, WEBHOOK_CONCURRENCY);
    log(
      `webhooks: ${WEBHOOK_STACKS} stacks, concurrency ${WEBHOOK_CONCURRENCY}, interval ${intervalMs / 1000} s`,
    );
    run = await runWebhookScenario(sim, { command: args.exec ?? [BINARY], intervalMs, log });
  } finally {
    await sim.stop();
  }
  const steady = run.cycles.slice(1);
  return renderWebhookSection({
    summary: summarizeWebhooks(run, callsBySource(steady)),
    run,
    binaryVersion: args.exec ? args.exec.join(" ") : binaryVersion(),
    command: commandLine(argv),
    startedAt,
    elapsedMs: performance.now() - started,
    latency: LATENCY,
    floorCalls: fixedCalls(run),
  });
}

function output(args: BenchArgs, section: "bench" | "webhooks", text: string, log: (line: string) => void) {
  if (args.write) {
    writeSection(args.out, section, text.replaceAll(ROOT, "."));
    log(`wrote ${args.out}`);
  } else {
    console.log(text);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  const log = (line: string) => console.error(line);
  if (!args.exec) ensureBinary(log);
  if (args.scenarios.includes("polling")) await pollingBench(args, argv, log);
  if (args.scenarios.includes("webhooks")) output(args, "webhooks", await webhookBench(args, argv, log), log);
  return 0;
}

async function pollingBench(args: BenchArgs, argv: readonly string[], log: (line: string) => void) {
  const startedAt = new Date();
  const started = performance.now();
  const loadBefore = loadAverage();
  const rows = await runSuite({
    command: args.exec ?? [BINARY],
    sizes: args.sizes,
    concurrencies: args.concurrencies,
    latency: LATENCY,
    log,
  });
  const section = renderBenchSection({
    summaries: rows.map((row) => summarize(row)),
    machine: describeMachine(),
    binaryVersion: args.exec ? args.exec.join(" ") : binaryVersion(),
    command: commandLine(argv),
    startedAt,
    elapsedMs: performance.now() - started,
    loadBefore,
    loadAfter: loadAverage(),
    latency: LATENCY,
  });
  output(args, "bench", section, log);
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
