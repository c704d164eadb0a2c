/**
 * Triggers: targeted reads between cycles, with the cycle's own code. Exact call counts show what each trigger
 * reads; exact counters show that a trigger can make a number right sooner, never count anything twice.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import type { TargetedResult } from "../../src/collect/targeted.ts";
import { MAX_PENDING_TARGETS, planTargets, TriggerQueue, targetKey } from "../../src/collect/targeted.ts";
import type { Trigger } from "../../src/collect/triggers.ts";
import type { Family } from "../../src/families.ts";
import { type Logger, silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import type { DeploymentRun } from "../../src/pulumi/api.ts";
import { FakeApi, type FakeStack, fakeOrg, update } from "../support/fake-api.ts";
import { type MemoryMetrics, memoryMetrics } from "../support/memory-metrics.ts";

const prod = { org: "acme", project: "web", stack: "prod" };
const dev = { org: "acme", project: "web", stack: "dev" };
const history = (ref: { org: string; project: string; stack: string }): Trigger => ({
  kind: "stack-history",
  ...ref,
});

/** Epoch ms; the fake's update times are Unix seconds well before it. */
const T0 = 4_000_000_000;

interface Rig {
  api: FakeApi;
  collector: Collector;
  metrics: MemoryMetrics;
  clock: { ms: number };
  /** Every cycle and batch, in the order the collector published them. */
  order: string[];
  batches: TargetedResult[];
  prodStack: FakeStack;
}

function rig(logger: Logger = silentLogger, disabled?: ReadonlySet<Family>): Rig {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg({ members: 3 }));
  const prodStack = api.addStack({
    id: "s1",
    ...prod,
    resourceCount: 12,
    updates: [update(1, "succeeded", 1000, 1060), update(2, "in-progress", 2000)],
  });
  api.addStack({ id: "s2", ...dev, resourceCount: 4, updates: [update(1, "succeeded", 1500, 1520)] });
  const clock = { ms: T0 };
  const order: string[] = [];
  const batches: TargetedResult[] = [];
  let collector: Collector | undefined;
  const metrics = memoryMetrics(
    () => (collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined),
    ["acme"],
  );
  collector = new Collector({
    api,
    logger,
    organizations: ["acme"],
    maxConcurrency: 4,
    cycleBudgetMs: 10_000,
    now: () => clock.ms,
    ...(disabled ? { disabled } : {}),
    onCycle: (result) => {
      order.push("cycle");
      metrics.instruments.recordCycle(result);
    },
    onTriggered: (result) => {
      order.push("batch");
      batches.push(result);
      metrics.instruments.recordCycle(result);
    },
  });
  return { api, collector, metrics, clock, order, batches, prodStack };
}

/** Resolves when the next history read starts (held or not). */
function nextHistoryRead(api: FakeApi): Promise<void> {
  const original = api.getStackUpdates.bind(api);
  return new Promise((resolve) => {
    api.getStackUpdates = (...args) => {
      api.getStackUpdates = original;
      resolve();
      return original(...args);
    };
  });
}

/** Resolves after the microtasks queued before it: no timer, no wall clock. */
function nextMicrotask(): Promise<void> {
  return new Promise((resolve) => queueMicrotask(resolve));
}

async function updatesCounted(r: Rig): Promise<number> {
  const points = (await r.metrics.collect()).get("pulumi_update_total") ?? [];
  return points.reduce((sum, p) => sum + p.value, 0);
}

async function inProgress(r: Rig, ref = prod): Promise<number | undefined> {
  const m = await r.metrics.collect();
  return r.metrics.value(m, "pulumi_stack_update_in_progress", { ...ref, kind: "update" });
}

describe("Collector.trigger", () => {
  let r: Rig;

  beforeEach(async () => {
    r = rig();
    await r.collector.collect();
    r.api.resetCalls();
    r.order.length = 0;
  });

  test("a stack-history trigger reads exactly that stack, and counts its finished update", async () => {
    expect(await inProgress(r)).toBe(1);
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2090, "update", { update: 2 });
    r.collector.trigger(history(prod));
    await r.collector.triggersRead();

    expect(Object.fromEntries(r.api.calls)).toEqual({ GetStackUpdates: 1 });
    expect(r.order).toEqual(["batch"]);
    const [batch] = r.batches;
    expect(batch?.events).toEqual([
      {
        ...prod,
        kind: "update",
        result: "succeeded",
        version: 2,
        durationSeconds: 90,
        resourceChanges: { update: 2 },
      },
    ]);
    expect(batch?.stats).toMatchObject({ triggers: 1, dropped: 0, stacksRead: 1, events: 1, apiCalls: 1 });
    const m = await r.metrics.collect();
    expect(r.metrics.value(m, "pulumi_update_total", { ...prod, kind: "update", result: "succeeded" })).toBe(
      1,
    );
    expect(await inProgress(r)).toBeUndefined();
    expect(r.metrics.value(m, "pulumi_stack_last_update_timestamp", prod)).toBe(2090);
    // The snapshot is the batch's; the exporter's own status stays the last cycle's.
    expect(r.collector.snapshot?.state.stacks.get("acme/web/prod")?.pending).toEqual([]);
    expect(r.collector.snapshot?.exporter.up).toBe(true);
  });

  test("an update read by a trigger and again by the next cycle is counted once", async () => {
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2090);
    r.collector.trigger(history(prod));
    await r.collector.triggersRead();
    expect(await updatesCounted(r)).toBe(1);

    r.api.resetCalls();
    r.clock.ms += 60_000;
    const cycle = await r.collector.collect();
    expect(cycle.events).toEqual([]);
    // Nothing in the listing changed and nothing runs any more: the cycle reads no history.
    expect(r.api.calls.get("ListUserStacks")).toBe(1);
    expect(r.api.calls.get("GetStackUpdates")).toBeUndefined();
    expect(await updatesCounted(r)).toBe(1);
  });

  test("an update that started and finished between two cycles: read by its trigger, counted once", async () => {
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2090);
    r.prodStack.updates.push(update(3, "failed", 2100, 2130));
    r.collector.trigger(history(prod));
    await r.collector.triggersRead();
    expect(r.batches[0]?.events.map((e) => [e.version, e.result])).toEqual([
      [2, "succeeded"],
      [3, "failed"],
    ]);
    r.clock.ms += 60_000;
    // The listing shows the new update's start; the cycle reads the history again and finds nothing new.
    const cycle = await r.collector.collect();
    expect(cycle.events).toEqual([]);
    expect(await updatesCounted(r)).toBe(2);
  });

  test("reordered triggers (the finish before the start) count the update once", async () => {
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2090);
    r.prodStack.updates.push(update(3, "succeeded", 2100, 2150));
    // The finish of version 3 arrives, then the start of version 3 and the finish of version 2, late.
    r.collector.trigger(history(prod));
    await r.collector.triggersRead();
    r.collector.trigger(history(prod));
    await r.collector.triggersRead();
    r.collector.trigger(history(prod));
    await r.collector.triggersRead();
    expect(r.batches.map((b) => b.events.length)).toEqual([2, 0, 0]);
    expect(r.api.calls.get("GetStackUpdates")).toBe(3);
    r.clock.ms += 60_000;
    await r.collector.collect();
    const m = await r.metrics.collect();
    expect(m.get("pulumi_update_total")).toEqual([
      { attributes: { ...prod, kind: "update", result: "succeeded" }, value: 2 },
    ]);
  });

  test("a trigger during a cycle waits for the cycle, then reads", async () => {
    let release: () => void = () => {};
    r.api.historiesHeld = new Promise((resolve) => {
      release = resolve;
    });
    r.clock.ms += 60_000;
    const reading = nextHistoryRead(r.api);
    const cycle = r.collector.collect();
    // The cycle is reading prod's running update; a trigger arrives meanwhile.
    await reading;
    expect(r.api.calls.get("GetStackUpdates")).toBe(1);
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2090);
    r.collector.trigger(history(prod));
    // The trigger's drain runs in the microtask it queued, before this one: it declined, the target waits.
    await nextMicrotask();
    expect(r.collector.waitingTriggers).toBe(1);
    expect(r.api.calls.get("GetStackUpdates")).toBe(1);
    expect(r.order).toEqual([]);

    release();
    const result = await cycle;
    await r.collector.triggersRead();
    expect(r.order).toEqual(["cycle", "batch"]);
    expect(r.api.calls.get("GetStackUpdates")).toBe(2);
    // The cycle's read began before the update finished; the trigger's read counts it, once.
    expect(result.events.length + (r.batches[0]?.events.length ?? 0)).toBe(1);
    expect(await updatesCounted(r)).toBe(1);
  });

  test("a cycle asked for during a targeted batch starts after it", async () => {
    let release: () => void = () => {};
    r.api.historiesHeld = new Promise((resolve) => {
      release = resolve;
    });
    const reading = nextHistoryRead(r.api);
    r.collector.trigger(history(dev));
    await reading;
    expect(r.api.calls.get("GetStackUpdates")).toBe(1);
    const cycle = r.collector.collect();
    await nextMicrotask();
    expect(r.api.calls.get("ListUserStacks")).toBeUndefined();
    release();
    await cycle;
    expect(r.order).toEqual(["batch", "cycle"]);
    expect(r.api.calls.get("ListUserStacks")).toBe(1);
  });

  test("a flood of 1,000 triggers for the same 10 stacks makes 10 reads", async () => {
    const refs = Array.from({ length: 10 }, (_, i) => ({ org: "acme", project: "fleet", stack: `s${i}` }));
    for (const [i, ref] of refs.entries())
      r.api.addStack({ id: `f${i}`, ...ref, resourceCount: 1, updates: [update(1, "succeeded", 100, 110)] });
    r.clock.ms += 60_000;
    await r.collector.collect();
    r.api.resetCalls();
    r.order.length = 0;

    for (let i = 0; i < 1000; i++) r.collector.trigger(history(refs[i % 10] as (typeof refs)[number]));
    await r.collector.triggersRead();
    expect(Object.fromEntries(r.api.calls)).toEqual({ GetStackUpdates: 10 });
    expect(r.order).toEqual(["batch"]);
    expect(r.batches[0]?.stats).toMatchObject({ triggers: 10, stacksRead: 10, events: 0 });
  });

  test("triggers for an organization not configured read nothing", async () => {
    r.collector.trigger({ kind: "stack-history", org: "other", project: "web", stack: "prod" });
    r.collector.trigger({ kind: "stack-list", org: "other" });
    r.collector.trigger({ kind: "deployments", org: "other" });
    await r.collector.triggersRead();
    expect(r.api.totalCalls).toBe(0);
    expect(r.order).toEqual([]);
  });

  test("a stack not tracked yet is found by listing its organization, and its update counted once", async () => {
    const created = { org: "acme", project: "web", stack: "new" };
    r.api.addStack({
      id: "s9",
      ...created,
      resourceCount: 2,
      updates: [update(1, "succeeded", 4_000_100, 4_000_110)],
    });
    r.clock.ms = 4_000_120_000;
    r.collector.trigger(history(created));
    await r.collector.triggersRead();
    // One listing page; the new stack's history; prod's running update, as a listing reads it.
    expect(Object.fromEntries(r.api.calls)).toEqual({ ListUserStacks: 1, GetStackUpdates: 2 });
    expect(r.batches[0]?.events.map((e) => `${e.stack}@${e.version}`)).toEqual(["new@1"]);
    r.clock.ms += 60_000;
    await r.collector.collect();
    expect(await updatesCounted(r)).toBe(1);
  });

  test("a stack-list trigger lists the organization; a deployments trigger runs the deployment sources", async () => {
    r.collector.trigger({ kind: "stack-list", org: "acme" });
    r.collector.trigger({ kind: "deployments", org: "acme", project: "web", stack: "prod" });
    await r.collector.triggersRead();
    expect(Object.fromEntries(r.api.calls)).toEqual({
      ListUserStacks: 1,
      GetStackUpdates: 1,
      OrgDeploymentsMetadata: 1,
      ListOrgDeployments: 1,
    });
  });

  test("a drift trigger reads the stack whose drift deployment just finished, and no other", async () => {
    const acme = r.api.orgs.get("acme") ?? expect.unreachable();
    const detection: DeploymentRun = {
      id: "d1",
      createdMs: T0 + 1_000,
      status: "running",
      operation: "detect-drift",
      project: "web",
      stack: "prod",
      jobs: [],
    };
    acme.deploymentRuns.push(detection);
    r.clock.ms += 60_000;
    await r.collector.collect();
    r.api.resetCalls();

    // Still running: the deployments are read, no drift status.
    r.collector.trigger({ kind: "drift", ...prod });
    await r.collector.triggersRead();
    expect(Object.fromEntries(r.api.calls)).toEqual({ OrgDeploymentsMetadata: 1, ListOrgDeployments: 1 });

    acme.deploymentRuns[0] = { ...detection, status: "succeeded" };
    r.prodStack.drift = { driftDetected: true, latestDriftRun: "d1" };
    r.api.resetCalls();
    r.collector.trigger({ kind: "drift", ...prod });
    await r.collector.triggersRead();
    expect(Object.fromEntries(r.api.calls)).toEqual({
      OrgDeploymentsMetadata: 1,
      ListOrgDeployments: 1,
      StackDeploymentsMetadata: 1,
    });
    const m = await r.metrics.collect();
    expect(r.metrics.value(m, "pulumi_stack_drift_detected", prod)).toBe(1);
    expect(r.metrics.value(m, "pulumi_stack_drift_detected", dev)).toBeUndefined();
  });

  test("a trigger whose families are switched off reads nothing and publishes nothing", async () => {
    const off = rig(silentLogger, new Set(["deployments", "drift"]));
    await off.collector.collect();
    off.api.resetCalls();
    off.order.length = 0;
    const before = off.collector.snapshot;
    off.collector.trigger({ kind: "drift", ...prod });
    off.collector.trigger({ kind: "deployments", org: "acme" });
    await off.collector.triggersRead();
    expect(off.api.totalCalls).toBe(0);
    expect(off.order).toEqual([]);
    expect(off.collector.snapshot).toBe(before as never);
  });

  test("triggers before the first cycle wait for it, then are read", async () => {
    const fresh = rig();
    fresh.collector.trigger(history(prod));
    await fresh.collector.triggersRead();
    expect(fresh.api.totalCalls).toBe(0);
    await fresh.collector.collect();
    await fresh.collector.triggersRead();
    expect(fresh.order).toEqual(["cycle", "batch"]);
  });
});

describe("deployments by trigger", () => {
  test("a finished deployment is counted by its trigger and not again by the cycle", async () => {
    const created = T0 - 120_000;
    const running: DeploymentRun = {
      id: "d1",
      createdMs: created,
      status: "running",
      operation: "update",
      jobs: [{ startedMs: created + 10_000 }],
    };
    const r = rig();
    const acme = r.api.orgs.get("acme");
    if (!acme) throw new Error("no acme");
    acme.deploymentRuns.push(running);
    await r.collector.collect();
    acme.deploymentRuns[0] = {
      ...running,
      status: "succeeded",
      jobs: [{ startedMs: created + 10_000, lastUpdatedMs: created + 70_000 }],
    };
    r.collector.trigger({ kind: "deployments", org: "acme" });
    await r.collector.triggersRead();
    const finishedHere = r.batches[0]?.sourceEvents.get("deployments") ?? [];
    expect(finishedHere).toEqual([
      {
        kind: "finished",
        org: "acme",
        operation: "update",
        agentPool: "pulumi-hosted",
        result: "succeeded",
        durationSeconds: 60,
      },
    ]);
    r.clock.ms += 60_000;
    const cycle = await r.collector.collect();
    expect(cycle.sourceEvents.get("deployments")).toBeUndefined();
    const m = await r.metrics.collect();
    expect(m.get("pulumi_deployments_total")).toEqual([
      {
        attributes: { org: "acme", operation: "update", agent_pool: "pulumi-hosted", result: "succeeded" },
        value: 1,
      },
    ]);
  });
});

describe("the trigger queue", () => {
  test("coalesces by target and drops beyond its bound until taken", () => {
    const queue = new TriggerQueue(2);
    expect(queue.add(history(prod))).toBe("queued");
    expect(queue.add(history(prod))).toBe("coalesced");
    expect(queue.add({ kind: "deployments", org: "acme", project: "web", stack: "prod" })).toBe("queued");
    expect(queue.add({ kind: "deployments", org: "acme" })).toBe("coalesced");
    expect(queue.add(history(dev))).toBe("dropped");
    expect(queue.add({ kind: "stack-list", org: "acme" })).toBe("dropped");
    expect(queue.take()).toEqual({
      triggers: [history(prod), { kind: "deployments", org: "acme", project: "web", stack: "prod" }],
      dropped: 2,
    });
    expect(queue.size).toBe(0);
    expect(queue.add(history(dev))).toBe("queued");
    expect(queue.take().dropped).toBe(0);
  });

  test("keys: one per stack for stack reads, one per organization for organization reads", () => {
    expect(targetKey(history(prod))).toBe("stack-history|acme/web/prod");
    expect(targetKey({ kind: "drift", ...prod })).toBe("drift|acme/web/prod");
    expect(targetKey({ kind: "deployments", org: "acme", project: "web", stack: "x" })).toBe(
      "deployments|acme",
    );
    expect(targetKey({ kind: "stack-list", org: "acme" })).toBe("stack-list|acme");
    expect(MAX_PENDING_TARGETS).toBe(10_000);
  });

  test("a full queue is logged once per streak and the dropped triggers are reported with the next batch", async () => {
    const lines: { level: string; message: string; fields: unknown }[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (message, fields) => lines.push({ level: "warn", message, fields }),
    };
    const r = rig(logger);
    await r.collector.collect();
    for (let i = 0; i < MAX_PENDING_TARGETS + 5; i++)
      r.collector.trigger({ kind: "stack-history", org: "acme", project: "p", stack: `s${i}` });
    await r.collector.triggersRead();
    expect(lines.map((l) => l.message)).toEqual([
      "too many targets waiting for a targeted read; further triggers are dropped and left to polling",
      "triggers were dropped while too many targets waited",
    ]);
    expect(lines[1]?.fields).toEqual({ dropped: 5 });
    expect(r.batches[0]?.stats).toMatchObject({ triggers: MAX_PENDING_TARGETS, dropped: 5 });
  });
});

describe("planTargets", () => {
  test("switched-off families read nothing", () => {
    const state = {
      firstCycleStartedAt: 1,
      stacks: new Map(),
      tombstones: new Map(),
      orgs: new Map(),
    };
    const plan = planTargets(
      [history(prod), { kind: "stack-list", org: "acme" }, { kind: "deployments", org: "acme" }],
      state,
      { organizations: ["acme"], disabled: new Set(["stacks", "updates", "deployments", "drift"]) },
    );
    expect(plan).toEqual({ listOrgs: [], stacks: [], sources: new Map() });
  });
});
