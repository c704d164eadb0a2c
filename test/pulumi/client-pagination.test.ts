import { afterEach, describe, expect, test } from "bun:test";
import type { Context } from "hono";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { type LocalApi, observedClient, rejectionOf, startLocalApi } from "./support.ts";

let api: LocalApi | undefined;

afterEach(async () => {
  await api?.stop();
  api = undefined;
});

function serve(setup: Parameters<typeof startLocalApi>[0]): LocalApi {
  api = startLocalApi(setup);
  return api;
}

/** Pages keyed by the incoming token ("" for the first page); each names the token of the next page. */
function tokenPages(
  field: string,
  tokenField: string,
  pages: Record<string, { items: unknown[]; next?: string | null }>,
  requestToken: (c: Context) => string | undefined = (c) => c.req.query("continuationToken"),
) {
  return (c: Context) => {
    const page = pages[requestToken(c) ?? ""];
    if (!page) return c.json({ message: "unknown token" }, 400);
    return c.json({ [field]: page.items, ...(page.next !== undefined ? { [tokenField]: page.next } : {}) });
  };
}

const stack = (name: string) => ({ orgName: "acme", projectName: "web", stackName: name });

describe("continuation-token lists walk to the last page", () => {
  test("ListUserStacks: token in request and response, organization kept on every page", async () => {
    const local = serve((app) => {
      app.get(
        "/api/user/stacks",
        tokenPages("stacks", "continuationToken", {
          "": { items: [stack("a"), stack("b")], next: "tok 2/+=" },
          "tok 2/+=": { items: [stack("c")], next: "t3" },
          t3: { items: [stack("d")] },
        }),
      );
    });
    const { client, seen } = observedClient(local.url);
    const stacks = await client.listStacks("acme");
    expect(stacks.map((s) => s.stackName)).toEqual(["a", "b", "c", "d"]);
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/user/stacks?organization=acme",
      "/api/user/stacks?organization=acme&continuationToken=tok%202%2F%2B%3D",
      "/api/user/stacks?organization=acme&continuationToken=t3",
    ]);
    expect(seen.requests).toHaveLength(3);
  });

  test("ListOrganizationMembers", async () => {
    const local = serve((app) => {
      app.get(
        "/api/orgs/:org/members",
        tokenPages("members", "continuationToken", {
          "": { items: [{ role: "admin" }, { role: "member" }], next: "m2" },
          m2: { items: [{ role: "member" }], next: null },
        }),
      );
    });
    const { client } = observedClient(local.url);
    expect(await client.listMembers("acme")).toEqual([
      { role: "admin" },
      { role: "member" },
      { role: "member" },
    ]);
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/orgs/acme/members",
      "/api/orgs/acme/members?continuationToken=m2",
    ]);
  });

  test("ListTasks", async () => {
    const task = (id: string) => ({ id, status: "idle", createdAt: "2025-01-01T00:00:00Z" });
    const local = serve((app) => {
      app.get(
        "/api/preview/agents/:org/tasks",
        tokenPages("tasks", "continuationToken", {
          "": { items: [task("1")], next: "n2" },
          n2: { items: [task("2")], next: "n3" },
          n3: { items: [], next: "" },
        }),
      );
    });
    const { client } = observedClient(local.url);
    expect((await client.listNeoTasks("acme")).map((t) => t.id)).toEqual(["1", "2"]);
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/preview/agents/acme/tasks?pageSize=1000",
      "/api/preview/agents/acme/tasks?continuationToken=n2&pageSize=1000",
      "/api/preview/agents/acme/tasks?continuationToken=n3&pageSize=1000",
    ]);
  });

  test("ListPolicyViolationsV2: the token the response returns is sent back though the spec has no parameter", async () => {
    const local = serve((app) => {
      app.get(
        "/api/orgs/:org/policyresults/violationsv2",
        tokenPages("policyViolations", "continuationToken", {
          "": { items: [{ level: "advisory", kind: "audit" }], next: "v2" },
          v2: { items: [{ level: "mandatory", kind: "preventative" }] },
        }),
      );
    });
    const { client } = observedClient(local.url);
    expect(await client.listPolicyViolations("acme")).toEqual([
      { level: "advisory", kind: "audit" },
      { level: "mandatory", kind: "preventative" },
    ]);
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/orgs/acme/policyresults/violationsv2",
      "/api/orgs/acme/policyresults/violationsv2?continuationToken=v2",
    ]);
  });

  test("ListOrgEnvironments_esc: continuationToken in the request, nextToken in the response", async () => {
    const local = serve((app) => {
      app.get(
        "/api/esc/environments/:org",
        tokenPages("environments", "nextToken", {
          "": { items: [{ name: "a" }, { name: "b" }], next: "e2" },
          e2: { items: [{ name: "c" }] },
        }),
      );
    });
    const { client } = observedClient(local.url);
    expect(await client.listEnvironments("acme")).toEqual([{ name: "a" }, { name: "b" }, { name: "c" }]);
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/esc/environments/acme",
      "/api/esc/environments/acme?continuationToken=e2",
    ]);
  });

  test("a server repeating a token is stopped with an error", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/members", (c) => c.json({ members: [{}], continuationToken: "same" }));
    });
    const { client } = observedClient(local.url);
    const error = await rejectionOf(client.listMembers("acme"));
    expect(error).toBeInstanceOf(PulumiApiError);
    expect(error.message).toBe("ListOrganizationMembers: server repeated a continuation token on page 2");
    expect(local.requests).toHaveLength(2);
  });

  test("a server that never ends is stopped at maxPages", async () => {
    const local = serve((app) => {
      app.get("/api/user/stacks", (c) =>
        c.json({
          stacks: [stack("x")],
          continuationToken: `next-${c.req.query("continuationToken") ?? "0"}`,
        }),
      );
    });
    const { client } = observedClient(local.url, { maxPages: 3 });
    const error = await rejectionOf(client.listStacks("acme"));
    expect(error.message).toBe("ListUserStacks: pagination did not end within 3 pages");
    expect(local.requests).toHaveLength(3);
  });

  test("a token that is not a string is a malformed response", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/members", (c) => c.json({ members: [], continuationToken: 17 }));
    });
    const { client } = observedClient(local.url);
    const error = await rejectionOf(client.listMembers("acme"));
    expect(error.message).toBe(
      "ListOrganizationMembers: malformed response: continuationToken must be a string (was a number)",
    );
  });
});

describe("ListOrgDeployments walks numbered pages of 100", () => {
  const deployment = (n: number) => ({
    id: `d-${n}`,
    status: "succeeded" as const,
    created: "2024-01-01 00:00:00.000",
    modified: "2024-01-01 00:01:00.000",
  });

  function deploymentsServer(count: number, reportTotal: number | undefined): LocalApi {
    return serve((app) => {
      app.get("/api/orgs/:org/deployments", (c) => {
        const page = Number(c.req.query("page"));
        const size = Number(c.req.query("pageSize"));
        const items = [];
        for (let n = (page - 1) * size; n < Math.min(count, page * size); n++) items.push(deployment(n));
        return c.json({
          deployments: items,
          itemsPerPage: size,
          ...(reportTotal !== undefined ? { total: reportTotal } : {}),
        });
      });
    });
  }

  test("until the collected count reaches total", async () => {
    const local = deploymentsServer(250, 250);
    const { client } = observedClient(local.url);
    const deployments = await client.listOrgDeployments("acme");
    expect(deployments).toHaveLength(250);
    expect(deployments[0]).toEqual(deployment(0));
    expect(deployments[249]?.id).toBe("d-249");
    expect(local.requests.map((r) => r.target)).toEqual([
      "/api/orgs/acme/deployments?page=1&pageSize=100",
      "/api/orgs/acme/deployments?page=2&pageSize=100",
      "/api/orgs/acme/deployments?page=3&pageSize=100",
    ]);
  });

  test("exactly one full page with total 100 takes one request", async () => {
    const local = deploymentsServer(100, 100);
    const { client } = observedClient(local.url);
    expect(await client.listOrgDeployments("acme")).toHaveLength(100);
    expect(local.requests).toHaveLength(1);
  });

  test("until an empty page when total overstates", async () => {
    const local = deploymentsServer(200, 900);
    const { client } = observedClient(local.url);
    expect(await client.listOrgDeployments("acme")).toHaveLength(200);
    expect(local.requests).toHaveLength(3);
  });

  test("until a short page when total is absent", async () => {
    const local = deploymentsServer(120, undefined);
    const { client } = observedClient(local.url);
    expect(await client.listOrgDeployments("acme")).toHaveLength(120);
    expect(local.requests).toHaveLength(2);
  });

  test("no more than maxPages pages", async () => {
    const local = deploymentsServer(10_000, 10_000);
    const { client } = observedClient(local.url, { maxPages: 2 });
    const error = await rejectionOf(client.listOrgDeployments("acme"));
    expect(error.message).toBe("ListOrgDeployments: pagination did not end within 2 pages");
    expect(local.requests).toHaveLength(2);
  });
});
