/**
 * The process half of the fault matrix: `kill -9` in the middle of a cycle and a restart with `--state.file`,
 * the state file's atomic writes and damaged files, and restarts without one (the no-replay baseline).
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { loadStateFile } from "../../src/collect/state-file.ts";
import { createLogger } from "../../src/log/logger.ts";
import { realSleep } from "../../src/sim/app.ts";
import { type RunningSimulator, type StartOptions, startSimulator } from "../../src/sim/server.ts";
import { type ExporterProcess, spawnExporter } from "../support/reliability-process.ts";
import { logfmtFields, seriesFromPrometheus } from "../support/reliability-rig.ts";
import {
  ORG_GAUGES,
  pick,
  type Series,
  STACK_GAUGES,
  sum,
  Truth,
  UPDATE_COUNTERS,
} from "../support/reliability-truth.ts";
import { testConfig } from "../support/test-config.ts";

const TOKEN = "pul-reliability-restart-0c5d1e";
const GAUGES = [...STACK_GAUGES, ...ORG_GAUGES];

/** One organization, busy stacks, no stacks created or deleted; the clock near the wall clock (months agree). */
function scenario(extra: StartOptions = {}): StartOptions {
  return {
    seed: 5,
    orgs: 1,
    projectsPerOrg: 2,
    stacks: 8,
    updatesPerStack: 4,
    deploymentsPerOrg: 10,
    membersPerOrg: 5,
    teamsPerOrg: 2,
    environmentsPerOrg: 3,
    violationsPerOrg: 6,
    neoTasksPerOrg: 5,
    churn: 0.6,
    stacksCreatedPerTick: 0,
    stacksDeletedPerTick: 0,
    // Five-minute ticks: most updates finish within one or two.
    tickSeconds: 300,
    // The exporter process reads the wall clock, as a real one reads the same clock as Pulumi Cloud: the model's
    // starts there too. (An hour behind, a stack first read after a first cycle cut short by a busy machine
    // would lose the updates that ended in that hour of model time, and the test would be counting the skew.)
    startTime: Math.floor(Date.now() / 1000),
    token: TOKEN,
    ...extra,
  };
}

let sim: RunningSimulator | undefined;
let dir: string | undefined;
const processes: ExporterProcess[] = [];
const exporters: RunningExporter[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) await p.kill9();
  for (const e of exporters.splice(0)) await e.stop(1000);
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  sim = undefined;
  dir = undefined;
});

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), "pulumi-exporter-reliability-"));
  return dir;
}

async function scrape(url: string): Promise<Series> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return seriesFromPrometheus(await response.text());
}

/** Resolves once the process has logged its `n`-th finished cycle. */
function cycleFinished(p: ExporterProcess, n: number): Promise<Record<string, string>> {
  let seen = 0;
  return p.waitForLine((f) => f.msg === "collection cycle finished" && ++seen === n);
}

function runArgs(s: RunningSimulator, stateFile: string | undefined): string[] {
  return [
    "run",
    "--pulumi.organizations=org-1",
    `--pulumi.api-url=${s.url}`,
    // The cycle's budget is its interval: long enough that a busy machine never cuts off a cycle whose values the
    // test compares with the simulator's.
    "--pulumi.collect-interval=3s",
    // The organization inventory every cycle too: the test compares it with the simulator's current values.
    "--pulumi.org-interval=3s",
    "--pulumi.max-concurrency=2",
    "--web.listen-address=127.0.0.1:0",
    "--no-otlp.enabled",
    ...(stateFile ? [`--state.file=${stateFile}`] : []),
  ];
}

describe("kill -9 and restart", () => {
  test("with --state.file: no update counted twice, none that finished while it was down lost", async () => {
    let onStackRead: (() => void) | undefined;
    sim = await startSimulator(
      scenario({
        sleep: (ms, signal) => {
          onStackRead?.();
          return realSleep(ms, signal);
        },
      }),
    );
    const stateFile = join(tempDir(), "state", "exporter.json");
    const truth = new Truth(sim.model, ["org-1"], Date.now);

    truth.observe();
    const first = spawnExporter(runArgs(sim, stateFile), { PULUMI_ACCESS_TOKEN: TOKEN });
    processes.push(first);
    const firstUrl = await first.url();
    await cycleFinished(first, 1);
    // From the second cycle on each history read takes 150 ms, so a cycle is long enough to be killed in the
    // middle of; the first stays short, so a busy machine does not cut the baseline off at its deadline.
    sim.setFaults([{ type: "latency", operation: "GetStackUpdates", ms: 150 }]);
    sim.tick(2);
    truth.observe();
    await cycleFinished(first, 2);
    const counted = pick(await scrape(firstUrl), UPDATE_COUNTERS);
    sim.tick();
    truth.observe();
    const midCycle = new Promise<void>((resolve) => {
      onStackRead = resolve;
    });
    await midCycle;
    await first.kill9();
    onStackRead = undefined;
    expect(first.lines.filter((l) => logfmtFields(l).msg === "collection cycle finished")).toHaveLength(2);
    expect(Object.keys(counted).length).toBeGreaterThan(0);

    // Updates finish while the exporter is down.
    const finishedBefore = truth.countedUpdates();
    sim.tick(2);
    truth.observe();
    expect(truth.countedUpdates()).toBeGreaterThan(finishedBefore);

    const second = spawnExporter(runArgs(sim, stateFile), { PULUMI_ACCESS_TOKEN: TOKEN });
    processes.push(second);
    const secondUrl = await second.url();
    const restored = await second.waitForLine((f) => f.msg === "state restored");
    expect(restored.stacks).toBe("8");
    await cycleFinished(second, 1);
    const after = await scrape(secondUrl);
    const countedAfterRestart = pick(after, UPDATE_COUNTERS);
    expect(Object.keys(countedAfterRestart).length).toBeGreaterThan(0);
    // Counters restart at zero in a new process; together the two processes counted each update exactly once.
    expect(sum(counted, countedAfterRestart)).toEqual(truth.counters());
    expect(pick(after, GAUGES)).toEqual({ ...truth.stackGauges(), ...truth.orgGauges() });
    expect(await second.stop()).toBe(0);
  });

  test("without --state.file: a restart takes a new baseline and replays nothing", async () => {
    sim = await startSimulator(scenario());
    const first = spawnExporter(runArgs(sim, undefined), { PULUMI_ACCESS_TOKEN: TOKEN });
    processes.push(first);
    await cycleFinished(first, 1);
    sim.tick();
    await cycleFinished(first, 2);
    await first.kill9();

    sim.tick(2);
    const truth = new Truth(sim.model, ["org-1"], Date.now);
    truth.observe();
    const second = spawnExporter(runArgs(sim, undefined), { PULUMI_ACCESS_TOKEN: TOKEN });
    processes.push(second);
    const url = await second.url();
    await cycleFinished(second, 1);
    // Updates that finished while it was down are the new baseline: not counted.
    expect(pick(await scrape(url), UPDATE_COUNTERS)).toEqual({});
    sim.tick();
    truth.observe();
    await cycleFinished(second, 2);
    const after = await scrape(url);
    const counters = truth.counters();
    expect(Object.keys(counters).length).toBeGreaterThan(0);
    expect(pick(after, UPDATE_COUNTERS)).toEqual(counters);
    expect(pick(after, GAUGES)).toEqual({ ...truth.stackGauges(), ...truth.orgGauges() });
  });
});

describe("the state file", () => {
  /** An in-process exporter with the state file; resolves after its first cycle, with its log lines. */
  async function startWithState(stateFile: string, intervalMs = 60_000) {
    const lines: string[] = [];
    let cycles = 0;
    let onCycle: (() => void) | undefined;
    const logger = createLogger({
      level: "info",
      write: (line) => {
        lines.push(line);
        if (logfmtFields(line).msg !== "collection cycle finished") return;
        cycles++;
        onCycle?.();
      },
    });
    const s = sim;
    if (!s) throw new Error("no simulator");
    const exporter = await startExporter({
      logger,
      config: testConfig({
        pulumi: {
          apiUrl: s.url,
          accessToken: s.token,
          organizations: ["org-1"],
          collectIntervalMs: intervalMs,
        },
        state: { file: stateFile },
      }),
    });
    exporters.push(exporter);
    const cyclesReached = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${cycles} cycles, waiting for ${n}`)), 10_000);
        onCycle = () => {
          if (cycles < n) return;
          clearTimeout(timer);
          resolve();
        };
        onCycle();
      });
    await cyclesReached(1);
    return { exporter, lines, cyclesReached };
  }

  test("is replaced atomically after every cycle: a new file renamed over the old, no temporary left", async () => {
    sim = await startSimulator(scenario());
    const root = tempDir();
    const directory = join(root, "state");
    const stateFile = join(directory, "exporter.json");
    const { cyclesReached } = await startWithState(stateFile, 100);
    mkdirSync(join(root, "links"));
    for (let cycle = 2; cycle <= 4; cycle++) {
      // A second name for the current file: written in place, it would change under this name too.
      const previous = join(root, "links", `before-${cycle}.json`);
      linkSync(stateFile, previous);
      const before = readFileSync(previous, "utf8");
      await cyclesReached(cycle);
      expect(statSync(stateFile).ino).not.toBe(statSync(previous).ino);
      expect(readFileSync(previous, "utf8")).toBe(before);
      // Read between cycles: always a whole state.
      expect(loadStateFile(stateFile).kind).toBe("loaded");
    }
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    // The lock is there while the exporter runs; no temporary file is.
    expect(readdirSync(directory).sort()).toEqual(["exporter.json", "exporter.json.lock"]);
  });

  for (const [damage, content] of [
    ["truncated", (valid: string) => valid.slice(0, Math.floor(valid.length / 2))],
    ["not JSON at all", () => "\u0000\u0001garbage\u00ff"],
    ["of another format", (valid: string) => valid.replace('"format":1', '"format":99')],
    ["of the wrong shape", () => JSON.stringify({ format: 1, stacks: "many" })],
  ] as const) {
    test(`${damage}: moved aside with a warning, a fresh start (no replay), and the exporter keeps serving`, async () => {
      sim = await startSimulator(scenario());
      const stateFile = join(tempDir(), "exporter.json");
      // A real state file to damage: from an exporter that ran one cycle.
      const donor = await startWithState(stateFile);
      await donor.exporter.stop(1000);
      exporters.splice(exporters.indexOf(donor.exporter), 1);
      const valid = readFileSync(stateFile, "utf8");
      expect(valid).toContain('"format":1');
      const damaged = content(valid);
      writeFileSync(stateFile, damaged);
      sim.tick(3);

      const { exporter, lines } = await startWithState(stateFile);
      const warning = lines.map(logfmtFields).find((f) => f.msg === "state file unusable, moved aside");
      expect(warning?.level).toBe("warn");
      expect(warning?.path).toBe(stateFile);
      expect(warning?.moved_to).toBe(`${stateFile}.bad`);
      expect(warning?.reason).not.toBe("");
      expect(readFileSync(`${stateFile}.bad`, "utf8")).toBe(damaged);
      expect((await fetch(`${exporter.url}/healthz`)).status).toBe(200);
      const series = await scrape(exporter.url);
      // A fresh start is a new baseline: nothing already finished is counted.
      expect(pick(series, UPDATE_COUNTERS)).toEqual({});
      expect(series["pulumi_exporter_up{}"]).toBe(1);
      // The next save replaces the damaged file with a good one.
      expect(loadStateFile(stateFile).kind).toBe("loaded");
    });
  }
});
