import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OPERATIONS, ROUTES } from "../../src/sim/operations.ts";
import { type Api, start } from "./helpers.ts";
import { loadSpecValidator, type SpecValidator } from "./spec.ts";

let spec: SpecValidator;
let api: Api;

beforeAll(async () => {
  spec = await loadSpecValidator();
  api = await start();
});
afterAll(() => api.sim.stop());

function teamOf(model: Api["sim"]["model"], org: string): string {
  return model.org(org)?.teams[0]?.name ?? "missing";
}

/** Several requests per operation: first pages, later pages, other orgs, query options. */
function samples(): Record<string, string[]> {
  const model = api.sim.model;
  const stacks = model.listStacks();
  const running = stacks.find(
    (s) => model.stack({ org: s.orgName, project: s.projectName, stack: s.stackName })?.isRunning,
  );
  const picks = [stacks[0], stacks[stacks.length - 1], running].filter((s) => s !== undefined);
  const stackPaths = picks.map((s) => `/api/stacks/${s.orgName}/${s.projectName}/${s.stackName}`);
  const orgs = model.orgNames();
  const drifted = orgs.flatMap((org) =>
    (model.org(org)?.deployments.records ?? [])
      .filter((d) => d.operation === "detect-drift" && d.status === "succeeded")
      .map((d) => `/api/stacks/${org}/${d.project}/${d.stack}`),
  );
  const perOrg = (suffix: string) => orgs.map((org) => suffix.replace("{org}", org));
  return {
    ListUserStacks: [
      "/api/user/stacks",
      "/api/user/stacks?organization=org-2&maxResults=3",
      "/api/user/stacks?maxResults=1000",
    ],
    GetStackResourceCount: stackPaths.map((p) => `${p}/resources/count`),
    GetStackUpdates: stackPaths.flatMap((p) => [
      `${p}/updates`,
      `${p}/updates?output-type=service&page=2&pageSize=5`,
    ]),
    ListStackDeploymentsHandlerV2: stackPaths.map((p) => `${p}/deployments?page=1&pageSize=100`),
    ListOrgDeployments: [
      ...perOrg("/api/orgs/{org}/deployments"),
      "/api/orgs/org-1/deployments?page=2&pageSize=20&asc=true",
    ],
    OrgDeploymentsMetadata: perOrg("/api/orgs/{org}/deployments/metadata"),
    ListOrganizationMembers: [...perOrg("/api/orgs/{org}/members"), "/api/orgs/org-1/members?type=backend"],
    ListTeams: perOrg("/api/orgs/{org}/teams"),
    ListOrgEnvironments_esc: [
      ...perOrg("/api/esc/environments/{org}"),
      "/api/esc/environments/org-1?maxResults=50",
    ],
    ListPolicyGroups: perOrg("/api/orgs/{org}/policygroups"),
    ListPolicyPacks_orgs: perOrg("/api/orgs/{org}/policypacks"),
    ListPolicyViolationsV2: perOrg("/api/orgs/{org}/policyresults/violationsv2"),
    GetPolicyResultsMetadata: perOrg("/api/orgs/{org}/policyresults/metadata"),
    ListTasks: [
      ...perOrg("/api/preview/agents/{org}/tasks"),
      "/api/preview/agents/org-2/tasks?pageSize=1000&sortBy=name",
    ],
    GetOrgNeoTokenBudget: ["/api/orgs/org-1/neo/token-budget", "/api/orgs/org-2/neo/token-budget"],
    GetCurrentUser: ["/api/user", "/api/user?"],
    ListOrgAgentPool: perOrg("/api/orgs/{org}/agent-pools"),
    GetAgentPool: ["/api/orgs/org-1/agent-pools/org-1-pool-1", "/api/orgs/org-2/agent-pools/org-2-pool-2"],
    GetOrganizationMetadata: perOrg("/api/orgs/{org}/metadata"),
    ListOrgTokens: perOrg("/api/orgs/{org}/tokens"),
    ListPersonalTokens: ["/api/user/tokens", "/api/user/tokens?filter=laptop"],
    // Stacks with a drift run (its `drift`) and without.
    StackDeploymentsMetadata: [...drifted.slice(0, 2), ...stackPaths].map((p) => `${p}/deployments/metadata`),
    ListTeamTokens: perOrg(`/api/orgs/{org}/teams/${teamOf(model, "org-1")}/tokens`)
      .slice(0, 1)
      .concat(`/api/orgs/org-2/teams/${teamOf(model, "org-2")}/tokens`),
  };
}

async function validateAll(): Promise<number> {
  let checked = 0;
  for (const [operation, paths] of Object.entries(samples())) {
    expect(paths.length).toBeGreaterThanOrEqual(2);
    for (const path of paths) {
      const body = await api.json(path);
      expect({ operation, path, errors: spec.validate(operation, body) }).toEqual({
        operation,
        path,
        errors: [],
      });
      checked++;
    }
  }
  return checked;
}

describe("routes", () => {
  test("serve exactly the operations of openapi/operations.json at the spec's paths", async () => {
    const { operations } = (await Bun.file("openapi/operations.json").json()) as {
      operations: Record<string, unknown>;
    };
    expect([...OPERATIONS].sort() as string[]).toEqual(Object.keys(operations).sort());
    for (const route of ROUTES)
      expect(spec.operations.get(route.operation)).toEqual({ path: route.path, method: "get" });
  });
});

describe("every response validates against the official spec merged with the overlay", () => {
  test("at the start", async () => {
    expect(await validateAll()).toBeGreaterThanOrEqual(40);
  });

  test("after ticks with churn, new and deleted stacks", async () => {
    const report = api.sim.tick(15);
    expect(report.updatesStarted + report.updatesFinished).toBeGreaterThan(0);
    expect(await validateAll()).toBeGreaterThanOrEqual(40);
  });

  test("a stack without updates", async () => {
    const model = api.sim.model;
    for (let i = 0; i < 50 && !model.listStacks().some((s) => s.lastUpdate === undefined); i++) {
      api.sim.tick(1);
    }
    const fresh = model.listStacks().find((s) => s.lastUpdate === undefined);
    if (!fresh) throw new Error("no stack without updates appeared");
    const base = `/api/stacks/${fresh.orgName}/${fresh.projectName}/${fresh.stackName}`;
    const updates = await api.json(`${base}/updates?page=1&pageSize=10`);
    expect(updates).toEqual({ updates: [], itemsPerPage: 10, total: 0 });
    expect(spec.validate("GetStackUpdates", updates)).toEqual([]);
    const count = await api.json(`${base}/resources/count`);
    expect(count).toEqual({ resourceCount: 0, version: 0 });
    expect(spec.validate("GetStackResourceCount", count)).toEqual([]);
  });

  test("the invalid-item fault breaks exactly the schema, for every operation", async () => {
    api.sim.setFaults([{ type: "invalid-item" }]);
    try {
      for (const [operation, paths] of Object.entries(samples())) {
        const body = await api.json(paths[0] as string);
        const errors = spec.validate(operation, body);
        expect({ operation, count: errors.length }).toEqual({ operation, count: 1 });
        expect(errors[0]).toContain("must have required property");
      }
    } finally {
      api.sim.clearFaults();
    }
  });
});
