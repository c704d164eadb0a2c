/**
 * The drift family through the Collector over several cycles: reads after a drift deployment finishes, the refresh
 * spread over the cycles, failing reads, a forbidden organization, deleted stacks and a restart through the state
 * file.
 */
import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { type CollectorState, emptyState } from "../../src/collect/state.ts";
import { encodeState, parseState } from "../../src/collect/state-file.ts";
import { FAMILIES, type Family } from "../../src/families.ts";
import { createLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import type { DeploymentRun, StackDrift, StackRef } from "../../src/pulumi/api.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const MINUTE = 60_000;

/** Every family but drift and the deployments it reacts to is off, so the calls are the drift source's own. */
const OTHERS_OFF: Family[] = FAMILIES.filter((family) => family !== "drift" && family !== "deployments");

interface RigOptions {
  readonly refreshMs: number;
  readonly maxConcurrency?: number;
  readonly disabled?: readonly Family[];
  readonly initialState?: CollectorState;
  readonly api?: FakeApi;
  readonly startMs?: number;
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function rig(options: RigOptions) {
  const api = options.api ?? new FakeApi();
  if (!options.api) {
    api.orgs.set("acme", fakeOrg());
    api.orgs.set("beta", fakeOrg());
  }
  const lines: string[] = [];
  let clock = options.startMs ?? T0;
  const logger = createLogger({
    level: "info",
    write: (line) => lines.push(line),
    now: () => new Date(clock),
  });
  const collector = new Collector({
    api,
    logger,
    organizations: ["acme", "beta"],
    maxConcurrency: options.maxConcurrency ?? 4,
    cycleBudgetMs: 10_000,
    now: () => clock,
    settings: { collectIntervalMs: MINUTE, driftRefreshMs: options.refreshMs },
    disabled: new Set(options.disabled ?? OTHERS_OFF),
    ...(options.initialState ? { initialState: options.initialState } : {}),
    ...(options.wait ? { wait: options.wait } : {}),
  });
  /** Which stacks (`org/project/stack`) each cycle read, in call order. */
  const reads: string[] = [];
  const realRead = api.getStackDrift.bind(api);
  api.getStackDrift = (ref: StackRef) => {
    reads.push(`${ref.org}/${ref.project}/${ref.stack}`);
    return realRead(ref);
  };
  const cycle = async (advanceMs: number) => {
    clock += advanceMs;
    api.resetCalls();
    reads.length = 0;
    const from = lines.length;
    const result = await collector.collect();
    return {
      calls: api.calls.get("StackDeploymentsMetadata") ?? 0,
      read: [...reads],
      errors: result.errors,
      logged: lines.slice(from).map((line) => line.replace(/^time=\S+ /, "")),
      result,
    };
  };
  const drift = () =>
    snapshotReadings(collector.snapshot ?? expect.unreachable()).get("stackDriftDetected") ?? [];
  return { api, collector, cycle, drift, now: () => clock };
}

function addStack(api: FakeApi, org: string, project: string, stack: string, drift?: StackDrift) {
  return api.addStack({
    id: `${org}-${project}-${stack}`,
    org,
    project,
    stack,
    updates: [],
    ...(drift ? { drift } : {}),
  });
}

const series = (org: string, project: string, stack: string, value: number) => ({
  attributes: { org, project, stack },
  value,
});

function driftRun(
  id: string,
  operation: "detect-drift" | "remediate-drift" | "update",
  status: string,
  createdMs: number,
  stack = { project: "web", stack: "prod" },
): DeploymentRun {
  return { id, createdMs, status, operation, ...stack, jobs: [] };
}

describe("drift", () => {
  test("read when a drift deployment of the stack finishes, in the same cycle: drift found (1), then remediated (0)", async () => {
    const { api, cycle, drift } = rig({ refreshMs: 60 * MINUTE });
    const prod = addStack(api, "acme", "web", "prod");
    const acme = api.orgs.get("acme") ?? expect.unreachable();

    // Never read: read once. No drift run yet, so no series.
    const first = await cycle(0);
    expect(first.read).toEqual(["acme/web/prod"]);
    expect(drift()).toEqual([]);
    // Within the refresh: nothing is read.
    expect((await cycle(MINUTE)).calls).toBe(0);

    // A detection queued and running: not terminal, not read.
    acme.deploymentRuns.push(driftRun("d1", "detect-drift", "running", T0 + 90_000));
    expect((await cycle(MINUTE)).calls).toBe(0);

    // It finds drift: the stack is read in the cycle the deployments source sees it finish.
    acme.deploymentRuns[0] = driftRun("d1", "detect-drift", "succeeded", T0 + 90_000);
    prod.drift = { driftDetected: true, latestDriftRun: "d1" };
    const found = await cycle(MINUTE);
    expect(found.read).toEqual(["acme/web/prod"]);
    expect(drift()).toEqual([series("acme", "web", "prod", 1)]);

    // Another stack's update deployment finishing reads nothing.
    acme.deploymentRuns.push(driftRun("d2", "update", "succeeded", T0 + 200_000));
    expect((await cycle(MINUTE)).calls).toBe(0);

    // A remediation that finished between two cycles (first seen terminal): read, drift cleared.
    acme.deploymentRuns.push(driftRun("d3", "remediate-drift", "succeeded", T0 + 290_000));
    prod.drift = { driftDetected: false, latestDriftRun: "d3" };
    const remediated = await cycle(MINUTE);
    expect(remediated.read).toEqual(["acme/web/prod"]);
    expect(drift()).toEqual([series("acme", "web", "prod", 0)]);
    const after = await cycle(MINUTE);
    expect(after.calls).toBe(0);
    expect(drift()).toEqual([series("acme", "web", "prod", 0)]);
  });

  test("a triggered read is on top of the refresh's quota, and only the stack of the deployment is read", async () => {
    const { api, cycle } = rig({ refreshMs: 60 * MINUTE });
    for (let i = 0; i < 3; i++)
      addStack(api, "acme", "web", `s${i}`, { driftDetected: false, latestDriftRun: "r" });
    await cycle(0);
    const acme = api.orgs.get("acme") ?? expect.unreachable();
    acme.deploymentRuns.push(
      driftRun("d1", "detect-drift", "failed", T0 + 30_000, { project: "web", stack: "s2" }),
    );
    // ⌈3 × 1 min ÷ 1 h⌉ = 1 scheduled read (s1: s0 was read in the first cycle) and the triggered s2.
    const triggered = await cycle(MINUTE);
    expect(triggered.read).toEqual(["acme/web/s2", "acme/web/s1"]);
    expect(triggered.calls).toBe(2);
  });

  test("without triggers every stack is read once per refresh, ⌈stacks × interval ÷ refresh⌉ a cycle, oldest first", async () => {
    const { api, cycle } = rig({ refreshMs: 5 * MINUTE });
    for (let i = 0; i < 10; i++) addStack(api, "acme", "p", `s${i}`);
    const perCycle: number[] = [];
    const lastRead = new Map<string, number>();
    const gaps: number[] = [];
    for (let n = 0; n < 15; n++) {
      const { read } = await cycle(n === 0 ? 0 : MINUTE);
      perCycle.push(read.length);
      for (const key of read) {
        const before = lastRead.get(key);
        if (before !== undefined) gaps.push(n - before);
        lastRead.set(key, n);
      }
      if (n === 0) expect(read).toEqual(["acme/p/s0", "acme/p/s1"]);
      if (n === 4) expect(read).toEqual(["acme/p/s8", "acme/p/s9"]);
      // The first ones read are the first due again.
      if (n === 5) expect(read).toEqual(["acme/p/s0", "acme/p/s1"]);
    }
    // ⌈10 × 1 min ÷ 5 min⌉ = 2 a cycle; every stack again exactly 5 cycles (the refresh) later.
    expect(perCycle).toEqual(Array(15).fill(2));
    expect(lastRead.size).toBe(10);
    expect(new Set(gaps)).toEqual(new Set([5]));
    expect(gaps).toHaveLength(20);
  });

  test("a refresh that does not divide the stacks: the quota rounds up, the last read of a round is smaller", async () => {
    const { api, cycle } = rig({ refreshMs: 3 * MINUTE });
    for (let i = 0; i < 7; i++) addStack(api, "acme", "p", `s${i}`);
    const perCycle: number[] = [];
    for (let n = 0; n < 6; n++) perCycle.push((await cycle(n === 0 ? 0 : MINUTE)).calls);
    expect(perCycle).toEqual([3, 3, 1, 3, 3, 1]);
  });

  test("a refresh equal to the interval reads every stack every cycle, under the concurrency bound", async () => {
    const { api, cycle } = rig({ refreshMs: MINUTE, maxConcurrency: 2 });
    for (let i = 0; i < 6; i++) addStack(api, "acme", "p", `s${i}`);
    // Each read is held until as many are in flight as the bound allows (or the cycle's last one has started),
    // so a bound that let more through would show as more in flight at once.
    let active = 0;
    let most = 0;
    let startedThisCycle = 0;
    let held: Array<() => void> = [];
    const bounded = api.getStackDrift;
    api.getStackDrift = async (ref) => {
      active++;
      startedThisCycle++;
      most = Math.max(most, active);
      const turn = new Promise<void>((resolve) => held.push(resolve));
      if (held.length === 2 || startedThisCycle === 6) {
        const release = held;
        held = [];
        queueMicrotask(() => {
          for (const resume of release) resume();
        });
      }
      try {
        await turn;
        return await bounded(ref);
      } finally {
        active--;
      }
    };
    for (let n = 0; n < 3; n++) {
      startedThisCycle = 0;
      expect((await cycle(n === 0 ? 0 : MINUTE)).calls).toBe(6);
    }
    expect(most).toBe(2);
  });

  test("reads still waiting for a slot at the cycle's deadline are not made; the next cycle reads them", async () => {
    let deadline: (() => void) | undefined;
    let closed: AbortSignal | undefined;
    const { api, cycle, drift } = rig({
      refreshMs: MINUTE,
      maxConcurrency: 1,
      wait: (_ms, signal) =>
        new Promise<void>((resolve) => {
          deadline = resolve;
          closed = signal;
        }),
    });
    for (let i = 0; i < 3; i++)
      addStack(api, "acme", "p", `s${i}`, { driftDetected: true, latestDriftRun: "r" });
    const started: string[] = [];
    let hung = true;
    const read = api.getStackDrift;
    api.getStackDrift = async (ref) => {
      started.push(ref.stack);
      if (hung) {
        // The first read hangs until the deadline has passed (as the client's call is aborted then).
        hung = false;
        const fire = deadline ?? expect.unreachable();
        const cycleClosed = closed ?? expect.unreachable();
        fire();
        // Answers only once the cycle has closed at its deadline (the deadline's signal is aborted then).
        await new Promise((resolve) => cycleClosed.addEventListener("abort", resolve, { once: true }));
      }
      return read(ref);
    };
    const cut = await cycle(0);
    expect(cut.result.stats.timedOut).toBe(true);
    expect(started).toEqual(["s0"]);
    expect(drift()).toEqual([]);
    const next = await cycle(MINUTE);
    expect(next.result.stats.timedOut).toBe(false);
    expect(started).toEqual(["s0", "s0", "s1", "s2"]);
    expect(drift()).toHaveLength(3);
  });

  test("the first cycle's early view does not wait for drift reads, which come after the listing", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    addStack(api, "acme", "web", "prod", { driftDetected: true, latestDriftRun: "r1" });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const read = api.getStackDrift.bind(api);
    api.getStackDrift = async (ref) => {
      await held;
      return read(ref);
    };
    let interim: (() => void) | undefined;
    const early = new Promise<void>((resolve) => {
      interim = resolve;
    });
    const collector = new Collector({
      api,
      logger: createLogger({ level: "error", write: () => {} }),
      organizations: ["acme"],
      maxConcurrency: 2,
      cycleBudgetMs: 10_000,
      now: () => T0,
      onInterim: () => interim?.(),
    });
    const cycle = collector.collect();
    // The early view came while the drift read is held: it did not wait for it.
    await early;
    expect(api.calls.get("StackDeploymentsMetadata")).toBeUndefined();
    release();
    await cycle;
    const readings = snapshotReadings(collector.snapshot ?? expect.unreachable());
    expect(readings.get("stackDriftDetected")).toEqual([series("acme", "web", "prod", 1)]);
  });

  test("a failing read keeps the stack's value, is counted per read, logged once per streak", async () => {
    const { api, cycle, drift } = rig({ refreshMs: MINUTE });
    const a = addStack(api, "acme", "web", "a", { driftDetected: true, latestDriftRun: "r1" });
    addStack(api, "acme", "web", "b", { driftDetected: false, latestDriftRun: "r2" });
    await cycle(0);
    expect(drift()).toEqual([series("acme", "web", "a", 1), series("acme", "web", "b", 0)]);

    api.failing.add("StackDeploymentsMetadata:acme");
    a.drift = { driftDetected: false, latestDriftRun: "r3" };
    const failed = await cycle(MINUTE);
    const again = await cycle(MINUTE);
    const error = { operation: "StackDeploymentsMetadata", org: "acme" } as const;
    expect(failed.errors).toEqual([error, error]);
    expect(again.errors).toEqual([error, error]);
    expect(drift()).toEqual([series("acme", "web", "a", 1), series("acme", "web", "b", 0)]);
    const warned = [...failed.logged, ...again.logged].filter((l) => l.includes("StackDeploymentsMetadata"));
    expect(warned).toEqual([
      'level=warn msg="collection step failed, keeping previous values" operation=StackDeploymentsMetadata org=acme project=web stack=a error="StackDeploymentsMetadata: HTTP 503 Service Unavailable" since=2026-12-01T12:01:00.000Z',
    ]);

    api.failing.delete("StackDeploymentsMetadata:acme");
    const recovered = await cycle(MINUTE);
    expect(recovered.errors).toEqual([]);
    expect(recovered.logged.filter((l) => l.includes("StackDeploymentsMetadata"))).toHaveLength(1);
    expect(recovered.logged.find((l) => l.includes("StackDeploymentsMetadata"))).toStartWith(
      'level=info msg="collection step recovered" operation=StackDeploymentsMetadata org=acme failures=4',
    );
    expect(drift()).toEqual([series("acme", "web", "a", 0), series("acme", "web", "b", 0)]);
  });

  test("a 403 for one organization: its reads fail, the other organization's series are exported", async () => {
    const { api, cycle, drift } = rig({ refreshMs: MINUTE });
    addStack(api, "acme", "web", "prod", { driftDetected: true, latestDriftRun: "r1" });
    addStack(api, "beta", "web", "prod", { driftDetected: true, latestDriftRun: "r2" });
    api.statuses.set("StackDeploymentsMetadata:beta", 403);
    for (let n = 0; n < 2; n++) {
      const { errors, calls, logged } = await cycle(n === 0 ? 0 : MINUTE);
      expect(calls).toBe(2);
      expect(errors).toEqual([{ operation: "StackDeploymentsMetadata", org: "beta" }]);
      expect(logged.filter((l) => l.includes("HTTP 403"))).toHaveLength(n === 0 ? 1 : 0);
      expect(drift()).toEqual([series("acme", "web", "prod", 1)]);
    }
  });

  test("a deleted stack's series vanishes with the listing; a stack with no drift run has none", async () => {
    const { api, cycle, drift, collector } = rig({ refreshMs: MINUTE });
    addStack(api, "acme", "web", "a", { driftDetected: true, latestDriftRun: "r1" });
    addStack(api, "acme", "web", "b", { driftDetected: false, latestDriftRun: "r2" });
    addStack(api, "acme", "web", "never");
    await cycle(0);
    expect(drift()).toEqual([series("acme", "web", "a", 1), series("acme", "web", "b", 0)]);
    api.removeStack("acme", "web", "a");
    const after = await cycle(MINUTE);
    expect(after.read).toEqual(["acme/web/b", "acme/web/never"]);
    expect(drift()).toEqual([series("acme", "web", "b", 0)]);
    const kept = collector.state.sources?.get("drift")?.get("acme") as { stacks: Map<string, unknown> };
    expect([...kept.stacks.keys()]).toEqual(["web/b", "web/never"]);

    // A listing that fails says nothing about deletions: the stacks known stay, read on schedule.
    api.failing.add("ListUserStacks:acme");
    api.removeStack("acme", "web", "b");
    const unlisted = await cycle(MINUTE);
    expect(unlisted.calls).toBe(2);
    expect(unlisted.errors).toEqual([
      { operation: "ListUserStacks", org: "acme" },
      { operation: "StackDeploymentsMetadata", org: "acme" },
    ]);
    expect(drift()).toEqual([series("acme", "web", "b", 0)]);
  });

  test("the schedule and the values cross a restart through the state file", async () => {
    const first = rig({ refreshMs: 10 * MINUTE });
    addStack(first.api, "acme", "web", "a", { driftDetected: true, latestDriftRun: "r1" });
    addStack(first.api, "acme", "web", "b", { driftDetected: false, latestDriftRun: "r2" });
    addStack(first.api, "acme", "web", "c");
    // ⌈3 × 1 min ÷ 10 min⌉ = 1 a cycle.
    expect((await first.cycle(0)).read).toEqual(["acme/web/a"]);
    expect((await first.cycle(MINUTE)).read).toEqual(["acme/web/b"]);
    const saved = encodeState(first.collector.state).text;
    expect(JSON.parse(saved).sources.drift).toEqual({
      acme: {
        stacks: [
          { project: "web", stack: "a", drifted: true, readMs: T0 },
          { project: "web", stack: "b", drifted: false, readMs: T0 + MINUTE },
          { project: "web", stack: "c" },
        ],
      },
      beta: { stacks: [] },
    });

    const loaded = parseState(saved);
    if (loaded.kind !== "loaded") throw new Error(loaded.reason);
    const second = rig({
      refreshMs: 10 * MINUTE,
      api: first.api,
      initialState: loaded.state,
      startMs: first.now() + MINUTE,
    });
    // Restarted: the stack never read is next; the values read before the restart are exported at once.
    const restarted = await second.cycle(0);
    expect(restarted.read).toEqual(["acme/web/c"]);
    expect(second.drift()).toEqual([series("acme", "web", "a", 1), series("acme", "web", "b", 0)]);
    // Then nothing until a's refresh is due, 10 minutes after its read.
    const quiet: number[] = [];
    for (let n = 0; n < 7; n++) quiet.push((await second.cycle(MINUTE)).calls);
    expect(quiet).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect((await second.cycle(MINUTE)).read).toEqual(["acme/web/a"]);
  });

  test("a damaged saved entry is dropped on load, the rest kept", () => {
    const file = JSON.parse(encodeState({ ...emptyState(), firstCycleStartedAt: T0 / 1000 }).text);
    const text = JSON.stringify({
      ...file,
      sources: {
        drift: {
          acme: {
            stacks: [
              { project: "web", stack: "a", drifted: "yes", readMs: 1 },
              { project: "..", stack: "c", drifted: true, readMs: 1 },
              { project: "web", stack: "b", drifted: true, readMs: 5 },
            ],
          },
          beta: { stacks: "none" },
        },
      },
    });
    const read = parseState(text);
    if (read.kind !== "loaded") throw new Error(read.reason);
    const drift = read.state.sources?.get("drift");
    expect([...(drift?.keys() ?? [])]).toEqual(["acme"]);
    expect(drift?.get("acme")).toEqual({
      stacks: new Map([["web/b", { project: "web", stack: "b", drifted: true, readMs: 5 }]]),
    });
    // beta's entry; the flag that is no boolean and the path-changing project.
    expect(read.dropped.fields()).toMatchObject({ orgs: 1, values: 2 });
  });

  test("--metrics.disable=drift makes no drift calls and exports no drift series", async () => {
    const { api, cycle, drift } = rig({ refreshMs: MINUTE, disabled: [...OTHERS_OFF, "drift"] });
    addStack(api, "acme", "web", "prod", { driftDetected: true, latestDriftRun: "r1" });
    const acme = api.orgs.get("acme") ?? expect.unreachable();
    acme.deploymentRuns.push(driftRun("d1", "detect-drift", "succeeded", T0 + 1));
    for (let n = 0; n < 2; n++) {
      const { calls, result } = await cycle(n === 0 ? 0 : MINUTE);
      expect(calls).toBe(0);
      // Nothing else needs the listing.
      expect(api.calls.get("ListUserStacks")).toBeUndefined();
      expect(result.state.sources?.get("drift")).toBeUndefined();
    }
    expect(drift()).toEqual([]);
  });
});
