/**
 * `npm run bench`: the compiled exporter against the simulator at 100, 1,000 and 10,000 stacks, concurrency 10 and
 * 30, and docs/benchmarks.md regenerated from what was measured.
 *
 *   bun bench/run.ts                 everything, about 8 minutes on 2 cores
 *   bun bench/run.ts --quick         100 and 1,000 stacks only
 *   options: --sizes 100,1000  --concurrency 10,30  --out <file>  --no-write (print only)
 *            --exec "<command>" runs that instead of dist/pulumi-exporter (e.g. "bun --cpu-prof-md src/cli/main.ts"
 *            to profile from source); never written to the docs.
 */
import { join } from "node:path";
import { BINARY, binaryVersion, ensureBinary, ROOT } from "./binary.ts";
import { describeMachine, loadAverage } from "./machine.ts";
import { writeSection } from "./markdown.ts";
import { renderBenchSection } from "./report.ts";
import { CONCURRENCIES, FULL_SIZES, LATENCY, runSuite, type SizePlan, summarize } from "./suite.ts";

export interface BenchArgs {
  quick: boolean;
  sizes: readonly SizePlan[];
  concurrencies: readonly number[];
  out: string;
  write: boolean;
  exec: readonly string[] | undefined;
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
      case "--exec":
        args.exec = value()
          .split(" ")
          .filter((part) => part !== "");
        break;
      default:
        throw new Error(
          `unknown argument ${arg} (expected --quick, --sizes, --concurrency, --out, --no-write, --exec)`,
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
  return argv.length === 0 ? "npm run bench" : `bun bench/run.ts ${argv.join(" ")}`;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  const log = (line: string) => console.error(line);
  if (!args.exec) ensureBinary(log);
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
  if (args.write) {
    writeSection(args.out, "bench", section.replaceAll(ROOT, "."));
    log(`wrote ${args.out}`);
  } else {
    console.log(section);
  }
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
