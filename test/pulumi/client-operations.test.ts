import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { VERSION } from "../../src/version.ts";
import { type LocalApi, observedClient, startLocalApi, TOKEN } from "./support.ts";

const ref = { org: "acme", project: "web app", stack: "prod.eu" };

let api: LocalApi;

beforeAll(() => {
  api = startLocalApi((app) => {
    app.get("/api/user", (c) =>
      c.json({
        id: "u-1",
        githubLogin: "alice",
        name: "Alice",
        email: "alice@example.com",
        organizations: [
          { name: "Acme Corp", githubLogin: "acme", avatarUrl: "", role: "admin" },
          { name: "Beta", githubLogin: "beta", avatarUrl: "", role: "member" },
        ],
      }),
    );
    app.get("/api/user/stacks", (c) =>
      ["hidden", "forbidden"].includes(c.req.query("organization") ?? "")
        ? c.json(
            { code: 404, message: "no such organization" },
            c.req.query("organization") === "hidden" ? 404 : 403,
          )
        : c.json({
            stacks: [
              {
                id: "s-1",
                orgName: "acme",
                projectName: "web",
                stackName: "prod",
                lastUpdate: 1_700_000_000,
                resourceCount: 12,
                links: { self: "https://app.pulumi.com/acme/web/prod" },
              },
              { orgName: "acme", projectName: "web", stackName: "dev", lastUpdate: null },
            ],
          }),
    );
    app.get("/api/stacks/:org/:project/:stack/resources/count", (c) =>
      c.json({ resourceCount: 42, version: 7 }),
    );
    app.get("/api/stacks/:org/:project/:stack/updates", (c) =>
      c.json({
        updates: [
          {
            kind: "update",
            result: "succeeded",
            startTime: 1_700_000_100,
            endTime: 1_700_000_160,
            version: 9,
            resourceChanges: { create: 2, same: 10 },
            message: "ignored",
          },
          { kind: "refresh", result: "in-progress", startTime: 1_700_000_200, version: 10 },
        ],
        itemsPerPage: 2,
        total: 10,
      }),
    );
    app.get("/api/orgs/:org/deployments/metadata", (c) =>
      c.json({
        concurrency: 5,
        paused: false,
        deploymentCounts: {
          accepted: 1,
          failed: 2,
          notStarted: 3,
          running: 4,
          skipped: 5,
          succeeded: 6,
          total: 21,
        },
      }),
    );
    app.get("/api/orgs/:org/deployments", (c) =>
      c.json({
        deployments: [
          {
            id: "d-1",
            status: "running",
            created: "2023-09-19 05:49:43.002",
            modified: "2023-09-19 05:50:01.000",
            version: 3,
            jobs: [],
          },
        ],
        itemsPerPage: 100,
        total: 1,
      }),
    );
    app.get("/api/orgs/:org/members", (c) =>
      c.json({ members: [{ role: "admin", user: { name: "A" } }, { user: { name: "B" } }] }),
    );
    app.get("/api/orgs/:org/teams", (c) => c.json({ teams: [{ name: "platform", kind: "pulumi" }] }));
    app.get("/api/esc/environments/:org", (c) =>
      c.json({ environments: [{ name: "prod-env", project: "shared" }], nextToken: "" }),
    );
    app.get("/api/orgs/:org/policygroups", (c) =>
      c.json({ policyGroups: [{ name: "default-policy-group", numStacks: 3 }] }),
    );
    app.get("/api/orgs/:org/policypacks", (c) =>
      c.json({ policyPacks: [{ name: "aws-guard", versions: [1] }] }),
    );
    app.get("/api/orgs/:org/policyresults/violationsv2", (c) =>
      c.json({ policyViolations: [{ level: "mandatory", kind: "audit", id: "v-1" }] }),
    );
    app.get("/api/orgs/:org/policyresults/metadata", (c) =>
      c.json({
        policyTotalCount: 20,
        policyWithIssuesCount: 3,
        resourcesTotalCount: 400,
        resourcesWithIssuesCount: 17,
      }),
    );
    app.get("/api/preview/agents/:org/tasks", (c) =>
      c.json({
        tasks: [
          { id: "t-1", status: "running", createdAt: "2025-05-01T10:00:00Z", tokensUsed: 1200, name: "x" },
          { id: "t-2", status: "idle", createdAt: "2025-05-02T10:00:00Z" },
        ],
        continuationToken: null,
      }),
    );
    app.get("/api/orgs/:org/neo/token-budget", (c) =>
      c.req.param("org") === "acme"
        ? c.json({
            baseAllowanceTokens: 1000,
            effectiveAllowanceTokens: 1500,
            consumedTokens: 600,
            exhausted: false,
            windowEnd: 1_750_000_000,
            windowKind: "monthly",
            extra: "dropped",
          })
        : c.json({ code: 404, message: "no budget" }, 404),
    );
  });
});

afterAll(() => api.stop());

/** The last request went to `target` (path and query, exactly) as an authenticated GET with our headers. */
function expectLastRequest(target: string): void {
  expect(api.requests.at(-1)).toEqual({
    method: "GET",
    target,
    authorization: `token ${TOKEN}`,
    accept: "application/vnd.pulumi+8",
    userAgent: `pulumi-exporter/${VERSION}`,
  });
}

describe("every operation calls its documented path and query", () => {
  test("listStacks filters by organization", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listStacks("acme")).toEqual([
      {
        id: "s-1",
        orgName: "acme",
        projectName: "web",
        stackName: "prod",
        lastUpdate: 1_700_000_000,
        resourceCount: 12,
      },
      { orgName: "acme", projectName: "web", stackName: "dev" },
    ]);
    expectLastRequest("/api/user/stacks?organization=acme");
  });

  test("getCurrentUser reads the login and the organizations' URL names", async () => {
    const { client, seen } = observedClient(api.url);
    expect(await client.getCurrentUser()).toEqual({ login: "alice", organizations: ["acme", "beta"] });
    expect(seen.requests).toEqual([{ operation: "GetCurrentUser", status: 200 }]);
    expectLastRequest("/api/user");
  });

  test("organizationVisible asks for one stack; 403 and 404 say no, without a retry", async () => {
    const { client, seen } = observedClient(api.url);
    expect(await client.organizationVisible("acme")).toBe(true);
    expectLastRequest("/api/user/stacks?organization=acme&maxResults=1");
    expect(await client.organizationVisible("hidden")).toBe(false);
    expect(await client.organizationVisible("forbidden")).toBe(false);
    expect(seen.requests).toEqual([
      { operation: "ListUserStacks", status: 200 },
      { operation: "ListUserStacks", status: 404 },
      { operation: "ListUserStacks", status: 403 },
    ]);
  });

  test("getStackResourceCount encodes the stack reference", async () => {
    const { client } = observedClient(api.url);
    expect(await client.getStackResourceCount(ref)).toBe(42);
    expectLastRequest("/api/stacks/acme/web%20app/prod.eu/resources/count");
  });

  test("getStackUpdates asks for one page", async () => {
    const { client } = observedClient(api.url);
    expect(await client.getStackUpdates(ref, 3, 2)).toEqual({
      updates: [
        {
          kind: "update",
          result: "succeeded",
          startTime: 1_700_000_100,
          endTime: 1_700_000_160,
          version: 9,
          resourceChanges: { create: 2, same: 10 },
        },
        { kind: "refresh", result: "in-progress", startTime: 1_700_000_200, version: 10 },
      ],
      total: 10,
      droppedAfter: [],
    });
    expectLastRequest("/api/stacks/acme/web%20app/prod.eu/updates?page=3&pageSize=2");
  });

  test("getOrgDeploymentCounts reads OrgDeploymentsMetadata", async () => {
    const { client } = observedClient(api.url);
    expect(await client.getOrgDeploymentCounts("acme")).toEqual({
      accepted: 1,
      failed: 2,
      notStarted: 3,
      running: 4,
      skipped: 5,
      succeeded: 6,
      total: 21,
    });
    expectLastRequest("/api/orgs/acme/deployments/metadata");
  });

  test("listOrgDeployments pages 100 at a time", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listOrgDeployments("acme")).toEqual([
      {
        id: "d-1",
        status: "running",
        created: "2023-09-19 05:49:43.002",
        modified: "2023-09-19 05:50:01.000",
      },
    ]);
    expectLastRequest("/api/orgs/acme/deployments?page=1&pageSize=100");
  });

  test("listMembers keeps members with and without a role", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listMembers("acme")).toEqual([{ role: "admin" }, {}]);
    expectLastRequest("/api/orgs/acme/members");
  });

  test("listTeams", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listTeams("acme")).toEqual([{ name: "platform" }]);
    expectLastRequest("/api/orgs/acme/teams");
  });

  test("listEnvironments reads the ESC list; an empty nextToken ends it", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listEnvironments("acme")).toEqual([{ name: "prod-env" }]);
    expectLastRequest("/api/esc/environments/acme");
  });

  test("listPolicyGroups", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listPolicyGroups("acme")).toEqual([{ name: "default-policy-group" }]);
    expectLastRequest("/api/orgs/acme/policygroups");
  });

  test("listPolicyPacks", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listPolicyPacks("acme")).toEqual([{ name: "aws-guard" }]);
    expectLastRequest("/api/orgs/acme/policypacks");
  });

  test("listPolicyViolations", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listPolicyViolations("acme")).toEqual([{ level: "mandatory", kind: "audit" }]);
    expectLastRequest("/api/orgs/acme/policyresults/violationsv2");
  });

  test("getPolicyResultsMetadata", async () => {
    const { client } = observedClient(api.url);
    expect(await client.getPolicyResultsMetadata("acme")).toEqual({
      policyTotalCount: 20,
      policyWithIssuesCount: 3,
      resourcesTotalCount: 400,
      resourcesWithIssuesCount: 17,
    });
    expectLastRequest("/api/orgs/acme/policyresults/metadata");
  });

  test("listNeoTasks; a null continuation token ends the list", async () => {
    const { client } = observedClient(api.url);
    expect(await client.listNeoTasks("acme")).toEqual([
      { id: "t-1", status: "running", createdAt: "2025-05-01T10:00:00Z", tokensUsed: 1200 },
      { id: "t-2", status: "idle", createdAt: "2025-05-02T10:00:00Z" },
    ]);
    expectLastRequest("/api/preview/agents/acme/tasks?pageSize=1000");
  });

  test("getNeoTokenBudget", async () => {
    const { client } = observedClient(api.url);
    expect(await client.getNeoTokenBudget("acme")).toEqual({
      baseAllowanceTokens: 1000,
      effectiveAllowanceTokens: 1500,
      consumedTokens: 600,
      exhausted: false,
      windowEnd: 1_750_000_000,
      windowKind: "monthly",
    });
    expectLastRequest("/api/orgs/acme/neo/token-budget");
  });

  test("getNeoTokenBudget: 404 means no budget, without retrying", async () => {
    const { client, seen } = observedClient(api.url);
    expect(await client.getNeoTokenBudget("small-co")).toBeNull();
    expectLastRequest("/api/orgs/small-co/neo/token-budget");
    expect(seen.requests).toEqual([{ operation: "GetOrgNeoTokenBudget", status: 404 }]);
    expect(seen.retries).toEqual([]);
  });
});

test("every request carries the token, the API version and our user agent, and is a GET", async () => {
  const { client, seen } = observedClient(api.url);
  const before = api.requests.length;
  await client.listTeams("acme");
  await client.getPolicyResultsMetadata("acme");
  const sent = api.requests.slice(before);
  expect(sent).toHaveLength(2);
  for (const request of sent) {
    expect(request.method).toBe("GET");
    expect(request.authorization).toBe(`token ${TOKEN}`);
    expect(request.accept).toBe("application/vnd.pulumi+8");
    expect(request.userAgent).toBe(`pulumi-exporter/${VERSION}`);
  }
  expect(seen.requests).toEqual([
    { operation: "ListTeams", status: 200 },
    { operation: "GetPolicyResultsMetadata", status: 200 },
  ]);
});

test("a base URL with a trailing slash or a path prefix is joined without doubling slashes", async () => {
  const prefixed = startLocalApi((app) => {
    app.get("/pulumi/api/orgs/:org/teams", (c) => c.json({ teams: [] }));
  });
  try {
    const { client } = observedClient(`${prefixed.url}/pulumi/`);
    expect(await client.listTeams("acme")).toEqual([]);
    expect(prefixed.requests.map((r) => r.target)).toEqual(["/pulumi/api/orgs/acme/teams"]);
  } finally {
    await prefixed.stop();
  }
});
