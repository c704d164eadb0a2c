import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import type { Family } from "../../src/families.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";

const MINUTE = 60_000;

function setup(options: { orgIntervalMs?: number; disabled?: readonly Family[] } = {}) {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg({ members: 7, teams: 2 }));
  api.addStack({ id: "s1", org: "acme", project: "web", stack: "prod", resourceCount: 4, updates: [] });
  let clock = 10 * MINUTE;
  const collector = new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 4,
    cycleBudgetMs: 10_000,
    now: () => clock,
    ...(options.orgIntervalMs ? { orgIntervalMs: options.orgIntervalMs } : {}),
    ...(options.disabled ? { disabled: new Set(options.disabled) } : {}),
  });
  const cycle = async (advanceMs: number) => {
    clock += advanceMs;
    api.resetCalls();
    const result = await collector.collect();
    return { result, calls: Object.fromEntries(api.calls) };
  };
  return { api, collector, cycle };
}

describe("the organization cadence", () => {
  test("inventory is read once per org interval, deployment counts and stacks every cycle; values stay", async () => {
    const { api, collector, cycle } = setup({ orgIntervalMs: 5 * MINUTE });
    const first = await cycle(0);
    expect(first.result.stats.apiCalls).toBe(18);
    expect(first.calls).toEqual({
      ListUserStacks: 1,
      GetStackUpdates: 1,
      OrgDeploymentsMetadata: 1,
      ListOrgDeployments: 1,
      ListOrganizationMembers: 1,
      ListTeams: 1,
      ListOrgEnvironments_esc: 1,
      ListPolicyGroups: 1,
      ListPolicyPacks_orgs: 1,
      ListPolicyViolationsV2: 1,
      GetPolicyResultsMetadata: 1,
      ListTasks: 1,
      GetOrgNeoTokenBudget: 1,
      ListOrgAgentPool: 1,
      GetOrganizationMetadata: 1,
      ListOrgTokens: 1,
      GetCurrentUser: 1,
      // The one stack's drift: never read before. Not again within the refresh (1 h by default).
      StackDeploymentsMetadata: 1,
    });
    api.orgs.set("acme", fakeOrg({ members: 9, teams: 2 }));
    const second = await cycle(MINUTE);
    expect(second.calls).toEqual({
      ListUserStacks: 1,
      OrgDeploymentsMetadata: 1,
      ListOrgDeployments: 1,
      ListOrgAgentPool: 1,
    });
    expect(second.result.stats.apiCalls).toBe(4);
    const readings = snapshotReadings(collector.snapshot ?? expect.unreachable());
    expect(readings.get("orgMemberCount")).toEqual([{ attributes: { org: "acme" }, value: 7 }]);
    // 4 minutes later: 5 minutes since the first read, so the inventory is due again.
    const due = await cycle(4 * MINUTE);
    expect(due.calls.ListOrganizationMembers).toBe(1);
    // The plan is on the organization cadence too; the tokens are hourly.
    expect(due.calls.GetOrganizationMetadata).toBe(1);
    expect(due.calls.ListOrgTokens).toBeUndefined();
    expect(due.result.stats.apiCalls).toBe(14);
    const fresh = snapshotReadings(collector.snapshot ?? expect.unreachable());
    expect(fresh.get("orgMemberCount")).toEqual([{ attributes: { org: "acme" }, value: 9 }]);
  });

  test("a failed inventory read is retried the next cycle, not an interval later", async () => {
    const { api, cycle } = setup({ orgIntervalMs: 5 * MINUTE });
    api.failing.add("ListTeams");
    const first = await cycle(0);
    expect(first.result.errors).toEqual([{ operation: "ListTeams", org: "acme" }]);
    api.failing.delete("ListTeams");
    const second = await cycle(MINUTE);
    expect(second.calls).toEqual({
      ListUserStacks: 1,
      OrgDeploymentsMetadata: 1,
      ListOrgDeployments: 1,
      ListOrgAgentPool: 1,
      ListTeams: 1,
    });
  });
});

describe("--metrics.disable", () => {
  test("disabled families make no API calls and export no series", async () => {
    const off: Family[] = ["policy", "neo", "esc", "deployments", "agent-pools", "plan", "tokens", "drift"];
    const { collector, cycle } = setup({ disabled: off });
    const first = await cycle(0);
    expect(first.calls).toEqual({
      ListUserStacks: 1,
      GetStackUpdates: 1,
      ListOrganizationMembers: 1,
      ListTeams: 1,
    });
    const disabled = new Set<Family>(off);
    const readings = snapshotReadings(collector.snapshot ?? expect.unreachable(), disabled);
    expect([...readings.keys()]).toEqual([
      "stackResourceCount",
      "orgMemberCount",
      "orgTeamCount",
      "exporterUp",
      "exporterOrgUp",
      "exporterCollectDuration",
      "exporterLastSuccess",
      "exporterBuildInfo",
    ]);
  });

  test("with stacks and updates off no stack is listed, and the exporter is still up", async () => {
    const { cycle } = setup({ disabled: ["stacks", "updates", "drift"] });
    const first = await cycle(0);
    expect(first.calls.ListUserStacks).toBeUndefined();
    expect(first.calls.GetStackUpdates).toBeUndefined();
    expect(first.result.up).toBe(true);
    expect(first.result.state.stacks.size).toBe(0);
  });

  test("with stacks and updates off and drift on, the stacks are listed for drift, their histories not read", async () => {
    const { cycle } = setup({ disabled: ["stacks", "updates"] });
    const first = await cycle(0);
    expect(first.calls.ListUserStacks).toBe(1);
    expect(first.calls.GetStackUpdates).toBeUndefined();
    expect(first.calls.StackDeploymentsMetadata).toBe(1);
    expect(first.result.state.stacks.size).toBe(0);
  });

  test("with updates off the histories are still read for the stack gauges", async () => {
    const { cycle } = setup({ disabled: ["updates"] });
    const first = await cycle(0);
    expect(first.calls.GetStackUpdates).toBe(1);
  });
});
