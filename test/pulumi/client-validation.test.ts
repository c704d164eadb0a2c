import { describe, expect, test } from "bun:test";
import type { Hono } from "hono";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { localApiPerTest, observedClient, rejectionOf, TOKEN } from "./support.ts";

const serve = localApiPerTest();

const ref = { org: "acme", project: "web", stack: "prod" };

describe("malformed items are dropped, counted and logged; the rest is used", () => {
  test("stacks, across pages: one onDropped call with the total count", async () => {
    const local = serve((app) => {
      app.get("/api/user/stacks", (c) =>
        c.req.query("continuationToken") === undefined
          ? c.json({
              stacks: [
                { orgName: "acme", projectName: "web", stackName: "prod" },
                { orgName: 42, projectName: "web", stackName: "bad-org" },
                "not an object",
              ],
              continuationToken: "p2",
            })
          : c.json({
              stacks: [
                { orgName: "acme", projectName: "web" },
                { orgName: "acme", projectName: "api", stackName: "dev", resourceCount: 3 },
              ],
            }),
      );
    });
    const { client, seen } = observedClient(local.url);
    expect(await client.listStacks("acme")).toEqual([
      { orgName: "acme", projectName: "web", stackName: "prod" },
      { orgName: "acme", projectName: "api", stackName: "dev", resourceCount: 3 },
    ]);
    expect(seen.dropped).toEqual([
      { operation: "ListUserStacks", count: 3, reason: "orgName must be a string (was a number)" },
    ]);
    const warnings = seen.logLines.filter((line) => line.includes("level=warn"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('msg="dropped malformed items from a Pulumi Cloud response"');
    expect(warnings[0]).toContain("operation=ListUserStacks count=3");
    expect(warnings[0]).toContain('reason="orgName must be a string (was a number)"');
  });

  test("updates: a bad resourceChanges entry drops that update only", async () => {
    const local = serve((app) => {
      app.get("/api/stacks/:org/:project/:stack/updates", (c) =>
        c.json({
          updates: [
            { kind: "update", result: "failed", startTime: 20, endTime: 25, version: 3 },
            { kind: "update", result: "failed", startTime: 10, version: 2, resourceChanges: { create: "x" } },
            { kind: "update", result: "succeeded", startTime: 5, endTime: 6, version: 1 },
          ],
        }),
      );
    });
    const { client, seen } = observedClient(local.url);
    expect(await client.getStackUpdates(ref, 1, 10)).toEqual({
      updates: [
        { kind: "update", result: "failed", startTime: 20, endTime: 25, version: 3 },
        { kind: "update", result: "succeeded", startTime: 5, endTime: 6, version: 1 },
      ],
      total: undefined,
      // The dropped update came after one valid update of the page.
      droppedAfter: [1],
    });
    expect(seen.dropped).toEqual([
      {
        operation: "GetStackUpdates",
        count: 1,
        reason: "resourceChanges.create must be a number (was a string)",
      },
    ]);
  });

  test("deployments: a status Pulumi Cloud adds later is kept, a malformed item dropped", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/deployments", (c) =>
        c.json({
          deployments: [
            {
              id: "1",
              status: "teleported",
              created: "2024-01-01 00:00:00.000",
              modified: "2024-01-01 00:00:00.000",
            },
            {
              id: "2",
              status: "failed",
              created: "2024-01-01 00:00:00.000",
              modified: "2024-01-01 00:00:01.000",
            },
            { id: "3", status: "failed", created: 17, modified: "2024-01-01 00:00:01.000" },
          ],
          total: 3,
        }),
      );
    });
    const { client, seen } = observedClient(local.url);
    expect((await client.listOrgDeployments("acme")).map((d) => [d.id, d.status])).toEqual([
      ["1", "teleported"],
      ["2", "failed"],
    ]);
    expect(seen.dropped.map((d) => [d.operation, d.count])).toEqual([["ListOrgDeployments", 1]]);
  });

  test("members: kept with any role or none, dropped when not an object", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/members", (c) =>
        c.json({ members: [{ user: {} }, null, { role: "admin" }, { role: "overlord" }, [1]] }),
      );
    });
    const { client, seen } = observedClient(local.url);
    expect(await client.listMembers("acme")).toEqual([{}, { role: "admin" }, { role: "overlord" }]);
    expect(seen.dropped).toEqual([
      { operation: "ListOrganizationMembers", count: 2, reason: "must be an object (was null)" },
    ]);
  });

  test("named items, violations and tasks", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.json({ teams: [{ name: "a" }, { name: 1 }, {}] }));
      app.get("/api/orgs/:org/policyresults/violationsv2", (c) =>
        c.json({
          policyViolations: [
            { level: "advisory", kind: "audit" },
            { level: "advisory" },
            { level: "x", kind: "new" },
          ],
        }),
      );
      app.get("/api/preview/agents/:org/tasks", (c) =>
        c.json({
          tasks: [
            { id: "t", status: "idle", createdAt: "2025-01-01T00:00:00Z", tokensUsed: "many" },
            { id: "u", status: "running", createdAt: "2025-01-01T00:00:00Z" },
          ],
        }),
      );
    });
    const { client, seen } = observedClient(local.url);
    expect(await client.listTeams("acme")).toEqual([{ name: "a" }]);
    expect(await client.listPolicyViolations("acme")).toEqual([
      { level: "advisory", kind: "audit" },
      { level: "x", kind: "new" },
    ]);
    expect((await client.listNeoTasks("acme")).map((t) => t.id)).toEqual(["u"]);
    expect(seen.dropped).toEqual([
      { operation: "ListTeams", count: 2, reason: "name must be a string (was a number)" },
      {
        operation: "ListPolicyViolationsV2",
        count: 1,
        reason: "kind must be a string (was missing)",
      },
      { operation: "ListTasks", count: 1, reason: "tokensUsed must be a number (was a string)" },
    ]);
  });

  test("nothing dropped, no hook call and no warning", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.json({ teams: [{ name: "a" }] }));
    });
    const { client, seen } = observedClient(local.url);
    await client.listTeams("acme");
    expect(seen.dropped).toEqual([]);
    expect(seen.logLines.filter((line) => line.includes("level=warn"))).toEqual([]);
  });
});

describe("a malformed envelope is an error, not retried", () => {
  const cases: Array<[string, (app: Hono) => void, string]> = [
    [
      "not JSON",
      (app) => app.get("/api/orgs/:org/teams", (c) => c.text("<html>maintenance</html>")),
      "ListTeams: got an HTML page (200, text/plain) where JSON was expected (the API URL looks like the Pulumi console; use --pulumi.api-url=https://api.pulumi.com)",
    ],
    [
      "empty body",
      (app) => app.get("/api/orgs/:org/teams", (c) => c.body(null, 200)),
      "ListTeams: malformed response: empty body",
    ],
    [
      "missing array",
      (app) => app.get("/api/orgs/:org/teams", (c) => c.json({ items: [] })),
      "ListTeams: malformed response: teams must be an array (was missing)",
    ],
    [
      "array of the wrong kind",
      (app) => app.get("/api/orgs/:org/teams", (c) => c.json({ teams: { name: "a" } })),
      "ListTeams: malformed response: teams must be an array (was an object)",
    ],
    [
      "a bare array",
      (app) => app.get("/api/orgs/:org/teams", (c) => c.json([{ name: "a" }])),
      "ListTeams: malformed response: body must be an object (was an array)",
    ],
  ];
  for (const [name, setup, message] of cases) {
    test(name, async () => {
      const local = serve(setup);
      const { client, seen } = observedClient(local.url);
      const error = await rejectionOf(client.listTeams("acme"));
      expect(error).toBeInstanceOf(PulumiApiError);
      expect(error.message).toBe(message);
      expect((error as PulumiApiError).status).toBe(200);
      expect(local.requests).toHaveLength(1);
      expect(seen.retries).toEqual([]);
    });
  }

  test("single objects: resource count, deployment counts, policy metadata, token budget", async () => {
    const local = serve((app) => {
      app.get("/api/stacks/:org/:project/:stack/resources/count", (c) => c.json({ resourceCount: "12" }));
      app.get("/api/orgs/:org/deployments/metadata", (c) => c.json({ paused: false }));
      app.get("/api/orgs/:org/policyresults/metadata", (c) => c.json({ policyTotalCount: 1 }));
      app.get("/api/orgs/:org/neo/token-budget", (c) =>
        c.json({ baseAllowanceTokens: 1, effectiveAllowanceTokens: 1, consumedTokens: 0, exhausted: "no" }),
      );
      app.get("/api/stacks/:org/:project/:stack/updates", (c) => c.json({ updates: [], total: "ten" }));
    });
    const { client } = observedClient(local.url);
    const messages = [
      (await rejectionOf(client.getStackResourceCount(ref))).message,
      (await rejectionOf(client.getOrgDeploymentCounts("acme"))).message,
      (await rejectionOf(client.getPolicyResultsMetadata("acme"))).message,
      (await rejectionOf(client.getNeoTokenBudget("acme"))).message,
      (await rejectionOf(client.getStackUpdates(ref, 1, 5))).message,
    ];
    expect(messages).toEqual([
      "GetStackResourceCount: malformed response: resourceCount must be a number (was a string)",
      "OrgDeploymentsMetadata: malformed response: deploymentCounts: must be an object (was missing)",
      "GetPolicyResultsMetadata: malformed response: policyWithIssuesCount must be a number (was missing); " +
        "resourcesTotalCount must be a number (was missing); resourcesWithIssuesCount must be a number (was missing)",
      'GetOrgNeoTokenBudget: malformed response: exhausted must be boolean (was "no")',
      "GetStackUpdates: malformed response: total must be a number (was a string)",
    ]);
    expect(local.requests).toHaveLength(5);
  });

  test("a non-JSON body with a transient status is retried like any transient failure", async () => {
    let calls = 0;
    const local = serve((app) => {
      app.get("/api/orgs/:org/teams", (c) => (++calls === 1 ? c.text("busy", 503) : c.json({ teams: [] })));
    });
    const { client } = observedClient(local.url);
    expect(await client.listTeams("acme")).toEqual([]);
    expect(local.requests).toHaveLength(2);
  });
});

test("the token never appears in an error, a hook reason or a log line", async () => {
  const local = serve((app) => {
    app.get("/api/orgs/:org/teams", (c) => c.json({ message: `token ${TOKEN} is invalid` }, 401));
    app.get("/api/orgs/:org/policyresults/violationsv2", (c) =>
      c.json({ policyViolations: [{ level: "advisory", kind: { secret: TOKEN } }] }),
    );
    app.get("/api/orgs/:org/members", (c) => c.json({ members: [], continuationToken: { token: TOKEN } }));
    app.get("/api/stacks/:org/:project/:stack/resources/count", (c) => c.json({ resourceCount: TOKEN }));
    app.get("/api/orgs/:org/policygroups", (c) => c.json({ message: TOKEN }, 503));
  });
  const { client, seen } = observedClient(local.url, { retry: { maxRetries: 1 } });
  const errors = [
    await rejectionOf(client.listTeams("acme")),
    await rejectionOf(client.listMembers("acme")),
    await rejectionOf(client.getStackResourceCount(ref)),
    await rejectionOf(client.listPolicyGroups("acme")),
  ];
  expect(await client.listPolicyViolations("acme")).toEqual([]);
  expect(seen.dropped).toHaveLength(1);
  expect(seen.dropped[0]?.reason).toBe("kind must be a string (was an object)");
  expect(errors.map((e) => e.message)).toEqual([
    "ListTeams: HTTP 401 Unauthorized (token [REDACTED] is invalid)",
    "ListOrganizationMembers: malformed response: continuationToken must be a string (was an object)",
    "GetStackResourceCount: malformed response: resourceCount must be a number (was a string)",
    "ListPolicyGroups: HTTP 503 Service Unavailable after 2 attempts ([REDACTED])",
  ]);
  const everything = [
    ...errors.map((e) => `${e.message}\n${e.stack ?? ""}\n${JSON.stringify(e)}`),
    ...seen.dropped.map((d) => d.reason),
    ...seen.logLines,
  ].join("\n");
  expect(seen.logLines.length).toBeGreaterThan(0);
  expect(everything).not.toContain(TOKEN);
  expect(everything).not.toContain("TESTSECRET");
});
