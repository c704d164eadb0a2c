/**
 * The Pulumi API half of the fault matrix: the simulator injects each fault while the real client and collector
 * run cycles. For each: the cycle completes, what the fault did not touch equals the truth, errors land in the
 * self-metrics with exact values, retries never count an update twice, and once the fault clears the next cycle
 * equals the truth.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { ORG_SOURCES } from "../../src/collect/sources/index.ts";
import type { NeoTask } from "../../src/pulumi/types.ts";
import { FLEET, failedSteps, ORGS, RIG_DISABLED, type Rig, startRig } from "../support/reliability-rig.ts";
import {
  adjust,
  changes,
  drop,
  pick,
  type Series,
  STACK_GAUGES,
  seriesKey,
  stale,
  TRUTH_FAMILIES,
  UPDATE_COUNTERS,
  withLabels,
  withoutLabels,
} from "../support/reliability-truth.ts";

const REQUESTS = "pulumi_exporter_api_requests_total";
const RETRIES = "pulumi_exporter_api_retries_total";
const DROPPED = "pulumi_exporter_items_dropped_total";
const ERRORS = "pulumi_exporter_collect_errors_total";

/** The first operation of each step an organization runs in its first cycle. */
const RIG_SOURCES = ORG_SOURCES.filter((source) => !RIG_DISABLED.has(source.family));
const FIRST_CYCLE_OPERATIONS = [
  "ListUserStacks",
  ...RIG_SOURCES.map((source) => source.operations[0]),
] as const;
/**
 * Those it retries in the next cycles after a failure: not the hourly token reads (not due after a success, and
 * switched off for a day by a 403).
 */
const ORG_OPERATIONS = [
  "ListUserStacks",
  ...RIG_SOURCES.filter((source) => typeof source.cadence === "string").map((source) => source.operations[0]),
] as const;
/**
 * Every request of those steps when each fails at once: each step's, and the deployment counts' fallback to the
 * deployment list, which is also the deployments source's operation.
 */
function requestsOf(operations: readonly string[]): string[] {
  return [...operations, "ListOrgDeployments"];
}
const ORG_REQUESTS = requestsOf(ORG_OPERATIONS);

/** `n` for each operation, summed where it repeats: `{ "ListTeams 403": 1, "ListOrgDeployments 403": 2, … }`. */
function perRequest(operations: readonly string[], suffix: string, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const operation of operations) {
    const key = suffix ? `${operation} ${suffix}` : operation;
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function start(options: Parameters<typeof startRig>[0] = {}): Promise<Rig> {
  rig = await startRig(options);
  return rig;
}

/** An org without a Neo budget answers 404 there: the normal answer, not a failure. */
const NO_BUDGET = seriesKey(REQUESTS, { operation: "GetOrgNeoTokenBudget", code: "404" });

/** Requests that failed, by operation and code, from `before` to `after`. */
function failedRequests(before: Series, after: Series): Series {
  const all = changes(before, after, REQUESTS);
  return Object.fromEntries(
    Object.entries(all).filter(([key]) => !key.includes('code="200"') && key !== NO_BUDGET),
  );
}

function perOperation(family: string, counts: Readonly<Record<string, number>>): Series {
  return Object.fromEntries(
    Object.entries(counts).map(([operation, n]) => [seriesKey(family, { operation }), n]),
  );
}

/** Collection errors by `"operation org"`. */
function collectErrors(counts: Readonly<Record<string, number>>): Series {
  return Object.fromEntries(
    Object.entries(counts).map(([at, n]) => {
      const [operation = "", org = ""] = at.split(" ");
      return [seriesKey(ERRORS, { operation, org }), n];
    }),
  );
}

function requests(counts: Readonly<Record<string, number>>): Series {
  return Object.fromEntries(
    Object.entries(counts).map(([at, n]) => {
      const [operation = "", code = ""] = at.split(" ");
      return [seriesKey(REQUESTS, { operation, code }), n];
    }),
  );
}

/** GET from the simulator as the client would (the model only changes on tick). */
async function simGet(r: Rig, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${r.sim.url}${path}`, { headers: { authorization: `token ${r.sim.token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** The exporter's series the truth covers. */
async function covered(r: Rig): Promise<Series> {
  return pick(await r.actual(), TRUTH_FAMILIES);
}

/** A clean cycle: everything equals the truth. Returns the truth it was checked against. */
async function cleanCycle(r: Rig): Promise<Series> {
  r.sim.clearFaults();
  const result = await r.cycle();
  expect(result.up).toBe(true);
  expect(result.stats.errors).toBe(0);
  const expected = r.truth.expected();
  expect(await covered(r)).toEqual(expected);
  return expected;
}

describe("Pulumi API faults", () => {
  test("429 with Retry-After: each retry waits as asked and the cycle is complete and exact", async () => {
    const r = await start();
    await cleanCycle(r);
    r.tick();
    r.sim.setFaults([
      { type: "status", status: 429, retryAfter: 7, operation: "ListUserStacks", times: 2 },
      { type: "status", status: 429, retryAfter: 3, operation: "GetStackUpdates", times: 3 },
    ]);
    const before = await r.actual();
    r.sleeps.length = 0;
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(true);
    expect(result.stats.errors).toBe(0);
    expect(r.sleeps.sort((a, b) => a - b)).toEqual([3000, 3000, 3000, 7000, 7000]);
    expect(changes(before, after, RETRIES)).toEqual(
      perOperation(RETRIES, { ListUserStacks: 2, GetStackUpdates: 3 }),
    );
    expect(failedRequests(before, after)).toEqual(
      requests({ "ListUserStacks 429": 2, "GetStackUpdates 429": 3 }),
    );
    expect(changes(before, after, ERRORS)).toEqual({});
    expect(r.truth.countedUpdates()).toBeGreaterThan(0);
    expect(pick(after, TRUTH_FAMILIES)).toEqual(r.truth.expected());

    r.tick();
    await cleanCycle(r);
  });

  test("429 past the retries for one org: that org keeps its values, the others are exported, up is 0", async () => {
    const r = await start();
    const first = await cleanCycle(r);
    r.tick();
    r.sim.setFaults([
      { type: "status", status: 429, retryAfter: 1, operation: "ListUserStacks", org: "org-2" },
    ]);
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(false);
    expect(await r.value("pulumi_exporter_up")).toBe(0);
    expect(changes(before, after, ERRORS)).toEqual(collectErrors({ "ListUserStacks org-2": 1 }));
    expect(changes(before, after, RETRIES)).toEqual(perOperation(RETRIES, { ListUserStacks: 4 }));
    expect(failedRequests(before, after)).toEqual(requests({ "ListUserStacks 429": 5 }));
    const stackFamilies = [
      "pulumi_stack_resource_count",
      "pulumi_stack_last_update_timestamp",
      "pulumi_stack_update_in_progress",
      "pulumi_update_total",
      "pulumi_update_resource_changes",
      "pulumi_update_duration_seconds_count",
      "pulumi_update_duration_seconds_sum",
    ];
    expect(pick(after, TRUTH_FAMILIES)).toEqual(
      stale(r.truth.expected(), first, { org: "org-2" }, stackFamilies),
    );
    expect(failedSteps(r.logs).map((s) => `${s.operation} ${s.org} ${s.error}`)).toEqual([
      "ListUserStacks org-2 ListUserStacks: HTTP 429 Too Many Requests after 5 attempts (Too Many Requests)",
    ]);

    r.tick();
    await cleanCycle(r);
    expect(await r.value("pulumi_exporter_up")).toBe(1);
  });

  test("500, 502 and 503 bursts are retried; the cycle is exact and nothing is counted twice", async () => {
    const r = await start();
    await cleanCycle(r);
    r.tick();
    r.sim.setFaults([
      { type: "status", status: 500, operation: "GetStackUpdates", times: 6 },
      { type: "status", status: 502, operation: "ListOrganizationMembers", times: 2 },
      { type: "status", status: 503, operation: "ListTasks", times: 4 },
      { type: "status", status: 503, operation: "ListUserStacks", times: 3 },
    ]);
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(true);
    expect(result.stats.errors).toBe(0);
    expect(failedRequests(before, after)).toEqual(
      requests({
        "GetStackUpdates 500": 6,
        "ListOrganizationMembers 502": 2,
        "ListTasks 503": 4,
        "ListUserStacks 503": 3,
      }),
    );
    expect(changes(before, after, RETRIES)).toEqual(
      perOperation(RETRIES, {
        GetStackUpdates: 6,
        ListOrganizationMembers: 2,
        ListTasks: 4,
        ListUserStacks: 3,
      }),
    );
    expect(pick(after, TRUTH_FAMILIES)).toEqual(r.truth.expected());

    r.tick(2);
    await cleanCycle(r);
  });

  test("a deployments metadata outage falls back to the deployment list; both failing keeps the old counts", async () => {
    const r = await start();
    const first = await cleanCycle(r);
    r.tick();
    r.sim.setFaults([{ type: "status", status: 503, operation: "OrgDeploymentsMetadata", org: "org-1" }]);
    let before = await r.actual();
    let result = await r.cycle();
    let after = await r.actual();
    expect(result.stats.errors).toBe(0);
    expect(failedRequests(before, after)).toEqual(requests({ "OrgDeploymentsMetadata 503": 5 }));
    expect(pick(after, TRUTH_FAMILIES)).toEqual(r.truth.expected());

    r.tick();
    r.sim.addFaults([
      { type: "status", status: 500, operation: "ListOrgDeployments", org: "org-1", message: "db" },
    ]);
    before = after;
    result = await r.cycle();
    after = await r.actual();
    expect(result.up).toBe(true);
    // The deployments source reads the same list, and fails with it.
    expect(changes(before, after, ERRORS)).toEqual(
      collectErrors({ "OrgDeploymentsMetadata org-1": 1, "ListOrgDeployments org-1": 1 }),
    );
    expect(failedRequests(before, after)).toEqual(
      requests({ "OrgDeploymentsMetadata 503": 5, "ListOrgDeployments 500": 2 * 5 }),
    );
    // org-1 keeps the counts of the cycle before (which the fallback read), not those of the first cycle.
    const current = r.truth.expected();
    expect(withLabels(pick(after, ["pulumi_deployment_status"]), { org: "org-1" })).not.toEqual(
      withLabels(pick(first, ["pulumi_deployment_status"]), { org: "org-1" }),
    );
    expect(pick(after, TRUTH_FAMILIES)).toEqual(
      stale(current, before, { org: "org-1" }, ["pulumi_deployment_status"]),
    );
    // The two steps fail side by side: their lines come in either order.
    const steps = failedSteps(r.logs).sort((x, y) => x.operation.localeCompare(y.operation));
    expect(steps).toEqual([
      {
        operation: "ListOrgDeployments",
        org: "org-1",
        stack: undefined,
        error: "ListOrgDeployments: HTTP 500 Internal Server Error after 5 attempts (db)",
      },
      {
        operation: "OrgDeploymentsMetadata",
        org: "org-1",
        stack: undefined,
        error: "OrgDeploymentsMetadata: HTTP 503 Service Unavailable after 5 attempts",
      },
    ]);

    r.tick();
    await cleanCycle(r);
  });

  test("hangs and trickling bodies past the request timeout are abandoned and retried", async () => {
    const r = await start({ timeoutMs: 150 });
    const first = await cleanCycle(r);
    r.tick();
    r.sim.setFaults([
      { type: "hang", operation: "ListPolicyPacks_orgs", times: 2 },
      { type: "hang", operation: "GetStackUpdates", times: 2 },
      { type: "slow-body", operation: "ListTeams", org: "org-3", chunkBytes: 4, intervalMs: 60, times: 1 },
      { type: "hang", operation: "GetPolicyResultsMetadata", org: "org-3" },
    ]);
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(true);
    expect(failedRequests(before, after)).toEqual(
      requests({
        "ListPolicyPacks_orgs timeout": 2,
        "GetStackUpdates timeout": 2,
        "ListTeams timeout": 1,
        "GetPolicyResultsMetadata timeout": 5,
      }),
    );
    expect(changes(before, after, RETRIES)).toEqual(
      perOperation(RETRIES, {
        ListPolicyPacks_orgs: 2,
        GetStackUpdates: 2,
        ListTeams: 1,
        GetPolicyResultsMetadata: 4,
      }),
    );
    expect(changes(before, after, ERRORS)).toEqual(collectErrors({ "GetPolicyResultsMetadata org-3": 1 }));
    const policyResults = [
      "pulumi_org_policy_total",
      "pulumi_org_policy_with_issues",
      "pulumi_org_governed_resources_total",
      "pulumi_org_governed_resources_with_issues",
    ];
    expect(pick(after, TRUTH_FAMILIES)).toEqual(
      stale(r.truth.expected(), first, { org: "org-3" }, policyResults),
    );
    expect(failedSteps(r.logs).map((s) => s.error)).toEqual([
      "GetPolicyResultsMetadata: request timed out (150 ms) after 5 attempts",
    ]);

    r.tick();
    await cleanCycle(r);
  });

  test("connection resets are retried; one org's stack list reset every time leaves that org stale", async () => {
    const r = await start();
    const first = await cleanCycle(r);
    r.tick();
    r.sim.setFaults([
      { type: "reset", operation: "GetStackUpdates", times: 3 },
      { type: "reset", operation: "ListOrgEnvironments_esc", times: 2 },
      { type: "reset", operation: "ListUserStacks", org: "org-1" },
    ]);
    r.sim.resetStats();
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(false);
    expect(changes(before, after, ERRORS)).toEqual(collectErrors({ "ListUserStacks org-1": 1 }));
    const failed = failedRequests(before, after);
    const retried = changes(before, after, RETRIES);
    expect(failed[seriesKey(REQUESTS, { operation: "ListUserStacks", code: "error" })]).toBe(5);
    expect(retried[seriesKey(RETRIES, { operation: "ListUserStacks" })]).toBe(4);
    // Bun's fetch itself retries a GET once when a reused keep-alive connection is reset, so some resets never
    // reach the client. Those that do are each counted and retried; the server saw every attempt of both.
    const stats = r.sim.stats();
    for (const [operation, resets] of [
      ["GetStackUpdates", 3],
      ["ListOrgEnvironments_esc", 2],
    ] as const) {
      expect(stats.operations[operation]?.faults.reset).toBe(resets);
      const surfaced = failed[seriesKey(REQUESTS, { operation, code: "error" })] ?? 0;
      expect(surfaced).toBeLessThanOrEqual(resets);
      expect(retried[seriesKey(RETRIES, { operation })] ?? 0).toBe(surfaced);
      const attempts = Object.values(withLabels(changes(before, after, REQUESTS), { operation })).reduce(
        (sum, n) => sum + n,
        0,
      );
      expect(attempts + (resets - surfaced)).toBe(stats.operations[operation]?.calls ?? -1);
    }
    const stackFamilies = TRUTH_FAMILIES.filter(
      (f) => f.startsWith("pulumi_stack_") || f.startsWith("pulumi_update_"),
    );
    expect(pick(after, TRUTH_FAMILIES)).toEqual(
      stale(r.truth.expected(), first, { org: "org-1" }, stackFamilies),
    );
    expect(failedSteps(r.logs).map((s) => s.error)).toEqual([
      expect.stringMatching(
        /^ListUserStacks: network error \(.+\) reaching 127\.0\.0\.1:\d+ after 5 attempts$/,
      ),
    ]);

    r.tick();
    await cleanCycle(r);
  });

  test("malformed JSON is not retried: those steps keep their values until the next cycle reads them", async () => {
    const r = await start();
    const first = await cleanCycle(r);
    r.tick();
    r.sim.setFaults([
      { type: "malformed-json", operation: "ListTeams", org: "org-2", times: 1 },
      { type: "malformed-json", operation: "GetStackUpdates", times: 2 },
    ]);
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(true);
    expect(changes(before, after, RETRIES)).toEqual({});
    expect(failedRequests(before, after)).toEqual({});
    expect(changes(before, after, ERRORS)).toEqual(
      collectErrors({ "ListTeams org-2": 1, "GetStackUpdates org-1": 2 }),
    );
    const failed = failedSteps(r.logs);
    expect(failed.map((s) => s.operation).sort()).toEqual([
      "GetStackUpdates",
      "GetStackUpdates",
      "ListTeams",
    ]);
    for (const step of failed) expect(step.error).toStartWith(`${step.operation}: malformed response: `);
    let expected = stale(r.truth.expected(), first, { org: "org-2" }, ["pulumi_org_team_count"]);
    for (const step of failed.filter((s) => s.stack !== undefined)) {
      const [project = "", stack = ""] = (step.stack ?? "").split("/");
      expected = stale(expected, first, { org: step.org, project, stack });
    }
    expect(pick(after, TRUTH_FAMILIES)).toEqual(expected);

    r.tick();
    await cleanCycle(r);
  });

  test("schema-violating list items are dropped and counted; the rest of the list is exported", async () => {
    const r = await start();
    const first = await cleanCycle(r);
    r.tick();
    // The simulator breaks the middle item of the first page it answers.
    const stackPage = r.sim.model.listStacks("org-2").slice(0, 4);
    const hiddenStack = stackPage[Math.floor(stackPage.length / 2)];
    const taskPage = (await simGet(r, "/api/preview/agents/org-1/tasks?pageSize=1000")).tasks as NeoTask[];
    const hiddenTask = taskPage[Math.floor(taskPage.length / 2)];
    const hiddenViolation = r.sim.model.violations("org-3")[2];
    if (!hiddenStack || !hiddenTask || !hiddenViolation) throw new Error("scenario too small");
    r.sim.setFaults([
      { type: "invalid-item", operation: "ListUserStacks", org: "org-2", times: 1 },
      { type: "invalid-item", operation: "ListTasks", org: "org-1", times: 1 },
      { type: "invalid-item", operation: "ListPolicyViolationsV2", org: "org-3", times: 1 },
    ]);
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(true);
    expect(result.stats.errors).toBe(0);
    expect(changes(before, after, DROPPED)).toEqual(
      perOperation(DROPPED, { ListUserStacks: 1, ListTasks: 1, ListPolicyViolationsV2: 1 }),
    );
    expect(changes(before, after, ERRORS)).toEqual({});
    const hidden = { org: "org-2", project: hiddenStack.projectName, stack: hiddenStack.stackName };
    let expected = drop(stale(r.truth.expected(), first, hidden, UPDATE_COUNTERS), hidden, STACK_GAUGES);
    expected = adjust(
      expected,
      seriesKey("pulumi_org_neo_task_count", { org: "org-1", status: hiddenTask.status }),
      -1,
    );
    expected = adjust(
      expected,
      seriesKey("pulumi_org_neo_tokens_used_total", { org: "org-1" }),
      -(hiddenTask.tokensUsed ?? 0),
    );
    const month = new Date(r.truth.clockMs()).toISOString().slice(0, 7);
    if (hiddenTask.createdAt.startsWith(month)) {
      expected = adjust(
        expected,
        seriesKey("pulumi_org_neo_tokens_used_current_month", { org: "org-1" }),
        -(hiddenTask.tokensUsed ?? 0),
      );
    }
    expected = adjust(
      expected,
      seriesKey("pulumi_org_policy_violations", {
        org: "org-3",
        level: hiddenViolation.level,
        kind: hiddenViolation.kind,
      }),
      -1,
    );
    expect(pick(after, TRUTH_FAMILIES)).toEqual(expected);
    const dropLines = r.logs.filter((line) => line.includes("dropped malformed items"));
    expect(dropLines).toHaveLength(3);
    expect(dropLines.find((line) => line.includes("operation=ListUserStacks"))).toContain("count=1");

    // The stack that vanished for a cycle comes back with its history: nothing lost, nothing counted twice.
    r.tick();
    await cleanCycle(r);
  });

  test("a schema-violating old update in a stack's history is dropped and counted; the counts stay exact", async () => {
    const r = await start({ scenario: { ...FLEET, updatesPerStack: 14, stacksCreatedPerTick: 0 } });
    await cleanCycle(r);
    r.tick();
    r.sim.setFaults([{ type: "invalid-item", operation: "GetStackUpdates" }]);
    r.sim.resetStats();
    const before = await r.actual();
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.stats.errors).toBe(0);
    const hits = r.sim.stats().operations.GetStackUpdates?.faults["invalid-item"] ?? 0;
    expect(hits).toBeGreaterThan(0);
    // Every history answered had items: each response lost exactly one.
    expect(changes(before, after, DROPPED)).toEqual(perOperation(DROPPED, { GetStackUpdates: hits }));
    // Page 1 holds the 10 newest updates; the broken one is the 6th newest, long counted: the values are exact.
    expect(pick(after, TRUTH_FAMILIES)).toEqual(r.truth.expected());

    r.tick();
    await cleanCycle(r);
  });

  test("an org that answers 403 is reported once per step, not retried, and the others are exported", async () => {
    const r = await start();
    r.sim.setFaults([{ type: "status", status: 403, org: "org-2", message: "Forbidden: not a member" }]);
    for (let cycle = 1; cycle <= 2; cycle++) {
      const before = await r.actual();
      const result = await r.cycle();
      const after = await r.actual();
      // The tokens' 403 switches them off for a day: counted in the first cycle only.
      const operations = cycle === 1 ? FIRST_CYCLE_OPERATIONS : ORG_OPERATIONS;
      expect(result.up).toBe(false);
      expect(result.stats.errors).toBe(operations.length);
      expect(await r.value("pulumi_exporter_up")).toBe(0);
      expect(changes(before, after, RETRIES)).toEqual({});
      expect(failedRequests(before, after)).toEqual(requests(perRequest(requestsOf(operations), "403", 1)));
      expect(changes(before, after, ERRORS)).toEqual(
        collectErrors(Object.fromEntries(operations.map((operation) => [`${operation} org-2`, 1]))),
      );
      // Nothing of org-2 is made up: its series are absent, everything else is exact.
      expect(pick(after, TRUTH_FAMILIES)).toEqual(withoutLabels(r.truth.expected(), { org: "org-2" }));
      r.tick();
    }
    expect(failedSteps(r.logs).find((s) => s.operation === "ListTeams")?.error).toBe(
      "ListTeams: HTTP 403 Forbidden (Forbidden: not a member)",
    );
    // Once readable, org-2 counts what finished after the first cycle began (not its older history).
    await cleanCycle(r);
    const org2Counts = withLabels(pick(await r.actual(), ["pulumi_update_total"]), { org: "org-2" });
    expect(Object.keys(org2Counts).length).toBeGreaterThan(0);
    expect(org2Counts).toEqual(
      withLabels(pick(r.truth.counters(), ["pulumi_update_total"]), { org: "org-2" }),
    );
  });

  test("the API down for a whole cycle: every value is kept, every step counted, then it catches up exactly", async () => {
    const r = await start();
    const first = await cleanCycle(r);
    r.tick();
    r.sim.setFaults([{ type: "down" }]);
    const before = await r.actual();
    r.sleeps.length = 0;
    const result = await r.cycle();
    const after = await r.actual();
    expect(result.up).toBe(false);
    expect(result.stats.orgsListed).toBe(0);
    expect(result.stats.errors).toBe(3 * ORG_OPERATIONS.length);
    expect(await r.value("pulumi_exporter_up")).toBe(0);
    expect(failedRequests(before, after)).toEqual(requests(perRequest(ORG_REQUESTS, "503", 3 * 5)));
    expect(changes(before, after, RETRIES)).toEqual(
      perOperation(RETRIES, perRequest(ORG_REQUESTS, "", 3 * 4)),
    );
    expect(changes(before, after, ERRORS)).toEqual(
      collectErrors(
        Object.fromEntries(
          ORG_OPERATIONS.flatMap((operation) => ORGS.map((org) => [`${operation} ${org}`, 1])),
        ),
      ),
    );
    // Backoff with equal jitter (random 0.5): 375, 750, 1500, 3000 ms before retries 1-4 of each request.
    expect(r.sleeps.sort((a, b) => a - b)).toEqual(
      [375, 750, 1500, 3000].flatMap((ms) => Array<number>(3 * ORG_REQUESTS.length).fill(ms)),
    );
    expect(pick(after, TRUTH_FAMILIES)).toEqual(first);
    expect(await r.value("pulumi_exporter_last_success_timestamp_seconds")).toBe(
      (r.truth.firstCycleStart ?? 0) + 1,
    );

    // Updates that finished while the API was down are counted once it is back, each exactly once.
    r.tick(3);
    await cleanCycle(r);
    expect(r.truth.countedUpdates()).toBeGreaterThan(0);
  });
});
