/**
 * Label values from the API are bounded: the values the spec lists, plus `other` for anything else, counted in
 * pulumi_exporter_unknown_values_total. Exact series, through the collector and the catalog's instruments.
 */
import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import type { Violation } from "../../src/pulumi/api.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { type MemoryMetrics, memoryMetrics, type Point } from "../support/memory-metrics.ts";

const LEVELS = ["advisory", "mandatory", "remediate", "disabled", "other"];
const KINDS = ["audit", "preventative", "other"];
const prod = { org: "acme", project: "web", stack: "prod" };

function setup(api: FakeApi) {
  let clock = 4_000_000;
  let collector: Collector | undefined;
  const metrics: MemoryMetrics = memoryMetrics(() =>
    collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined,
  );
  collector = new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 4,
    cycleBudgetMs: 10_000,
    onCycle: (result) => metrics.instruments.recordCycle(result),
    now: () => clock,
  });
  const cycle = async (): Promise<Map<string, Point[]>> => {
    clock += 60_000;
    await collector.collect();
    return metrics.collect();
  };
  return { metrics, cycle };
}

/** `level|kind` → value of every pulumi_org_policy_violations series, sorted. */
function violationRows(m: Map<string, Point[]>): Array<[string, number]> {
  return (m.get("pulumi_org_policy_violations") ?? [])
    .map((p): [string, number] => [`${p.attributes.level}|${p.attributes.kind}`, p.value])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** Every level × kind at 0, with `counts` on top. */
function expectedViolations(counts: Record<string, number>): Array<[string, number]> {
  return LEVELS.flatMap((level) => KINDS.map((kind): [string, number] => [`${level}|${kind}`, 0]))
    .map(([key]): [string, number] => [key, counts[key] ?? 0])
    .sort(([a], [b]) => a.localeCompare(b));
}

function unknownValues(m: Map<string, Point[]>): Record<string, number> {
  return Object.fromEntries(
    (m.get("pulumi_exporter_unknown_values_total") ?? []).map((p) => [
      `${p.attributes.operation}.${p.attributes.field}`,
      p.value,
    ]),
  );
}

const NO_UNKNOWN_VALUES = {
  "ListPolicyViolationsV2.level": 0,
  "ListPolicyViolationsV2.kind": 0,
  "ListTasks.status": 0,
  "ListOrgDeployments.status": 0,
  "ListOrgDeployments.pulumiOperation": 0,
  "GetStackUpdates.kind": 0,
  "GetStackUpdates.resourceChanges": 0,
  "GetOrganizationMetadata.product": 0,
  "GetOrganizationMetadata.subscriptionStatus": 0,
};

describe("label values from the API are bounded", () => {
  test("200,000 distinct violation levels give the 15 level × kind series, unknown ones under other", async () => {
    const violations: Violation[] = Array.from({ length: 200_000 }, (_, i) => ({
      level: `level-${i}`,
      kind: i % 4 === 0 ? "preventative" : "audit",
    }));
    violations.push(
      { level: "mandatory", kind: "preventative" },
      { level: "mandatory", kind: "preventative" },
      { level: "disabled", kind: "audit" },
      { level: "advisory", kind: "enforced-later" },
      { level: "constructor", kind: "__proto__" },
      { level: "", kind: "" },
    );
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg({ violations }));
    const { cycle, metrics } = setup(api);
    const m = await cycle();
    expect(violationRows(m)).toEqual(
      expectedViolations({
        "other|audit": 150_000,
        "other|preventative": 50_000,
        "other|other": 2,
        "mandatory|preventative": 2,
        "disabled|audit": 1,
        "advisory|other": 1,
      }),
    );
    expect(unknownValues(m)).toEqual({
      ...NO_UNKNOWN_VALUES,
      "ListPolicyViolationsV2.level": 200_002,
      "ListPolicyViolationsV2.kind": 3,
    });
    await metrics.shutdown();
  });

  test("an unknown value that disappears is no longer reported; each read counts its unknown values", async () => {
    const api = new FakeApi();
    const acme = fakeOrg({
      violations: [{ level: "legacy", kind: "audit" }],
      neoTasks: [
        { id: "t1", status: "paused", createdAt: "2026-11-02T10:00:00Z" },
        { id: "t2", status: "constructor", createdAt: "2026-11-02T10:00:00Z" },
        { id: "t3", status: "idle", createdAt: "2026-11-02T10:00:00Z" },
      ],
    });
    api.orgs.set("acme", acme);
    const { cycle } = setup(api);
    await cycle();
    const second = await cycle();
    expect(violationRows(second)).toEqual(expectedViolations({ "other|audit": 1 }));
    expect(second.get("pulumi_org_neo_task_count")).toEqual([
      { attributes: { org: "acme", status: "running" }, value: 0 },
      { attributes: { org: "acme", status: "idle" }, value: 1 },
      { attributes: { org: "acme", status: "other" }, value: 2 },
    ]);

    acme.violations = [{ level: "advisory", kind: "audit" }];
    acme.neoTasks = [];
    const third = await cycle();
    expect(violationRows(third)).toEqual(expectedViolations({ "advisory|audit": 1 }));
    expect(third.get("pulumi_org_neo_task_count")).toEqual([
      { attributes: { org: "acme", status: "running" }, value: 0 },
      { attributes: { org: "acme", status: "idle" }, value: 0 },
      { attributes: { org: "acme", status: "other" }, value: 0 },
    ]);
    expect(unknownValues(third)).toEqual({
      ...NO_UNKNOWN_VALUES,
      "ListPolicyViolationsV2.level": 2,
      "ListTasks.status": 4,
    });
  });

  test("deployment statuses from the deployment list: unknown ones under other", async () => {
    const api = new FakeApi();
    const statuses = ["succeeded", "queued", "constructor", "failed", "succeeded"];
    api.orgs.set(
      "acme",
      fakeOrg({
        deployments: statuses.map((status, i) => ({
          id: `d${i}`,
          status,
          created: "2026-11-01 10:00:00.000",
          modified: "2026-11-01 10:05:00.000",
        })),
      }),
    );
    api.failing.add("OrgDeploymentsMetadata");
    const { cycle } = setup(api);
    const m = await cycle();
    expect(m.get("pulumi_deployment_status")).toEqual([
      { attributes: { org: "acme", status: "not-started" }, value: 0 },
      { attributes: { org: "acme", status: "accepted" }, value: 0 },
      { attributes: { org: "acme", status: "running" }, value: 0 },
      { attributes: { org: "acme", status: "failed" }, value: 1 },
      { attributes: { org: "acme", status: "succeeded" }, value: 2 },
      { attributes: { org: "acme", status: "skipped" }, value: 0 },
      { attributes: { org: "acme", status: "other" }, value: 2 },
    ]);
    expect(unknownValues(m)).toEqual({ ...NO_UNKNOWN_VALUES, "ListOrgDeployments.status": 2 });
  });

  test("an unknown update kind and unknown resource operations are counted under other", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    const stack = api.addStack({
      id: "s1",
      ...prod,
      resourceCount: 3,
      updates: [update(1, "succeeded", 1000, 1010), update(2, "in-progress", 4_000, undefined, "teleport")],
    });
    const { cycle } = setup(api);
    const running = await cycle();
    expect(running.get("pulumi_stack_update_in_progress")).toEqual([
      { attributes: { ...prod, kind: "other" }, value: 1 },
    ]);

    stack.updates.splice(
      1,
      1,
      update(2, "succeeded", 4_000, 4_040, "teleport", { create: 1, warp: 3, vanish: 2, constructor: 1 }),
      update(3, "failed", 4_050, 4_070, "Pupdate", { "create-replacement": 2, same: 0 }),
    );
    const m = await cycle();
    const other = { ...prod, kind: "other" };
    expect(m.get("pulumi_update_total")).toEqual([
      { attributes: { ...other, result: "succeeded" }, value: 1 },
      { attributes: { ...prod, kind: "Pupdate", result: "failed" }, value: 1 },
    ]);
    expect(m.get("pulumi_update_duration_seconds")?.map((p) => [p.attributes, p.count, p.value])).toEqual([
      [{ ...other, result: "succeeded" }, 1, 40],
      [{ ...prod, kind: "Pupdate", result: "failed" }, 1, 20],
    ]);
    expect(m.get("pulumi_update_resource_changes")).toEqual([
      { attributes: { ...other, operation: "create" }, value: 1 },
      { attributes: { ...other, operation: "other" }, value: 6 },
      { attributes: { ...prod, kind: "Pupdate", operation: "create-replacement" }, value: 2 },
    ]);
    expect(m.get("pulumi_stack_update_in_progress")).toBeUndefined();
    expect(unknownValues(m)).toEqual({
      ...NO_UNKNOWN_VALUES,
      "GetStackUpdates.kind": 1,
      "GetStackUpdates.resourceChanges": 3,
    });
  });
});
