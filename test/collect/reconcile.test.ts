/**
 * When a cycle reads a running update again. With webhooks on, it is read when its event arrives, and by the cycle
 * only once the reconcile interval has passed since its last read, so a lost event delays a count and never loses
 * or doubles one. Polling backs off: two intervals, then three, up to the maximum gap. Exact history
 * reads per cycle and exact counts after each.
 */
import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { historyDecision, REREAD_SLACK, type RunningReread, rereadDue } from "../../src/collect/stacks.ts";
import type { StackTrack } from "../../src/collect/state.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { FakeApi, type FakeStack, fakeOrg, update } from "../support/fake-api.ts";
import { type MemoryMetrics, memoryMetrics } from "../support/memory-metrics.ts";

const prod = { org: "acme", project: "web", stack: "prod" };
const T0 = 4_000_000_000;
const MINUTE = 60_000;
const RECONCILE_MS = 5 * MINUTE;
const RECONCILE: RunningReread = { mode: "reconcile", everyMs: RECONCILE_MS };

interface Rig {
  api: FakeApi;
  collector: Collector;
  metrics: MemoryMetrics;
  clock: { ms: number };
  prodStack: FakeStack;
}

function rig(runningReread: RunningReread | undefined): Rig {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg({}));
  const prodStack = api.addStack({
    id: "s1",
    ...prod,
    resourceCount: 2,
    updates: [update(1, "succeeded", 1000, 1060), update(2, "in-progress", 2000)],
  });
  api.addStack({
    id: "s2",
    org: "acme",
    project: "web",
    stack: "dev",
    resourceCount: 1,
    updates: [update(1, "succeeded", 1500, 1520)],
  });
  const clock = { ms: T0 };
  let collector: Collector | undefined;
  const metrics = memoryMetrics(
    () => (collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined),
    ["acme"],
  );
  collector = new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 4,
    cycleBudgetMs: 10_000,
    now: () => clock.ms,
    onCycle: (result) => metrics.instruments.recordCycle(result),
    onTriggered: (result) => metrics.instruments.recordCycle(result),
    ...(runningReread === undefined ? {} : { runningReread }),
  });
  return { api, collector, metrics, clock, prodStack };
}

async function counted(r: Rig): Promise<number> {
  const points = (await r.metrics.collect()).get("pulumi_update_total") ?? [];
  return points.reduce((sum, p) => sum + p.value, 0);
}

/** `pulumi_stack_update_in_progress` of prod; the fake's updates ended long before T0, so a finished one has no series. */
async function running(r: Rig): Promise<number | undefined> {
  const m = await r.metrics.collect();
  return r.metrics.value(m, "pulumi_stack_update_in_progress", { ...prod, kind: "update" });
}

/** Runs `cycles` cycles a minute apart; per cycle: [history reads, stack listings, updates counted after it]. */
async function cycles(r: Rig, count: number): Promise<[number, number, number][]> {
  const out: [number, number, number][] = [];
  for (let i = 0; i < count; i++) {
    r.clock.ms += MINUTE;
    r.api.resetCalls();
    await r.collector.collect();
    out.push([
      r.api.calls.get("GetStackUpdates") ?? 0,
      r.api.calls.get("ListUserStacks") ?? 0,
      await counted(r),
    ]);
  }
  return out;
}

describe("reconciliation with webhooks on", () => {
  test("a lost finish event: the update is counted by the reconciliation read, 5 minutes after the last read", async () => {
    const r = rig(RECONCILE);
    await r.collector.collect();
    expect(await running(r)).toBe(1);
    // The update finishes; its event is lost.
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    expect(await cycles(r, 6)).toEqual([
      [0, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
      // T0 + 5 min: the reconciliation read.
      [1, 1, 1],
      [0, 1, 1],
    ]);
    expect(await running(r)).toBeUndefined();
  });

  test("without webhooks a running update is read every cycle, as before", async () => {
    const r = rig(undefined);
    await r.collector.collect();
    expect(await cycles(r, 2)).toEqual([
      [1, 1, 0],
      [1, 1, 0],
    ]);
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    expect(await cycles(r, 2)).toEqual([
      [1, 1, 1],
      [0, 1, 1],
    ]);
  });

  test("the finish event reads and counts at once; the cycles read nothing more", async () => {
    const r = rig(RECONCILE);
    await r.collector.collect();
    expect(await cycles(r, 2)).toEqual([
      [0, 1, 0],
      [0, 1, 0],
    ]);
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    r.api.resetCalls();
    r.collector.trigger({ kind: "stack-history", ...prod });
    await r.collector.triggersRead();
    expect(r.api.calls.get("GetStackUpdates")).toBe(1);
    expect(await counted(r)).toBe(1);
    expect(await running(r)).toBeUndefined();
    expect(await cycles(r, 6)).toEqual(Array.from({ length: 6 }, () => [0, 1, 1]));
  });

  test("a duplicated or late event reads again and counts nothing again", async () => {
    const r = rig(RECONCILE);
    await r.collector.collect();
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    for (let i = 0; i < 3; i++) {
      r.collector.trigger({ kind: "stack-history", ...prod });
      await r.collector.triggersRead();
    }
    expect(await counted(r)).toBe(1);
    expect(await cycles(r, 5)).toEqual(Array.from({ length: 5 }, () => [0, 1, 1]));
  });

  test("a new update in the listing is read at once (running), then by its finish event only", async () => {
    const r = rig(RECONCILE);
    await r.collector.collect();
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    r.collector.trigger({ kind: "stack-history", ...prod });
    await r.collector.triggersRead();
    // Version 3 starts: the listing's lastUpdate moves, the cycle reads it at once.
    r.prodStack.updates.push(update(3, "in-progress", 3000));
    expect(await cycles(r, 1)).toEqual([[1, 1, 1]]);
    expect(await running(r)).toBe(1);
    expect(await cycles(r, 3)).toEqual([
      [0, 1, 1],
      [0, 1, 1],
      [0, 1, 1],
    ]);
    r.prodStack.updates[2] = update(3, "failed", 3000, 3100);
    r.collector.trigger({ kind: "stack-history", ...prod });
    await r.collector.triggersRead();
    expect(await counted(r)).toBe(2);
    expect(await running(r)).toBeUndefined();
    expect(await cycles(r, 2)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });

  test("an update that started and finished between two cycles: read by its event, not again by the listing", async () => {
    const r = rig(RECONCILE);
    await r.collector.collect();
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    r.prodStack.updates.push(update(3, "succeeded", 2300, 2350));
    r.collector.trigger({ kind: "stack-history", ...prod });
    await r.collector.triggersRead();
    expect(await counted(r)).toBe(2);
    // The listing now shows version 3's start, which the event's read saw: adopted without a read.
    expect(await cycles(r, 2)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(r.collector.state.stacks.get("acme/web/prod")?.listLastUpdate).toBe(2300);
  });

  test("a read by an event restarts the reconcile interval", async () => {
    const r = rig(RECONCILE);
    await r.collector.collect();
    expect(await cycles(r, 2)).toEqual([
      [0, 1, 0],
      [0, 1, 0],
    ]);
    // A start event (or a duplicate) reads the running update at T0 + 2 min; still running.
    r.collector.trigger({ kind: "stack-history", ...prod });
    await r.collector.triggersRead();
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    // Its finish event is lost: the reconciliation reads it 5 minutes after that read, at T0 + 7 min.
    expect(await cycles(r, 5)).toEqual([
      [0, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
      [1, 1, 1],
    ]);
  });
});

describe("polling back-off", () => {
  const BACKOFF: RunningReread = { mode: "backoff", intervalMs: MINUTE, maxGapMs: 3 * MINUTE };

  test("a running update is read again after 2 and then every 3 minutes", async () => {
    const r = rig(BACKOFF);
    await r.collector.collect();
    expect((await cycles(r, 10)).map(([reads]) => reads)).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(await running(r)).toBe(1);
    expect(await counted(r)).toBe(0);
  });

  test("an end the listing does not show is counted at the next due read, at most 2 minutes late", async () => {
    const r = rig(BACKOFF);
    await r.collector.collect();
    expect(await cycles(r, 2)).toEqual([
      [0, 1, 0],
      [1, 1, 0],
    ]);
    // It ends just after the read at T0 + 2 min; the next read is due at T0 + 5 min.
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    expect(await cycles(r, 4)).toEqual([
      [0, 1, 0],
      [0, 1, 0],
      [1, 1, 1],
      [0, 1, 1],
    ]);
    expect(await running(r)).toBeUndefined();
  });

  test("a resource count that moved in the listing reads the running stack at once", async () => {
    const r = rig(BACKOFF);
    await r.collector.collect();
    expect(await cycles(r, 3)).toEqual([
      [0, 1, 0],
      [1, 1, 0],
      [0, 1, 0],
    ]);
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    r.prodStack.resourceCount = 5;
    expect(await cycles(r, 2)).toEqual([
      [1, 1, 1],
      [0, 1, 1],
    ]);
    const m = await r.metrics.collect();
    expect(r.metrics.value(m, "pulumi_stack_resource_count", prod)).toBe(5);
  });

  test("the next update starts the back-off over: read at once, then after 2 and 3 minutes", async () => {
    const r = rig(BACKOFF);
    await r.collector.collect();
    expect((await cycles(r, 5)).map(([reads]) => reads)).toEqual([0, 1, 0, 0, 1]);
    r.prodStack.updates[1] = update(2, "succeeded", 2000, 2200);
    r.prodStack.updates.push(update(3, "in-progress", 3000));
    expect(await cycles(r, 6)).toEqual([
      [1, 1, 1],
      [0, 1, 1],
      [1, 1, 1],
      [0, 1, 1],
      [0, 1, 1],
      [1, 1, 1],
    ]);
    expect(r.collector.state.stacks.get("acme/web/prod")?.rereads).toBe(2);
  });
});

describe("historyDecision", () => {
  const track: StackTrack = {
    id: "s1",
    ...prod,
    listLastUpdate: 2000,
    lastVersion: 2,
    pending: [{ version: 2, kind: "update" }],
    resourceCount: 2,
    lastUpdateTimestamp: 1060,
    newestStart: 2000,
    historyReadAt: T0,
  };
  const summary = { id: "s1", orgName: "acme", projectName: "web", stackName: "prod", lastUpdate: 2000 };
  const webhooks = (now: number) => ({ now, running: { mode: "reconcile", everyMs: RECONCILE_MS } as const });

  test("running: every cycle without webhooks; with them once the interval (less its slack) has passed", () => {
    expect(historyDecision(track, summary)).toBe("read");
    expect(historyDecision(track, summary, { now: T0, running: undefined })).toBe("read");
    expect(historyDecision(track, summary, webhooks(T0 + MINUTE))).toBe("keep");
    const due = T0 + RECONCILE_MS * (1 - REREAD_SLACK);
    expect(historyDecision(track, summary, webhooks(due - 1))).toBe("keep");
    expect(historyDecision(track, summary, webhooks(due))).toBe("read");
    // Never read (restored from the state file): due at once.
    expect(rereadDue(undefined, T0, RECONCILE_MS)).toBe(true);
  });

  test("a moved lastUpdate: read, unless webhooks are on and a read already saw that update's start", () => {
    const moved = { ...summary, lastUpdate: 3000 };
    expect(historyDecision(track, moved, webhooks(T0))).toBe("read");
    expect(historyDecision({ ...track, newestStart: 3000 }, moved, webhooks(T0))).toBe("adopt");
    expect(historyDecision({ ...track, newestStart: 3000 }, moved)).toBe("read");
    expect(historyDecision({ ...track, pending: [] }, summary, webhooks(T0 + RECONCILE_MS))).toBe("keep");
    expect(historyDecision(track, { ...summary, id: "s9" }, webhooks(T0))).toBe("read");
  });
  test("back-off: a gap of n intervals is due at the n-th cycle after the read, early by up to half an interval", () => {
    const backoff = (now: number) => ({
      now,
      running: { mode: "backoff", intervalMs: MINUTE, maxGapMs: 3 * MINUTE } as const,
    });
    // Read again once since first seen running: the next gap is 3 minutes.
    const twice = { ...track, rereads: 1 };
    expect(historyDecision(twice, summary, backoff(T0 + 2 * MINUTE + 29_000))).toBe("keep");
    expect(historyDecision(twice, summary, backoff(T0 + 2 * MINUTE + 30_000))).toBe("read");
    // Capped: the tenth re-read waits 3 minutes too.
    expect(historyDecision({ ...track, rereads: 10 }, summary, backoff(T0 + 2 * MINUTE))).toBe("keep");
    // The first re-read comes two intervals after the first read, however early that cycle runs.
    expect(historyDecision({ ...track, rereads: 0 }, summary, backoff(T0 + MINUTE))).toBe("keep");
    expect(historyDecision({ ...track, rereads: 0 }, summary, backoff(T0 + MINUTE + 31_000))).toBe("read");
    // A maximum gap of 1.5 intervals rounds to every cycle.
    const short = {
      now: T0 + MINUTE,
      running: { mode: "backoff", intervalMs: MINUTE, maxGapMs: 90_000 } as const,
    };
    expect(historyDecision({ ...track, rereads: 0 }, summary, short)).toBe("read");
    // Never read by a history read (restored from the state file): due at once.
    const { historyReadAt: _read, ...restored } = track;
    expect(historyDecision(restored, summary, backoff(T0))).toBe("read");
    // The listing's resource count moved: read whatever the gap.
    expect(historyDecision(twice, { ...summary, resourceCount: 3 }, backoff(T0 + MINUTE))).toBe("read");
    expect(historyDecision(twice, { ...summary, resourceCount: 2 }, backoff(T0 + MINUTE))).toBe("keep");
  });
});
