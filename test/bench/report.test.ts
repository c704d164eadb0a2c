import { describe, expect, test } from "bun:test";
import { readSection, renderDocument } from "../../bench/markdown.ts";
import { evaluateTargets, renderBenchSection } from "../../bench/report.ts";
import { parseBenchArgs } from "../../bench/run.ts";
import { type CycleSample, cadenceArgs, type RunResult } from "../../bench/scenario.ts";
import {
  countSamples,
  MIN_SOAK_CYCLES,
  parseSoakArgs,
  rssGrowth,
  rssTrend,
  type SoakCycle,
} from "../../bench/soak.ts";
import {
  estimatedFirstCycleCalls,
  intervalFor,
  type RowResult,
  type Summary,
  summarize,
} from "../../bench/suite.ts";

const MiB = 1024 * 1024;

function cycle(index: number, over: Partial<CycleSample>): CycleSample {
  return {
    index,
    durationMs: 900,
    stacks: 1_000,
    stacksRead: 90,
    errors: 0,
    timedOut: false,
    loggedCalls: 150,
    calls: 150,
    listPages: 10,
    byOperation: { ListUserStacks: 10, GetStackUpdates: 90, ListTeams: 3 },
    updatesStarted: 20,
    collectCpuSeconds: 0.2,
    exportCpuSeconds: 0.05,
    endedAtMs: 1_000 * index,
    ...over,
  };
}

function run(cycles: CycleSample[], over: Partial<RunResult> = {}): RunResult {
  return {
    command: "PULUMI_ACCESS_TOKEN=<simulator token> ./dist/pulumi-exporter run",
    cycles,
    startupMs: 250,
    startupCpuSeconds: 0.4,
    startRssBytes: 90 * MiB,
    firstExportMs: 6_000,
    scrapes: [10, 30, 20, 50, 40].map((ms) => ({ ms, bytes: 300_000 })),
    steadyRssBytes: [100 * MiB, 120 * MiB, 110 * MiB],
    peakRssBytes: 150 * MiB,
    levels: { info: 8, warn: 1 },
    lastExport: undefined,
    exitCode: 0,
    ...over,
  };
}

const firstCycle = cycle(1, {
  durationMs: 5_600,
  stacksRead: 1_000,
  calls: 1_067,
  loggedCalls: 1_067,
  byOperation: { ListUserStacks: 10, GetStackUpdates: 1_000, ListTeams: 57 },
  collectCpuSeconds: 1.1,
});

const row: RowResult = {
  stacks: 1_000,
  concurrency: 10,
  intervalMs: 8_000,
  main: run([
    firstCycle,
    cycle(2, { calls: 140, loggedCalls: 140, durationMs: 800 }),
    cycle(3, { calls: 150, durationMs: 900, exportCpuSeconds: 0.07 }),
    cycle(4, { calls: 160, loggedCalls: 160, durationMs: 1_000, collectCpuSeconds: 0.3 }),
  ]),
  firsts: [
    {
      wallMs: 5_600,
      boundMs: 5_350,
      calls: 1_067,
      firstExportMs: 6_000,
      exportAfterCycleMs: 40,
      startupMs: 250,
    },
    {
      wallMs: 5_800,
      boundMs: 5_350,
      calls: 1_067,
      firstExportMs: 6_100,
      exportAfterCycleMs: 60,
      startupMs: 240,
    },
    {
      wallMs: 5_500,
      boundMs: 5_350,
      calls: 1_067,
      firstExportMs: 5_900,
      exportAfterCycleMs: 50,
      startupMs: 260,
    },
  ],
  exportedPoints: new Map([
    ["pulumi_stack_resource_count", 1_000],
    ["pulumi_exporter_up", 1],
  ]),
};

describe("summarize", () => {
  const s = summarize(row);

  test("first cycle: calls and the Go formula from the main run, wall and first export as medians of the runs", () => {
    expect(s.first).toMatchObject({
      runs: 3,
      calls: 1_067,
      listPages: 10,
      goCalls: 10 + 2_000 + 30,
      wallMs: 5_600,
      boundMs: 5_350,
      ratio: 5_600 / 5_350,
      firstExportMs: 6_000,
      firstExportMinMs: 5_900,
      firstExportMaxMs: 6_100,
      exportAfterCycleMs: 50,
      startupMs: 250,
      timedOut: false,
    });
  });

  test("steady cycles: medians of calls, their split, wall against the bound and CPU", () => {
    expect(s.steady).toMatchObject({
      cycles: 3,
      calls: 150,
      goCalls: 2_040,
      listPages: 10,
      stackCalls: 90,
      orgCalls: 50,
      stacksRead: 90,
      updatesStarted: 20,
      wallMs: 900,
      boundMs: 750,
      collectCpuSeconds: 0.2,
      exportCpuSeconds: 0.05,
      timedOut: 0,
      errors: 0,
    });
    expect(s.steady.reduction).toBeCloseTo(2_040 / 150, 10);
    expect(s.steady.bySource).toEqual({ "stack-list": 10, "stack-history": 90, teams: 3 });
    const deployments = summarize({
      ...row,
      main: run([
        firstCycle,
        cycle(2, { byOperation: { ListOrgDeployments: 3, OrgDeploymentsMetadata: 3, GetCurrentUser: 1 } }),
      ]),
    });
    // The deployments source owns its list; the counts' fallback to it is not where its calls go.
    expect(deployments.steady.bySource).toEqual({
      deployments: 3,
      "deployment-counts": 3,
      "start-up check": 1,
    });
    // Per cycle: 800/700, 900/750, 1000/800 → median 1.2.
    expect(s.steady.ratio).toBeCloseTo(1.2, 10);
  });

  test("steady calls are the mean per cycle: the inventory read one cycle in five is not hidden", () => {
    const spiky = summarize({
      ...row,
      main: run([
        firstCycle,
        cycle(2, { calls: 100 }),
        cycle(3, { calls: 100 }),
        cycle(4, { calls: 400, byOperation: { ListUserStacks: 10, GetStackUpdates: 90, ListTeams: 300 } }),
      ]),
    });
    expect(spiky.steady.calls).toBe(200);
    expect(spiky.steady.reduction).toBeCloseTo(2_040 / 200, 10);
    expect(spiky.steady.bySource).toEqual({ "stack-list": 10, "stack-history": 90, teams: 102 });
  });

  test("RSS, scrapes, exported points, and whether both call counts agree", () => {
    expect(s.rss).toEqual({
      startBytes: 90 * MiB,
      steadyBytes: 110 * MiB,
      steadyMaxBytes: 120 * MiB,
      peakBytes: 150 * MiB,
    });
    expect(s.scrape).toEqual({ runs: 5, medianMs: 30, minMs: 10, maxMs: 50, bytes: 300_000 });
    expect(s.exportedPoints).toBe(1_001);
    // Every cycle logged what the simulator counted; one call more on one side is a disagreement.
    expect(s.callsAgree).toBe(true);
    expect(summarize({ ...row, main: run([firstCycle, cycle(2, { calls: 151 })]) }).callsAgree).toBe(false);
    // The start-up check's GetCurrentUser comes before the first cycle: the cycle does not count it; the tokens
    // source's (one per organization) are the first cycle's own.
    const withCheck = (tokenReads: number) =>
      cycle(1, {
        calls: 1_068 + tokenReads,
        loggedCalls: 1_067 + tokenReads,
        byOperation: {
          ListUserStacks: 10,
          GetStackUpdates: 1_000,
          ListTeams: 57,
          GetCurrentUser: 1 + tokenReads,
        },
      });
    expect(summarize({ ...row, main: run([withCheck(0), cycle(2, {})]) }).callsAgree).toBe(true);
    expect(summarize({ ...row, main: run([withCheck(3), cycle(2, {})]) }).callsAgree).toBe(true);
    // A later cycle's GetCurrentUser (the hourly token read) is that cycle's.
    const hourly = cycle(2, {
      calls: 151,
      loggedCalls: 150,
      byOperation: { GetCurrentUser: 1, ListUserStacks: 150 },
    });
    expect(summarize({ ...row, main: run([firstCycle, hourly]) }).callsAgree).toBe(false);
    expect(s.warnings).toBe(1);
  });

  test("a run without a finished cycle is an error", () => {
    expect(() => summarize({ ...row, main: run([]) })).toThrow(
      "1000 stacks, concurrency 10: no cycle finished",
    );
  });
});

describe("targets", () => {
  const base = summarize(row);
  const at = (stacks: number, over: Partial<Summary>): Summary => ({ ...base, stacks, ...over });

  test("each target against the medians, not measured where its size did not run", () => {
    const targets = evaluateTargets([base]);
    expect(targets.map((t) => [t.id, t.status])).toEqual([
      ["calls", "missed"],
      ["wall-first", "met"],
      ["wall-steady", "met"],
      ["rss-start", "missed"],
      ["rss-steady", "not measured"],
      ["rss-peak", "not measured"],
      ["first-export", "missed"],
      ["scrape", "not measured"],
    ]);
    expect(targets[0]?.measured).toBe("1,000/c10: 150 vs 2,040 (1/13.6)");
  });

  test("RSS at start: every row against 60 MiB", () => {
    const lean = (stacks: number, startBytes: number) => at(stacks, { rss: { ...base.rss, startBytes } });
    const [met] = evaluateTargets([lean(100, 60 * MiB), lean(10_000, 59.6 * MiB)]).filter(
      (t) => t.id === "rss-start",
    );
    expect(met).toEqual({
      id: "rss-start",
      target: "RSS ≤ 60 MiB when the HTTP server is up (`run`, http/protobuf)",
      measured: "100/c10: 60 MiB; 10,000/c10: 60 MiB",
      status: "met",
    });
    const [missed] = evaluateTargets([lean(100, 61 * MiB)]).filter((t) => t.id === "rss-start");
    expect(missed?.status).toBe("missed");
  });

  test("10,000 stacks: RSS and scrape limits", () => {
    const big = at(10_000, {
      rss: { startBytes: 90 * MiB, steadyBytes: 80 * MiB, steadyMaxBytes: 90 * MiB, peakBytes: 129 * MiB },
      scrape: { runs: 5, medianMs: 150, minMs: 100, maxMs: 200, bytes: 1 },
    });
    const byId = Object.fromEntries(evaluateTargets([big]).map((t) => [t.id, t]));
    expect(byId["rss-steady"]?.status).toBe("met");
    expect(byId["rss-peak"]?.status).toBe("missed");
    expect(byId["rss-peak"]?.measured).toBe("10,000/c10: 129 MiB");
    expect(byId.scrape?.status).toBe("met");
  });

  test("the section names the machine, the command and every row", () => {
    const text = renderBenchSection({
      summaries: [base],
      machine: {
        cpuModel: "AMD EPYC",
        cores: 2,
        memoryBytes: 24 * 2 ** 30,
        kernel: "linux 6",
        bunVersion: "1.4.5",
      },
      binaryVersion: "pulumi-exporter 0.1.0",
      command: "npm run bench",
      startedAt: new Date("2026-01-02T03:04:05Z"),
      elapsedMs: 90_000,
      loadBefore: 1,
      loadAfter: 2,
      latency: { meanMs: 50, jitterMs: 10 },
    });
    expect(text).toContain("Run on 2026-01-02 03:04 UTC with `npm run bench` (1.5 minutes)");
    expect(text).toContain("**Machine:** AMD EPYC, 2 cores, 24.0 GiB memory, linux 6, Bun 1.4.5");
    expect(text).toContain("| 1,000 | 10 | 1,067 | 2,040 | 150 | 10 | 90 | 50 | 2,040 | 13.60× | 20 |");
    expect(text).toContain("| 1,000 | 10 | 8.00 s | 5.60 s | 5.35 s | 1.05× | 900 ms | 750 ms | 1.20× |");
    expect(text).toContain("1,000/c10: PULUMI_ACCESS_TOKEN=<simulator token> ./dist/pulumi-exporter run");
  });
});

describe("the generated document", () => {
  test("replacing one section keeps the other; a missing one gets its placeholder", () => {
    const first = renderDocument(undefined, "bench", "## Benchmark\n\nfigures A");
    expect(readSection(first, "bench")).toBe("## Benchmark\n\nfigures A");
    expect(readSection(first, "soak")).toContain("Not run yet");
    const second = renderDocument(first, "soak", "## Soak\n\nsoak B");
    const third = renderDocument(second, "bench", "## Benchmark\n\nfigures C");
    expect(readSection(third, "bench")).toBe("## Benchmark\n\nfigures C");
    expect(readSection(third, "soak")).toBe("## Soak\n\nsoak B");
    expect(third.startsWith("# Benchmarks\n")).toBe(true);
  });
});

describe("run plan", () => {
  test("every cadence at its default's ratio to the collect interval", () => {
    expect(cadenceArgs(8_000)).toEqual([
      "--pulumi.org-interval=40s",
      "--pulumi.drift-refresh=480s",
      "--pulumi.running-update-max-gap=24s",
    ]);
  });

  test("first-cycle calls: a history page per stack, the list pages, 19 per org", () => {
    // Stack list pages of 500, as the service answers.
    expect(estimatedFirstCycleCalls(1_000, 3)).toBe(1_000 + 2 + 3 + 54);
  });

  test("the interval leaves the first cycle room inside the cycle budget", () => {
    expect(intervalFor(100, 10)).toBe(3_000);
    expect(intervalFor(1_000, 10)).toBe(8_000);
    expect(intervalFor(1_000, 30)).toBe(4_000);
    // Above 10 s the budget is 90 % of the interval.
    expect(intervalFor(10_000, 10)).toBe(69_000);
    expect(intervalFor(10_000, 30)).toBe(24_000);
  });

  test("arguments", () => {
    const quick = parseBenchArgs(["--quick"]);
    expect(quick.sizes.map((s) => s.stacks)).toEqual([100, 1_000]);
    expect(quick.concurrencies).toEqual([10, 30]);
    expect(quick.write).toBe(true);
    const custom = parseBenchArgs(["--sizes=500", "--concurrency", "5", "--no-write"]);
    expect(custom.sizes).toEqual([{ stacks: 500, steadyCycles: 3, firstRepeats: 0, scrapes: 5 }]);
    expect(custom.concurrencies).toEqual([5]);
    expect(custom.write).toBe(false);
    expect(parseBenchArgs(["--exec", "bun src/cli/main.ts"])).toMatchObject({
      exec: ["bun", "src/cli/main.ts"],
      write: false,
    });
    expect(() => parseBenchArgs(["--sizes", "ten"])).toThrow(
      '--sizes takes whole numbers separated by commas (got "ten")',
    );
    expect(() => parseBenchArgs(["--fast"])).toThrow("unknown argument --fast");
  });
});

describe("soak RSS growth", () => {
  test("the median of the fifth after warm-up (30 %) against the median of the last fifth", () => {
    const cycles: SoakCycle[] = Array.from({ length: 100 }, (_, i) => ({
      index: i + 1,
      durationMs: 500,
      timedOut: false,
      errors: 0,
      // The heap steps up until cycle 30, then 100 MiB, then 104 MiB for the last 20 cycles.
      rssBytes: (i < 20 ? 50 + i : i < 30 ? 90 : i < 80 ? 100 : 104) * MiB,
    }));
    const growth = rssGrowth(cycles);
    expect(growth).toMatchObject({
      baselineCycles: [31, 50],
      finalCycles: [81, 100],
      baselineBytes: 100 * MiB,
      finalBytes: 104 * MiB,
    });
    expect(growth.growth).toBeCloseTo(0.04, 10);
    expect(() => rssGrowth(cycles.slice(0, MIN_SOAK_CYCLES - 1))).toThrow(
      "RSS growth needs at least 28 cycles (got 27)",
    );
    expect(rssGrowth(cycles.slice(0, MIN_SOAK_CYCLES))).toMatchObject({
      baselineCycles: [9, 18],
      finalCycles: [19, 28],
    });
  });

  test("--cycles below what the growth figure needs is refused before the soak runs", () => {
    expect(parseSoakArgs(["--cycles", "28"]).cycles).toBe(28);
    expect(() => parseSoakArgs(["--cycles", "27"])).toThrow(
      '--cycles takes a whole number of at least 28 (got "27")',
    );
  });

  test("--interval takes milliseconds or seconds, at least 100 ms", () => {
    expect(parseSoakArgs(["--interval", "500ms"]).intervalMs).toBe(500);
    expect(parseSoakArgs(["--interval=2s"]).intervalMs).toBe(2000);
    expect(parseSoakArgs([]).intervalMs).toBe(1000);
    expect(() => parseSoakArgs(["--interval", "50ms"])).toThrow(
      '--interval takes a duration of at least 100ms, as 500ms or 1s (got "50ms")',
    );
  });

  test("the trend has a row per hundred cycles with the last /metrics sample count of each", () => {
    const cycles: SoakCycle[] = Array.from({ length: 1_200 }, (_, i) => ({
      index: i + 1,
      durationMs: 100,
      timedOut: i === 150,
      errors: i < 100 ? 1 : 0,
      rssBytes: (100 + Math.floor(i / 100)) * 2 ** 20,
    }));
    const series = cycles
      .filter((c) => c.index % 10 === 0)
      .map((c) => ({ index: c.index, lines: c.index * 2 }));
    const rows = rssTrend(cycles, series).split("\n").slice(2);
    expect(rows).toHaveLength(12);
    expect(rows[0]).toBe("| 1–100 | 100 MiB | 100 MiB | 200 | 100 ms | 0 | 100 |");
    expect(rows[1]).toBe("| 101–200 | 101 MiB | 101 MiB | 400 | 100 ms | 1 | 0 |");
    expect(rows[11]).toBe("| 1101–1200 | 111 MiB | 111 MiB | 2,400 | 100 ms | 0 | 0 |");
  });
});

test("samples of a Prometheus page: every line but comments and blanks", () => {
  const page = '# HELP a A\n# TYPE a gauge\na{x="1"} 1\na{x="2"} 2\n\nb 3\n';
  expect(countSamples(page)).toBe(3);
  expect(countSamples("")).toBe(0);
});
