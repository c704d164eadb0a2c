import { beforeEach, describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { LISTINGS_MISSED_BEFORE_GONE } from "../../src/collect/state.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { OPERATIONS } from "../../src/pulumi/api.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { type MemoryMetrics, memoryMetrics } from "../support/memory-metrics.ts";

const prod = { org: "acme", project: "web", stack: "prod" };
const dev = { org: "acme", project: "web", stack: "dev" };
const staging = { org: "acme", project: "web", stack: "staging" };
const api1 = { org: "beta", project: "api", stack: "prod" };

function world(): FakeApi {
  const api = new FakeApi();
  api.orgs.set(
    "acme",
    fakeOrg({
      deploymentCounts: {
        notStarted: 1,
        accepted: 0,
        running: 2,
        failed: 3,
        succeeded: 40,
        skipped: 0,
        total: 46,
      },
      members: 7,
      teams: 2,
      environments: 5,
      policyGroups: 1,
      policyPacks: 3,
      violations: [
        { level: "mandatory", kind: "preventative" },
        { level: "mandatory", kind: "preventative" },
        { level: "advisory", kind: "audit" },
      ],
      policyResults: {
        policyTotalCount: 30,
        policyWithIssuesCount: 4,
        resourcesTotalCount: 900,
        resourcesWithIssuesCount: 12,
      },
      neoTasks: [
        { id: "t1", status: "running", createdAt: "2026-11-02T10:00:00Z", tokensUsed: 1000 },
        { id: "t2", status: "idle", createdAt: "2026-10-30T10:00:00Z", tokensUsed: 500 },
        { id: "t3", status: "idle", createdAt: "2026-11-20T10:00:00Z" },
      ],
      budget: {
        baseAllowanceTokens: 10_000,
        effectiveAllowanceTokens: 12_000,
        consumedTokens: 1_000,
        exhausted: false,
      },
    }),
  );
  api.orgs.set("beta", fakeOrg({ members: 2 }));
  api.addStack({
    id: "s1",
    ...prod,
    resourceCount: 12,
    updates: [
      update(1, "succeeded", 1000, 1060, "update", { create: 5 }),
      update(2, "failed", 2000, 2030),
      update(3, "in-progress", 3000),
    ],
  });
  api.addStack({ id: "s2", ...dev, updates: [update(1, "succeeded", 1500, 1520, "refresh")] });
  api.addStack({ id: "s3", ...api1, resourceCount: 4, updates: [update(1, "succeeded", 500, 800)] });
  return api;
}

describe("Collector over several cycles", () => {
  let api: FakeApi;
  let clock: number;
  let collector: Collector;
  let metrics: MemoryMetrics;

  beforeEach(() => {
    api = world();
    clock = 4_000_000;
    metrics = memoryMetrics(
      () => (collector.snapshot ? snapshotReadings(collector.snapshot) : undefined),
      ["acme", "beta"],
    );
    collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme", "beta"],
      maxConcurrency: 4,
      cycleBudgetMs: 10_000,
      onCycle: (result) => metrics.instruments.recordCycle(result),
      now: () => clock,
    });
  });

  test("first cycle: current state as gauges, no replay of finished updates", async () => {
    const result = await collector.collect();
    expect(result.events).toEqual([]);
    expect(result.up).toBe(true);
    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_stack_resource_count", prod)).toBe(12);
    expect(metrics.value(m, "pulumi_stack_resource_count", dev)).toBe(3);
    expect(metrics.value(m, "pulumi_stack_resource_count", api1)).toBe(4);
    expect(metrics.value(m, "pulumi_stack_last_update_timestamp", prod)).toBe(2030);
    expect(metrics.value(m, "pulumi_stack_last_update_timestamp", dev)).toBe(1520);
    expect(metrics.value(m, "pulumi_stack_update_in_progress", { ...prod, kind: "update" })).toBe(1);
    expect(m.get("pulumi_stack_update_in_progress")).toHaveLength(1);
    expect(m.get("pulumi_update_total")).toBeUndefined();
    expect(m.get("pulumi_deployment_status")?.filter((p) => p.attributes.org === "acme")).toEqual([
      { attributes: { org: "acme", status: "not-started" }, value: 1 },
      { attributes: { org: "acme", status: "accepted" }, value: 0 },
      { attributes: { org: "acme", status: "running" }, value: 2 },
      { attributes: { org: "acme", status: "failed" }, value: 3 },
      { attributes: { org: "acme", status: "succeeded" }, value: 40 },
      { attributes: { org: "acme", status: "skipped" }, value: 0 },
      { attributes: { org: "acme", status: "other" }, value: 0 },
    ]);
    const acme = { org: "acme" };
    expect(metrics.value(m, "pulumi_org_member_count", acme)).toBe(7);
    expect(metrics.value(m, "pulumi_org_member_count", { org: "beta" })).toBe(2);
    expect(metrics.value(m, "pulumi_org_team_count", acme)).toBe(2);
    expect(metrics.value(m, "pulumi_org_environment_count", acme)).toBe(5);
    expect(metrics.value(m, "pulumi_org_policy_group_count", acme)).toBe(1);
    expect(metrics.value(m, "pulumi_org_policy_pack_count", acme)).toBe(3);
    expect(
      metrics.value(m, "pulumi_org_policy_violations", {
        org: "acme",
        level: "mandatory",
        kind: "preventative",
      }),
    ).toBe(2);
    expect(
      metrics.value(m, "pulumi_org_policy_violations", { org: "acme", level: "advisory", kind: "audit" }),
    ).toBe(1);
    expect(
      metrics.value(m, "pulumi_org_policy_violations", { org: "acme", level: "remediate", kind: "audit" }),
    ).toBe(0);
    // 4 levels and 2 kinds from the spec, each with `other`.
    expect(m.get("pulumi_org_policy_violations")?.filter((p) => p.attributes.org === "acme")).toHaveLength(
      15,
    );
    expect(metrics.value(m, "pulumi_org_policy_total", acme)).toBe(30);
    expect(metrics.value(m, "pulumi_org_policy_with_issues", acme)).toBe(4);
    expect(metrics.value(m, "pulumi_org_governed_resources_total", acme)).toBe(900);
    expect(metrics.value(m, "pulumi_org_governed_resources_with_issues", acme)).toBe(12);
    expect(metrics.value(m, "pulumi_org_neo_task_count", { org: "acme", status: "running" })).toBe(1);
    expect(metrics.value(m, "pulumi_org_neo_task_count", { org: "acme", status: "idle" })).toBe(2);
    expect(metrics.value(m, "pulumi_org_neo_task_count", { org: "beta", status: "idle" })).toBe(0);
    expect(metrics.value(m, "pulumi_org_neo_tokens_used_total", acme)).toBe(1500);
    // 1970-01-01 + 4000 s is January 1970: the clock decides the month, not the wall time.
    expect(metrics.value(m, "pulumi_org_neo_tokens_used_current_month", acme)).toBe(0);
    expect(metrics.value(m, "pulumi_org_neo_token_budget_consumed", acme)).toBe(1000);
    expect(metrics.value(m, "pulumi_org_neo_token_budget_allowance", acme)).toBe(12000);
    expect(metrics.value(m, "pulumi_org_neo_token_budget_exhausted", acme)).toBe(0);
    expect(metrics.value(m, "pulumi_org_neo_token_budget_consumed", { org: "beta" })).toBeUndefined();
    expect(metrics.value(m, "pulumi_exporter_up", {})).toBe(1);
    expect(m.get("pulumi_exporter_org_up")).toEqual([
      { attributes: { org: "acme" }, value: 1 },
      { attributes: { org: "beta" }, value: 1 },
    ]);
    // Error counters exist from the start, at 0, for every operation (and configured org).
    expect(
      metrics.value(m, "pulumi_exporter_collect_errors_total", { operation: "ListTeams", org: "beta" }),
    ).toBe(0);
    expect(m.get("pulumi_exporter_collect_errors_total")).toHaveLength(OPERATIONS.length * 2);
    expect(OPERATIONS.length).toBe(23);
    expect(metrics.value(m, "pulumi_exporter_api_retries_total", { operation: "GetStackUpdates" })).toBe(0);
    expect(metrics.value(m, "pulumi_exporter_items_dropped_total", { operation: "ListTasks" })).toBe(0);
    expect(m.get("pulumi_exporter_items_dropped_total")).toHaveLength(23);
    expect(metrics.value(m, "pulumi_exporter_export_failures_total", {})).toBe(0);
    expect(api.calls.get("GetStackUpdates")).toBe(3);
    expect(api.calls.get("GetStackResourceCount")).toBe(1);
  });

  test("an update seen running is counted once when it finishes; a new stack's recent updates count", async () => {
    await collector.collect();
    const prodStack = api.stacks.find((s) => s.id === "s1");
    prodStack?.updates.splice(2, 1, update(3, "failed", 3000, 3090, "update", { update: 2, same: 10 }));
    api.addStack({
      id: "s4",
      ...staging,
      resourceCount: 1,
      updates: [
        update(1, "succeeded", 3500, 3600),
        update(2, "succeeded", 4050, 4080, "refresh", { create: 1 }),
      ],
    });
    clock = 4_100_000;
    api.resetCalls();
    const second = await collector.collect();
    expect(second.events.map((e) => `${e.stack}:${e.version}:${e.result}`).sort()).toEqual([
      "prod:3:failed",
      "staging:2:succeeded",
    ]);
    expect(api.calls.get("GetStackUpdates")).toBe(2);

    clock = 4_200_000;
    api.resetCalls();
    const third = await collector.collect();
    expect(third.events).toEqual([]);
    expect(api.calls.get("GetStackUpdates")).toBeUndefined();

    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_update_total", { ...prod, kind: "update", result: "failed" })).toBe(1);
    expect(
      metrics.value(m, "pulumi_update_total", { ...staging, kind: "refresh", result: "succeeded" }),
    ).toBe(1);
    expect(m.get("pulumi_update_total")).toHaveLength(2);
    const duration = m
      .get("pulumi_update_duration_seconds")
      ?.find((p) => p.attributes.stack === "prod" && p.attributes.result === "failed");
    expect(duration).toEqual({
      attributes: { ...prod, kind: "update", result: "failed" },
      value: 90,
      count: 1,
      buckets: [0, 0, 0, 0, 1, 0, 0, 0, 0],
    });
    expect(
      metrics.value(m, "pulumi_update_resource_changes", { ...prod, kind: "update", operation: "update" }),
    ).toBe(2);
    expect(
      metrics.value(m, "pulumi_update_resource_changes", { ...prod, kind: "update", operation: "same" }),
    ).toBe(10);
    expect(
      metrics.value(m, "pulumi_update_resource_changes", {
        ...staging,
        kind: "refresh",
        operation: "create",
      }),
    ).toBe(1);
    expect(m.get("pulumi_stack_update_in_progress")).toBeUndefined();
    expect(metrics.value(m, "pulumi_stack_last_update_timestamp", prod)).toBe(3090);
    expect(metrics.value(m, "pulumi_stack_last_update_timestamp", staging)).toBe(4080);
  });

  test("a deleted stack's series disappear and an emptied status drops to 0", async () => {
    await collector.collect();
    api.removeStack("acme", "web", "dev");
    const acme = api.orgs.get("acme");
    if (acme) acme.deploymentCounts = { ...acme.deploymentCounts, running: 0, succeeded: 42 };
    if (acme) acme.violations = [{ level: "advisory", kind: "audit" }];
    await collector.collect();
    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_stack_resource_count", dev)).toBeUndefined();
    expect(metrics.value(m, "pulumi_stack_last_update_timestamp", dev)).toBeUndefined();
    expect(metrics.value(m, "pulumi_stack_resource_count", prod)).toBe(12);
    expect(metrics.value(m, "pulumi_deployment_status", { org: "acme", status: "running" })).toBe(0);
    expect(metrics.value(m, "pulumi_deployment_status", { org: "acme", status: "succeeded" })).toBe(42);
    expect(
      metrics.value(m, "pulumi_org_policy_violations", {
        org: "acme",
        level: "mandatory",
        kind: "preventative",
      }),
    ).toBe(0);
  });

  test("deployment status falls back to walking every deployment when the metadata fails", async () => {
    const acme = api.orgs.get("acme");
    if (!acme) throw new Error("no acme");
    acme.deployments = Array.from({ length: 250 }, (_, i) => ({
      id: `d${i}`,
      status: i < 200 ? ("succeeded" as const) : i < 240 ? ("failed" as const) : ("running" as const),
      created: "2026-11-01 10:00:00.000",
      modified: "2026-11-01 10:05:00.000",
    }));
    api.failing.add("OrgDeploymentsMetadata:acme");
    await collector.collect();
    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_deployment_status", { org: "acme", status: "succeeded" })).toBe(200);
    expect(metrics.value(m, "pulumi_deployment_status", { org: "acme", status: "failed" })).toBe(40);
    expect(metrics.value(m, "pulumi_deployment_status", { org: "acme", status: "running" })).toBe(10);
    expect(metrics.value(m, "pulumi_deployment_status", { org: "acme", status: "skipped" })).toBe(0);
    // The walk's 3 pages, and the deployments source's one page for each of acme and beta.
    expect(api.calls.get("ListOrgDeployments")).toBe(3 + 2);
  });

  test("a failing org keeps its last values while the other org is still exported", async () => {
    await collector.collect();
    api.failing.add("ListUserStacks:beta");
    api.failing.add("ListOrganizationMembers:beta");
    const acme = api.orgs.get("acme");
    if (acme) acme.members = 8;
    const result = await collector.collect();
    expect(result.up).toBe(false);
    expect(result.stats.errors).toBe(2);
    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_org_member_count", { org: "acme" })).toBe(8);
    expect(metrics.value(m, "pulumi_org_member_count", { org: "beta" })).toBe(2);
    expect(metrics.value(m, "pulumi_stack_resource_count", api1)).toBe(4);
    expect(metrics.value(m, "pulumi_exporter_up", {})).toBe(0);
    expect(m.get("pulumi_exporter_org_up")).toEqual([
      { attributes: { org: "acme" }, value: 1 },
      { attributes: { org: "beta" }, value: 0 },
    ]);
    const errors = (operation: string, org: string) =>
      metrics.value(m, "pulumi_exporter_collect_errors_total", { operation, org });
    expect(errors("ListUserStacks", "beta")).toBe(1);
    expect(errors("ListUserStacks", "acme")).toBe(0);
    expect(errors("ListOrganizationMembers", "beta")).toBe(1);
    expect(errors("ListOrganizationMembers", "acme")).toBe(0);
    api.failing.clear();
    const recovered = await collector.collect();
    expect(recovered.up).toBe(true);
    const after = await metrics.collect();
    expect(after.get("pulumi_exporter_org_up")?.map((p) => p.value)).toEqual([1, 1]);
  });

  test("a stack recreated under the same name counts its new updates; a restart replays nothing", async () => {
    await collector.collect();
    api.removeStack("beta", "api", "prod");
    api.addStack({ id: "s5", ...api1, resourceCount: 1, updates: [update(1, "succeeded", 4300, 4310)] });
    clock = 4_400_000;
    const result = await collector.collect();
    expect(result.events.map((e) => `${e.stack}:${e.version}`)).toEqual(["prod:1"]);
    expect(result.events[0]?.org).toBe("beta");

    // Recreated between two cycles without a stack id change: versions restarting reveal it.
    const recreated = api.stacks.find((s) => s.id === "s1");
    if (recreated) recreated.updates = [update(1, "succeeded", 4450, 4470)];
    clock = 4_500_000;
    const again = await collector.collect();
    expect(again.events.map((e) => `${e.org}/${e.stack}:${e.version}`)).toEqual(["acme/prod:1"]);

    const restarted = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme", "beta"],
      maxConcurrency: 4,
      cycleBudgetMs: 10_000,
      now: () => 5_000_000,
    });
    const first = await restarted.collect();
    expect(first.events).toEqual([]);
  });

  test("a stack that vanishes from one listing and comes back is not counted twice", async () => {
    await collector.collect();
    const removed = api.stacks.find((s) => s.id === "s2");
    removed?.updates.push(update(2, "succeeded", 4010, 4050));
    clock = 4_100_000;
    const counted = await collector.collect();
    expect(counted.events.map((e) => `${e.stack}:${e.version}`)).toEqual(["dev:2"]);
    api.removeStack("acme", "web", "dev");
    await collector.collect();
    if (removed) api.addStack(removed);
    const result = await collector.collect();
    expect(result.events).toEqual([]);
    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_update_total", { ...dev, kind: "update", result: "succeeded" })).toBe(1);
  });

  test("a stack missing from one listing keeps its running totals through cycles whose listing fails", async () => {
    await collector.collect();
    const hidden = api.stacks.find((s) => s.id === "s2");
    hidden?.updates.push(update(2, "succeeded", 4010, 4050));
    clock = 4_100_000;
    await collector.collect();
    const devTotal = { ...dev, kind: "update", result: "succeeded" };
    // A malformed item hides the stack from one completed listing; then the listing fails for longer than
    // the stack may miss listings: failed listings say nothing about whether it still exists.
    api.removeStack("acme", "web", "dev");
    await collector.collect();
    if (hidden) api.addStack(hidden);
    api.failing.add("ListUserStacks:acme");
    const totals: Array<number | undefined> = [];
    for (let cycle = 1; cycle <= LISTINGS_MISSED_BEFORE_GONE + 1; cycle++) {
      await collector.collect();
      totals.push(metrics.value(await metrics.collect(), "pulumi_update_total", devTotal));
    }
    expect(totals).toEqual([1, 1, 1, 1]);
    api.failing.delete("ListUserStacks:acme");
    hidden?.updates.push(update(3, "succeeded", 4200, 4260));
    const back = await collector.collect();
    expect(back.events.map((e) => `${e.stack}:${e.version}`)).toEqual(["dev:3"]);
    expect(metrics.value(await metrics.collect(), "pulumi_update_total", devTotal)).toBe(2);
  });

  test("a deleted stack's update series go after it has been missing from 3 completed listings; the others stay", async () => {
    await collector.collect();
    api.stacks
      .find((s) => s.id === "s2")
      ?.updates.push(update(2, "succeeded", 4010, 4050, "update", { create: 2 }));
    api.stacks.find((s) => s.id === "s3")?.updates.push(update(2, "failed", 4020, 4030));
    clock = 4_100_000;
    await collector.collect();
    const devTotal = { ...dev, kind: "update", result: "succeeded" };
    const apiTotal = { ...api1, kind: "update", result: "failed" };
    api.removeStack("acme", "web", "dev");
    const present: Array<number | undefined> = [];
    for (let cycle = 1; cycle <= LISTINGS_MISSED_BEFORE_GONE; cycle++) {
      await collector.collect();
      const m = await metrics.collect();
      present.push(metrics.value(m, "pulumi_update_total", devTotal));
      expect(metrics.value(m, "pulumi_update_total", apiTotal)).toBe(1);
    }
    expect(present).toEqual([1, 1, undefined]);
    const m = await metrics.collect();
    expect(m.get("pulumi_update_total")?.map((p) => p.attributes)).toEqual([apiTotal]);
    expect(m.get("pulumi_update_duration_seconds")?.map((p) => [p.attributes, p.count, p.value])).toEqual([
      [apiTotal, 1, 10],
    ]);
    expect(m.get("pulumi_update_resource_changes")).toBeUndefined();
  });
});

describe("malformed updates in a stack's history", () => {
  function setup() {
    const api = world();
    let clock = 4_000_000;
    const collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme", "beta"],
      maxConcurrency: 2,
      cycleBudgetMs: 10_000,
      now: () => clock,
    });
    return { api, collector, tick: (ms: number) => (clock += ms) };
  }

  test("a new update that arrives malformed is counted once, when it can be read", async () => {
    const { api, collector, tick } = setup();
    await collector.collect();
    const dev = api.stacks.find((s) => s.id === "s2");
    dev?.updates.push(update(2, "succeeded", 4010, 4020), update(3, "failed", 4030, 4040));
    api.malformed.add("acme/web/dev@2");
    tick(60_000);
    const broken = await collector.collect();
    expect(broken.events).toEqual([]);
    expect(broken.stats.errors).toBe(1);
    expect(broken.state.stacks.get("acme/web/dev")?.lastVersion).toBe(1);
    api.malformed.clear();
    tick(60_000);
    const fixed = await collector.collect();
    expect(fixed.events.map((e) => `${e.stack}:${e.version}`).sort()).toEqual(["dev:2", "dev:3"]);
    tick(60_000);
    expect((await collector.collect()).events).toEqual([]);
  });

  test("a stack whose newest update is malformed on the first read is not replayed later", async () => {
    const { api, collector, tick } = setup();
    api.malformed.add("acme/web/prod@3");
    const first = await collector.collect();
    expect(first.state.stacks.has("acme/web/prod")).toBe(false);
    api.malformed.clear();
    tick(60_000);
    const second = await collector.collect();
    // Its history ended before the first cycle began: nothing to count, and v3 is still running.
    expect(second.events).toEqual([]);
    expect(second.state.stacks.get("acme/web/prod")?.pending).toEqual([{ version: 3, kind: "update" }]);
  });

  test("a malformed update older than what the cycle needs does not hold the stack back", async () => {
    const { api, collector, tick } = setup();
    await collector.collect();
    api.stacks.find((s) => s.id === "s2")?.updates.push(update(2, "succeeded", 4010, 4020));
    api.malformed.add("acme/web/dev@1");
    tick(60_000);
    const result = await collector.collect();
    expect(result.events.map((e) => `${e.stack}:${e.version}`)).toEqual(["dev:2"]);
    expect(result.stats.errors).toBe(0);
  });
});

describe("cycle limits", () => {
  test("never exceeds the concurrency limit", async () => {
    const api = world();
    for (let i = 0; i < 40; i++) {
      api.addStack({
        id: `x${i}`,
        org: "acme",
        project: "x",
        stack: `s${i}`,
        updates: [update(1, "succeeded", 1, 2)],
      });
    }
    let active = 0;
    let peak = 0;
    const original = api.getStackUpdates.bind(api);
    api.getStackUpdates = async (ref, page, size) => {
      active++;
      peak = Math.max(peak, active);
      await Bun.sleep(1);
      active--;
      return original(ref, page, size);
    };
    const collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme", "beta"],
      maxConcurrency: 3,
      cycleBudgetMs: 10_000,
    });
    await collector.collect();
    expect(peak).toBe(3);
  });

  test("history reads start while later pages of the stack list are still loading", async () => {
    const api = world();
    for (let i = 0; i < 150; i++) {
      api.addStack({
        id: `p${i}`,
        org: "acme",
        project: "bulk",
        stack: `s${i}`,
        resourceCount: 1,
        updates: [],
      });
    }
    const events: string[] = [];
    const list = api.listStacks.bind(api);
    api.listStacks = async (org, onPage) => {
      const all = await list(org);
      for (let i = 0; i < all.length; i += 100) {
        events.push(`page ${i / 100 + 1}`);
        onPage?.(all.slice(i, i + 100));
        await Bun.sleep(5);
      }
      events.push("listed");
      return all;
    };
    const read = api.getStackUpdates.bind(api);
    api.getStackUpdates = async (ref, page, size) => {
      if (!events.includes("read")) events.push("read");
      return read(ref, page, size);
    };
    const collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme"],
      maxConcurrency: 4,
      cycleBudgetMs: 10_000,
    });
    const result = await collector.collect();
    expect(result.stats.stacks).toBe(152);
    expect(events.indexOf("read")).toBeLessThan(events.indexOf("listed"));
    expect(events.slice(0, 2)).toEqual(["page 1", "read"]);
  });

  test("a cycle is cut off at its budget; org values still land and hung stacks keep their values", async () => {
    const api = world();
    let clock = 4_000_000;
    const collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme", "beta"],
      maxConcurrency: 2,
      cycleBudgetMs: 50,
      now: () => clock,
    });
    await collector.collect();
    const acme = api.orgs.get("acme");
    if (acme) acme.members = 9;
    api.stacks.find((s) => s.id === "s2")?.updates.push(update(2, "succeeded", 4010, 4020));
    api.getStackUpdates = () => new Promise(() => {});
    clock = 4_100_000;
    const result = await collector.collect();
    expect(result.stats.timedOut).toBe(true);
    expect(result.events).toEqual([]);
    expect(result.state.orgs.get("acme")?.members).toBe(9);
    expect(result.state.stacks.get("acme/web/dev")?.lastVersion).toBe(1);
  });
});

describe("cycle deadline", () => {
  test("calls still running at the deadline are cancelled, freeing their slots", async () => {
    const api = world();
    let cancelled = 0;
    let started = 0;
    api.withSignal = (signal) => {
      api.getStackUpdates = () => {
        started++;
        return new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            cancelled++;
            reject(new Error("cancelled at the cycle deadline"));
          }),
        );
      };
      return api;
    };
    const collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme", "beta"],
      maxConcurrency: 2,
      cycleBudgetMs: 50,
    });
    const result = await collector.collect();
    expect(result.stats.timedOut).toBe(true);
    expect(started).toBe(2);
    expect(cancelled).toBe(2);
  });
});

describe("API economy", () => {
  test("1,000 stacks with 2 % changing per cycle cost under 1/20 of the Go exporter's calls", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    for (let i = 0; i < 1000; i++) {
      api.addStack({
        id: `s${i}`,
        org: "acme",
        project: `p${i % 10}`,
        stack: `s${i}`,
        resourceCount: 10,
        updates: [update(1, "succeeded", 1000, 1100)],
      });
    }
    let clock = 2_000_000;
    const collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["acme"],
      maxConcurrency: 10,
      cycleBudgetMs: 60_000,
      now: () => clock,
    });
    await collector.collect();
    // Go: every stack-list page, 2 calls per stack, ~10 per org.
    const goCalls = Math.ceil(1000 / 100) + 2 * 1000 + 10;
    const steady: number[] = [];
    for (let cycle = 1; cycle <= 5; cycle++) {
      clock += 60_000;
      for (let i = 0; i < 20; i++) {
        const stack = api.stacks[(cycle * 20 + i) % 1000];
        const t = clock / 1000 - 30;
        stack?.updates.push(update((stack?.updates.length ?? 0) + 1, "succeeded", t, t + 10));
      }
      api.resetCalls();
      const result = await collector.collect();
      expect(result.events).toHaveLength(20);
      steady.push(api.totalCalls);
    }
    // 10 stack-list pages + 20 histories + 12 org calls (the inventory, the plan, the agent pool list) + 1 page of
    // deployments (nothing new) + 17 drift reads (⌈1,000 stacks × 1 min ÷ 1 h⌉).
    expect(steady).toEqual([60, 60, 60, 60, 60]);
    expect(Math.max(...steady)).toBeLessThanOrEqual(goCalls / 20);
  });
});
