import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import type { CycleResult } from "../../src/collect/cycle.ts";
import { Scheduler } from "../../src/collect/scheduler.ts";
import { createLogger, silentLogger } from "../../src/log/logger.ts";
import { systemTimers } from "../../src/timers.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";

function setup(intervalMs: number, clock: () => number = Date.now) {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg());
  const collector = new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 2,
    cycleBudgetMs: 10_000,
  });
  const results: CycleResult[] = [];
  const scheduler = new Scheduler({
    collector,
    intervalMs,
    logger: silentLogger,
    timers: { ...systemTimers, now: clock },
    afterCycle: async (r) => void results.push(r),
  });
  return { api, scheduler, results };
}

describe("Scheduler", () => {
  test("runs the first cycle right away and is ready after it", async () => {
    const { scheduler, results } = setup(60_000);
    expect(scheduler.ready).toBe(false);
    scheduler.start();
    for (let i = 0; i < 100 && results.length === 0; i++) await Bun.sleep(5);
    expect(results).toHaveLength(1);
    expect(scheduler.ready).toBe(true);
    expect(await scheduler.stop(1000)).toBe(true);
    expect(scheduler.cycles).toBe(1);
  });

  test("logs one line per cycle with its duration, stacks and the API calls the cycle made", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line), now: () => new Date(0) });
    const collector = new Collector({
      api,
      logger,
      organizations: ["acme"],
      maxConcurrency: 2,
      cycleBudgetMs: 10_000,
      now: () => 0,
    });
    let cycles = 0;
    const scheduler = new Scheduler({
      collector,
      intervalMs: 60_000,
      logger,
      timers: { ...systemTimers, now: () => 0 },
      afterCycle: async () => void cycles++,
    });
    scheduler.start();
    for (let i = 0; i < 100 && cycles === 0; i++) await Bun.sleep(5);
    await scheduler.stop(1000);
    expect(lines).toEqual([
      'time=1970-01-01T00:00:00.000Z level=info msg="collection cycle finished" duration_ms=0 orgs=1 orgs_listed=1 stacks=0 stacks_read=0 updates_counted=0 errors=0 timed_out=false api_calls=16',
    ]);
  });

  test("cycles never overlap", async () => {
    const { api, scheduler, results } = setup(1);
    let active = 0;
    let peak = 0;
    const list = api.listStacks.bind(api);
    api.listStacks = async (org) => {
      active++;
      peak = Math.max(peak, active);
      await Bun.sleep(5);
      active--;
      return list(org);
    };
    scheduler.start();
    for (let i = 0; i < 200 && results.length < 4; i++) await Bun.sleep(5);
    await scheduler.stop(1000);
    expect(results.length).toBeGreaterThanOrEqual(4);
    expect(peak).toBe(1);
  });

  test("is not alive when no cycle started for three intervals", async () => {
    let now = 0;
    const { api, scheduler, results } = setup(1000, () => now);
    api.listStacks = () => new Promise(() => {});
    scheduler.start();
    for (let i = 0; i < 20; i++) await Bun.sleep(1);
    expect(results).toHaveLength(0);
    now = 2999;
    expect(scheduler.alive()).toBe(true);
    now = 3000;
    expect(scheduler.alive()).toBe(false);
    expect(await scheduler.stop(10)).toBe(false);
  });
});
