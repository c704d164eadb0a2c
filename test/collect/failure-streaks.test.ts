import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { FailureStreaks } from "../../src/collect/failures.ts";
import { Scheduler } from "../../src/collect/scheduler.ts";
import { createLogger } from "../../src/log/logger.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const MINUTE = 60_000;

function rig() {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg());
  api.orgs.set("beta", fakeOrg());
  api.addStack({
    id: "s1",
    org: "acme",
    project: "web",
    stack: "prod",
    updates: [update(1, "succeeded", 100, 110)],
  });
  api.addStack({
    id: "s2",
    org: "acme",
    project: "web",
    stack: "dev",
    updates: [update(1, "succeeded", 100, 110)],
  });
  const lines: string[] = [];
  let clock = T0;
  const logger = createLogger({
    level: "info",
    write: (line) => lines.push(line),
    now: () => new Date(clock),
  });
  const collector = new Collector({
    api,
    logger,
    organizations: ["acme", "beta"],
    maxConcurrency: 1,
    cycleBudgetMs: 10_000,
    now: () => clock,
  });
  /** Runs one cycle a minute after the last; returns the lines it logged. */
  const cycle = async (): Promise<string[]> => {
    clock += MINUTE;
    const from = lines.length;
    await collector.collect();
    return lines.slice(from).map((line) => line.replace(/^time=\S+ /, ""));
  };
  return {
    api,
    collector,
    cycle,
    touch: () => {
      for (const s of api.stacks) s.updates.push(update(s.updates.length + 1, "succeeded", 200, 210));
    },
  };
}

describe("collection failures are logged once per streak", () => {
  test("an org step failing for 60 cycles logs one warning, then one line when it recovers", async () => {
    const { api, cycle, collector } = rig();
    expect(await cycle()).toEqual([]);
    api.failing.add("ListTeams:acme");
    expect(await cycle()).toEqual([
      'level=warn msg="collection step failed, keeping previous values" operation=ListTeams org=acme error="ListTeams: HTTP 503 Service Unavailable" since=2026-12-01T12:02:00.000Z',
    ]);
    for (let i = 0; i < 59; i++) expect(await cycle()).toEqual([]);
    expect(collector.orgStatus()[0]?.failing).toEqual([
      {
        org: "acme",
        operation: "ListTeams",
        error: "ListTeams: HTTP 503 Service Unavailable",
        failures: 60,
        since: T0 + 2 * MINUTE,
      },
    ]);
    api.failing.delete("ListTeams:acme");
    expect(await cycle()).toEqual([
      'level=info msg="collection step recovered" operation=ListTeams org=acme failures=60 since=2026-12-01T12:02:00.000Z error="ListTeams: HTTP 503 Service Unavailable"',
    ]);
    expect(await cycle()).toEqual([]);
    expect(collector.orgStatus().map((s) => s.failing)).toEqual([[], []]);
  });

  test("the same failure in two orgs is two streaks; each stack of one org failing alike is one", async () => {
    const { api, cycle, touch } = rig();
    await cycle();
    touch();
    api.failing.add("GetStackUpdates");
    api.failing.add("ListOrganizationMembers");
    expect(await cycle()).toEqual([
      'level=warn msg="collection step failed, keeping previous values" operation=ListOrganizationMembers org=acme error="ListOrganizationMembers: HTTP 503 Service Unavailable" since=2026-12-01T12:02:00.000Z',
      'level=warn msg="collection step failed, keeping previous values" operation=ListOrganizationMembers org=beta error="ListOrganizationMembers: HTTP 503 Service Unavailable" since=2026-12-01T12:02:00.000Z',
      'level=warn msg="collection step failed, keeping previous values" operation=GetStackUpdates org=acme project=web stack=prod error="GetStackUpdates: HTTP 503 Service Unavailable" since=2026-12-01T12:02:00.000Z',
    ]);
    expect(await cycle()).toEqual([]);
    api.failing.clear();
    expect(await cycle()).toEqual([
      'level=info msg="collection step recovered" operation=ListOrganizationMembers org=acme failures=2 since=2026-12-01T12:02:00.000Z error="ListOrganizationMembers: HTTP 503 Service Unavailable"',
      'level=info msg="collection step recovered" operation=ListOrganizationMembers org=beta failures=2 since=2026-12-01T12:02:00.000Z error="ListOrganizationMembers: HTTP 503 Service Unavailable"',
      'level=info msg="collection step recovered" operation=GetStackUpdates org=acme failures=4 since=2026-12-01T12:02:00.000Z error="GetStackUpdates: HTTP 503 Service Unavailable"',
    ]);
  });

  test("a stack step keeps its streak while its org is not listed", async () => {
    const { api, cycle, touch } = rig();
    await cycle();
    touch();
    api.failing.add("GetStackUpdates:acme");
    expect(await cycle()).toHaveLength(1);
    api.failing.add("ListUserStacks:acme");
    expect(await cycle()).toEqual([
      'level=warn msg="collection step failed, keeping previous values" operation=ListUserStacks org=acme error="ListUserStacks: HTTP 503 Service Unavailable" since=2026-12-01T12:03:00.000Z',
    ]);
    api.failing.delete("ListUserStacks:acme");
    expect(await cycle()).toEqual([
      'level=info msg="collection step recovered" operation=ListUserStacks org=acme failures=1 since=2026-12-01T12:03:00.000Z error="ListUserStacks: HTTP 503 Service Unavailable"',
    ]);
    api.failing.clear();
    expect(await cycle()).toEqual([
      'level=info msg="collection step recovered" operation=GetStackUpdates org=acme failures=4 since=2026-12-01T12:02:00.000Z error="GetStackUpdates: HTTP 503 Service Unavailable"',
    ]);
  });
});

describe("FailureStreaks bounds", () => {
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line), now: () => new Date(0) });

  test("a new error of the same step starts a new streak and ends the old one", () => {
    const streaks = new FailureStreaks(logger);
    const outcome = { organizations: ["acme"], listed: new Set(["acme"]), timedOut: false };
    streaks.failed("acme", "ListTeams", "ListTeams: HTTP 503 Service Unavailable", 1000);
    streaks.endCycle(outcome);
    streaks.failed("acme", "ListTeams", "ListTeams: HTTP 401 Unauthorized", 2000);
    streaks.endCycle(outcome);
    expect(streaks.current).toEqual([
      {
        org: "acme",
        operation: "ListTeams",
        error: "ListTeams: HTTP 401 Unauthorized",
        failures: 1,
        since: 2000,
      },
    ]);
    expect(lines.map((line) => line.replace(/^time=\S+ /, "").split(" error=")[1])).toEqual([
      '"ListTeams: HTTP 503 Service Unavailable" since=1970-01-01T00:00:01.000Z',
      '"ListTeams: HTTP 401 Unauthorized" since=1970-01-01T00:00:02.000Z',
    ]);
  });

  test("streaks of orgs no longer configured, and of stacks gone from a completed listing, are dropped", () => {
    const streaks = new FailureStreaks(logger);
    streaks.failed("gone", "ListTeams", "ListTeams: HTTP 404 Not Found", 1000);
    streaks.failed("acme", "GetStackUpdates", "GetStackUpdates: HTTP 404 Not Found", 1000);
    streaks.endCycle({ organizations: ["gone", "acme"], listed: new Set(["acme"]), timedOut: false });
    expect(streaks.current).toHaveLength(2);
    // A cycle cut off at its deadline did not try everything: the streaks stay.
    streaks.endCycle({ organizations: ["acme"], listed: new Set(["acme"]), timedOut: true });
    expect(streaks.current.map((s) => s.org)).toEqual(["acme"]);
    streaks.endCycle({ organizations: ["acme"], listed: new Set(["acme"]), timedOut: false });
    expect(streaks.current).toEqual([]);
  });
});

describe("--log.level=debug logs each cycle phase's timing", () => {
  test("the stack phase and the org phase, in milliseconds on the collector's clock", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    const lines: Record<string, unknown>[] = [];
    let clock = T0;
    const collector = new Collector({
      api,
      logger: createLogger({
        level: "debug",
        format: "json",
        write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
      }),
      organizations: ["acme"],
      maxConcurrency: 1,
      cycleBudgetMs: 10_000,
      // Every reading of the clock moves it on by 5 ms, so each phase takes a known, non-zero time.
      now: () => (clock += 5),
    });
    await collector.collect();
    const phases = lines.filter((line) => line.msg === "collection cycle phases");
    expect(phases).toHaveLength(1);
    const [{ stack_phase_ms, org_phase_ms, timed_out }] = phases as [Record<string, unknown>];
    expect(typeof stack_phase_ms).toBe("number");
    expect(typeof org_phase_ms).toBe("number");
    expect(stack_phase_ms as number).toBeGreaterThan(0);
    expect(org_phase_ms as number).toBeGreaterThan(0);
    expect(timed_out).toBe(false);
  });
});

describe("the per-cycle line", () => {
  test("keeps counting the failed steps while the warning is logged once", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    const clock = new ManualClock(T0);
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line), now: () => new Date(clock.now()) });
    const collector = new Collector({
      api,
      logger,
      organizations: ["acme"],
      maxConcurrency: 1,
      cycleBudgetMs: 10_000,
      now: () => clock.now(),
    });
    const scheduler = new Scheduler({ collector, intervalMs: MINUTE, logger, timers: clock });
    api.failing.add("ListTeams");
    api.failing.add("ListTasks");
    scheduler.start();
    const cycle = async (): Promise<string[]> => {
      const from = lines.length;
      await runNextCycle(scheduler, clock);
      return lines.slice(from).map((line) =>
        line
          .replace(/^time=\S+ /, "")
          .replace(/ duration_ms=\d+/, "")
          .replace(/ orgs=.* errors=/, " … errors="),
      );
    };
    expect(await cycle()).toEqual([
      'level=warn msg="collection step failed, keeping previous values" operation=ListTeams org=acme error="ListTeams: HTTP 503 Service Unavailable" since=2026-12-01T12:00:00.000Z',
      'level=warn msg="collection step failed, keeping previous values" operation=ListTasks org=acme error="ListTasks: HTTP 503 Service Unavailable" since=2026-12-01T12:00:00.000Z',
      'level=info msg="collection cycle finished" … errors=2 timed_out=false api_calls=16',
    ]);
    expect(await cycle()).toEqual([
      'level=info msg="collection cycle finished" … errors=2 timed_out=false api_calls=14',
    ]);
    api.failing.delete("ListTasks");
    expect(await cycle()).toEqual([
      'level=info msg="collection step recovered" operation=ListTasks org=acme failures=2 since=2026-12-01T12:00:00.000Z error="ListTasks: HTTP 503 Service Unavailable"',
      'level=info msg="collection cycle finished" … errors=1 timed_out=false api_calls=14',
    ]);
    expect(await scheduler.stop(1000)).toBe(true);
  });
});
