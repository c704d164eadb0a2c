/**
 * Numbers from Pulumi Cloud are checked: a count, version or timestamp that is negative, fractional, not finite
 * or beyond Number.MAX_SAFE_INTEGER (timestamps: beyond the year 9999) makes its item malformed. Seen in
 * /metrics before: -1, 1e+308 and 18446744073709552000. Bodies are written as raw JSON text so `1e999` (which
 * JSON.parse reads as Infinity) can be sent.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Hono } from "hono";
import { type LocalApi, observedClient, rejectionOf, startLocalApi } from "./support.ts";

let api: LocalApi | undefined;

afterEach(async () => {
  await api?.stop();
  api = undefined;
});

function serveRaw(routes: Record<string, string>): LocalApi {
  api = startLocalApi((app: Hono) => {
    for (const [path, body] of Object.entries(routes)) {
      app.get(path, (c) => c.body(body, 200, { "content-type": "application/json" }));
    }
  });
  return api;
}

/** Not counts: each one must drop its item. */
const BAD_COUNTS = ["-1", "1.5", "1e308", "18446744073709552000", "1e999", "9007199254740992"];
/** Not Unix seconds of a sane date: the bad counts, and the first second of the year 10000. */
const BAD_TIMES = [...BAD_COUNTS, "253402300800"];

const ref = { org: "acme", project: "web", stack: "prod" };

describe("list items with a bad number are dropped and counted", () => {
  test("stacks: resourceCount and lastUpdate", async () => {
    const bad = [
      ...BAD_COUNTS.map(
        (n, i) => `{"orgName":"acme","projectName":"p","stackName":"c${i}","resourceCount":${n}}`,
      ),
      ...BAD_TIMES.map(
        (n, i) => `{"orgName":"acme","projectName":"p","stackName":"t${i}","lastUpdate":${n}}`,
      ),
    ];
    const good =
      '{"orgName":"acme","projectName":"p","stackName":"ok","resourceCount":9007199254740991,"lastUpdate":253402300799}';
    const local = serveRaw({ "/api/user/stacks": `{"stacks":[${[...bad, good].join(",")}]}` });
    const { client, seen } = observedClient(local.url);
    expect(await client.listStacks("acme")).toEqual([
      {
        orgName: "acme",
        projectName: "p",
        stackName: "ok",
        resourceCount: 9007199254740991,
        lastUpdate: 253402300799,
      },
    ]);
    expect(seen.dropped).toEqual([
      { operation: "ListUserStacks", count: 13, reason: "resourceCount must be non-negative (was -1)" },
    ]);
  });

  test("updates: version, startTime, endTime and resourceChanges values", async () => {
    const item = (fields: string) => `{"kind":"update","result":"succeeded",${fields}}`;
    const bad = [
      ...BAD_COUNTS.map((n) => item(`"startTime":10,"version":${n}`)),
      ...BAD_TIMES.map((n) => item(`"startTime":${n},"version":2`)),
      ...BAD_TIMES.map((n) => item(`"startTime":10,"endTime":${n},"version":2`)),
      ...BAD_COUNTS.map((n) =>
        item(`"startTime":10,"version":2,"resourceChanges":{"create":1,"delete":${n}}`),
      ),
    ];
    const good = item('"startTime":0,"endTime":253402300799,"version":1,"resourceChanges":{"same":0}');
    const local = serveRaw({
      "/api/stacks/:org/:project/:stack/updates": `{"updates":[${[good, ...bad].join(",")}],"total":26}`,
    });
    const { client, seen } = observedClient(local.url);
    const page = await client.getStackUpdates(ref, 1, 30);
    expect(page.updates).toEqual([
      {
        kind: "update",
        result: "succeeded",
        startTime: 0,
        endTime: 253402300799,
        version: 1,
        resourceChanges: { same: 0 },
      },
    ]);
    expect(page.total).toBe(26);
    expect(page.droppedAfter).toEqual(Array.from({ length: 26 }, () => 1));
    expect(seen.dropped).toEqual([
      { operation: "GetStackUpdates", count: 26, reason: "version must be non-negative (was -1)" },
    ]);
  });

  test("Neo tasks: tokensUsed", async () => {
    const task = (id: string, tokens: string) =>
      `{"id":"${id}","status":"idle","createdAt":"2025-01-01T00:00:00Z","tokensUsed":${tokens}}`;
    const local = serveRaw({
      "/api/preview/agents/:org/tasks": `{"tasks":[${[...BAD_COUNTS.map((n, i) => task(`b${i}`, n)), task("ok", "0")].join(",")}]}`,
    });
    const { client, seen } = observedClient(local.url);
    expect((await client.listNeoTasks("acme")).map((t) => [t.id, t.tokensUsed])).toEqual([["ok", 0]]);
    expect(seen.dropped).toEqual([
      { operation: "ListTasks", count: 6, reason: "tokensUsed must be non-negative (was -1)" },
    ]);
  });
});

describe("single objects with a bad number are rejected whole, not retried", () => {
  const counts = '"accepted":1,"failed":2,"notStarted":3,"running":4,"skipped":5,"succeeded":6';
  const policy = '"policyTotalCount":1,"policyWithIssuesCount":1,"resourcesTotalCount":1';
  const budget = '"baseAllowanceTokens":1,"effectiveAllowanceTokens":1,"exhausted":false';
  const cases: Array<
    [string, string, string, (c: ReturnType<typeof observedClient>["client"]) => Promise<unknown>, string]
  > = [
    [
      "resource count",
      "/api/stacks/:org/:project/:stack/resources/count",
      '{"resourceCount":-1}',
      (c) => c.getStackResourceCount(ref),
      "GetStackResourceCount: malformed response: resourceCount must be non-negative (was -1)",
    ],
    [
      "deployment counts",
      "/api/orgs/:org/deployments/metadata",
      `{"deploymentCounts":{${counts},"total":1e308}}`,
      (c) => c.getOrgDeploymentCounts("acme"),
      "OrgDeploymentsMetadata: malformed response: deploymentCounts: total must be at most 9007199254740991 (was 1e+308)",
    ],
    [
      "policy result counts",
      "/api/orgs/:org/policyresults/metadata",
      `{${policy},"resourcesWithIssuesCount":18446744073709552000}`,
      (c) => c.getPolicyResultsMetadata("acme"),
      "GetPolicyResultsMetadata: malformed response: resourcesWithIssuesCount must be at most 9007199254740991 (was 18446744073709552000)",
    ],
    [
      "Neo budget: consumed tokens",
      "/api/orgs/:org/neo/token-budget",
      `{${budget},"consumedTokens":0.5}`,
      (c) => c.getNeoTokenBudget("acme"),
      "GetOrgNeoTokenBudget: malformed response: consumedTokens must be an integer (was 0.5)",
    ],
    [
      "Neo budget: window end",
      "/api/orgs/:org/neo/token-budget",
      `{${budget},"consumedTokens":0,"windowEnd":253402300800}`,
      (c) => c.getNeoTokenBudget("acme"),
      "GetOrgNeoTokenBudget: malformed response: windowEnd must be at most 253402300799 (was 253402300800)",
    ],
    [
      "update total",
      "/api/stacks/:org/:project/:stack/updates",
      '{"updates":[],"total":-1}',
      (c) => c.getStackUpdates(ref, 1, 10),
      "GetStackUpdates: malformed response: total must be a non-negative integer (was -1)",
    ],
    [
      "deployment total",
      "/api/orgs/:org/deployments",
      '{"deployments":[],"total":1.5}',
      (c) => c.listOrgDeployments("acme"),
      "ListOrgDeployments: malformed response: total must be a non-negative integer (was 1.5)",
    ],
  ];
  for (const [name, path, body, call, message] of cases) {
    test(name, async () => {
      const local = serveRaw({ [path]: body });
      const { client, seen } = observedClient(local.url);
      expect((await rejectionOf(call(client))).message).toBe(message);
      expect(local.requests).toHaveLength(1);
      expect(seen.retries).toEqual([]);
      expect(seen.dropped).toEqual([]);
    });
  }

  test("the largest sane values pass", async () => {
    const local = serveRaw({
      "/api/orgs/:org/neo/token-budget": `{${budget},"consumedTokens":9007199254740991,"windowEnd":253402300799}`,
      "/api/stacks/:org/:project/:stack/resources/count": '{"resourceCount":0}',
    });
    const { client } = observedClient(local.url);
    expect(await client.getNeoTokenBudget("acme")).toEqual({
      baseAllowanceTokens: 1,
      effectiveAllowanceTokens: 1,
      exhausted: false,
      consumedTokens: 9007199254740991,
      windowEnd: 253402300799,
    });
    expect(await client.getStackResourceCount(ref)).toBe(0);
  });
});
