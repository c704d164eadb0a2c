import { describe, expect, test } from "bun:test";
import { parseDbTime, parseRfc3339 } from "../../src/pulumi/times.ts";
import { localApiPerTest, observedClient, rejectionOf } from "./support.ts";

const serve = localApiPerTest();

const COUNTS = { accepted: 1, failed: 2, notStarted: 3, running: 4, skipped: 5, succeeded: 6, total: 21 };

/** A deployment as ListOrgDeployments sends it, with the fields the exporter ignores. */
function snapshot(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    created: "2026-05-20 11:57:05.650",
    modified: "2026-05-20 11:58:00.000",
    status: "succeeded",
    version: 3,
    requestedBy: { name: "A", githubLogin: "a", avatarUrl: "" },
    pulumiOperation: "update",
    projectName: "web",
    stackName: "prod",
    jobs: [
      {
        status: "succeeded",
        started: "2026-05-20T11:57:10.250Z",
        lastUpdated: "2026-05-20T12:00:10+01:00",
        steps: [{ name: "Get source", status: "succeeded" }],
      },
    ],
    updates: [],
    ...overrides,
  };
}

describe("times", () => {
  test("the deployment created/modified format is UTC; fractions keep milliseconds", () => {
    expect(parseDbTime("2026-05-20 11:57:05.650")).toBe(Date.UTC(2026, 4, 20, 11, 57, 5, 650));
    expect(parseDbTime("2026-05-20 11:57:05")).toBe(Date.UTC(2026, 4, 20, 11, 57, 5, 0));
    expect(parseDbTime("2026-05-20 11:57:05.6501239")).toBe(Date.UTC(2026, 4, 20, 11, 57, 5, 650));
    expect(parseDbTime("2026-02-30 11:57:05.650")).toBeUndefined();
    expect(parseDbTime("2026-05-20 24:00:00")).toBeUndefined();
    expect(parseDbTime("20 May 2026")).toBeUndefined();
    expect(parseDbTime("2026-05-20 11:57:05.650Z")).toBeUndefined();
  });

  test("RFC 3339 with Z or an offset", () => {
    expect(parseRfc3339("2026-05-20T11:57:10.250Z")).toBe(Date.UTC(2026, 4, 20, 11, 57, 10, 250));
    expect(parseRfc3339("2026-05-20T12:00:10+01:00")).toBe(Date.UTC(2026, 4, 20, 11, 0, 10));
    expect(parseRfc3339("2026-05-20T10:30:10-01:30")).toBe(Date.UTC(2026, 4, 20, 12, 0, 10));
    expect(parseRfc3339("2026-05-20T11:57:10.123456789Z")).toBe(Date.UTC(2026, 4, 20, 11, 57, 10, 123));
    expect(parseRfc3339("2026-05-20T11:57:10")).toBeUndefined();
    expect(parseRfc3339("2026-05-20 11:57:10Z")).toBeUndefined();
    expect(parseRfc3339("2026-13-20T11:57:10Z")).toBeUndefined();
    expect(parseRfc3339("2026-05-20T11:57:10+25:00")).toBeUndefined();
  });
});

describe("getOrgDeploymentsMetadata", () => {
  test("returns the counts, the concurrency limit and whether deployments are paused", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/deployments/metadata", (c) =>
        c.json({ concurrency: 7, paused: true, pausedStacks: ["web/prod"], deploymentCounts: COUNTS }),
      );
    });
    const { client } = observedClient(local.url);
    expect(await client.getOrgDeploymentsMetadata("acme")).toEqual({
      concurrency: 7,
      paused: true,
      deploymentCounts: COUNTS,
    });
    expect(local.requests.map((r) => r.target)).toEqual(["/api/orgs/acme/deployments/metadata"]);
  });

  test("a response without paused is malformed", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/deployments/metadata", (c) =>
        c.json({ concurrency: 7, deploymentCounts: COUNTS }),
      );
    });
    const { client } = observedClient(local.url);
    expect((await rejectionOf(client.getOrgDeploymentsMetadata("acme"))).message).toBe(
      "OrgDeploymentsMetadata: malformed response: paused must be boolean (was missing)",
    );
  });
});

describe("listOrgDeploymentsPage", () => {
  test("reads one page newest first, asking for the page and size given; times parsed, the pool's name kept", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/deployments", (c) =>
        c.json({
          deployments: [
            snapshot("d-2", { agentPool: { id: "p-1", name: "runners" } }),
            snapshot("d-1", { status: "not-started", pulumiOperation: "preview", jobs: null }),
          ],
          itemsPerPage: 2,
          total: 9,
        }),
      );
    });
    const { client, seen } = observedClient(local.url);
    expect(await client.listOrgDeploymentsPage("acme", 3, 2)).toEqual({
      deployments: [
        {
          id: "d-2",
          createdMs: Date.UTC(2026, 4, 20, 11, 57, 5, 650),
          status: "succeeded",
          operation: "update",
          agentPool: "runners",
          project: "web",
          stack: "prod",
          jobs: [
            {
              startedMs: Date.UTC(2026, 4, 20, 11, 57, 10, 250),
              lastUpdatedMs: Date.UTC(2026, 4, 20, 11, 0, 10),
            },
          ],
        },
        {
          id: "d-1",
          createdMs: Date.UTC(2026, 4, 20, 11, 57, 5, 650),
          status: "not-started",
          operation: "preview",
          project: "web",
          stack: "prod",
          jobs: [],
        },
      ],
      received: 2,
      total: 9,
    });
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/orgs/acme/deployments?page=3&pageSize=2&sort=created",
    ]);
    expect(seen.dropped).toEqual([]);
  });

  test("a job without times, or with null times, has none", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/deployments", (c) =>
        c.json({
          deployments: [
            snapshot("d-1", {
              status: "accepted",
              jobs: [
                { status: "accepted", started: null, steps: [] },
                { status: "not-started", steps: [] },
              ],
            }),
          ],
          total: 1,
        }),
      );
    });
    const { client } = observedClient(local.url);
    const page = await client.listOrgDeploymentsPage("acme", 1, 100);
    expect(page.deployments.map((d) => d.jobs)).toEqual([[{}, {}]]);
  });

  test("a deployment without an id or with a bad time is dropped, counted once, and the rest kept", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/deployments", (c) =>
        c.json({
          deployments: [
            snapshot("d-4"),
            snapshot("d-3", { created: "2026-05-20T11:57:05.650Z" }),
            snapshot("", {}),
            snapshot("d-2", { jobs: [{ status: "running", started: "yesterday", steps: [] }] }),
            { ...snapshot("d-1"), id: undefined },
            snapshot("d-0", { pulumiOperation: "teleport", status: "cancelled" }),
          ],
          total: 6,
        }),
      );
    });
    const { client, seen } = observedClient(local.url);
    const page = await client.listOrgDeploymentsPage("acme", 1, 100);
    expect(page.deployments.map((d) => [d.id, d.status, d.operation])).toEqual([
      ["d-4", "succeeded", "update"],
      ["d-0", "cancelled", "teleport"],
    ]);
    expect(page.received).toBe(6);
    expect(seen.dropped).toEqual([
      {
        operation: "ListOrgDeployments",
        count: 4,
        reason: 'created must be a UTC time like 2026-05-20 11:57:05.650 (was "2026-05-20T11:57:05.650Z")',
      },
    ]);
  });
});
