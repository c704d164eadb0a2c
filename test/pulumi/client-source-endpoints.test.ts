/**
 * A source's own endpoints through the real client (`api.read`): the path from the generated table, the list's
 * array from operations.json, items validated one by one, a 404 that means "gone", and the scope's reporter.
 */
import { describe, expect, test } from "bun:test";
import { GET_AGENT_POOL_AGENTS, LIST_AGENT_POOLS } from "../../src/collect/sources/agent-pools.ts";
import { localApiPerTest, observedClient, rejectionOf } from "./support.ts";

const serve = localApiPerTest();

describe("api.read", () => {
  test("a list: its path, its array, a malformed item dropped and reported, the rest kept", async () => {
    const local = serve((app) =>
      app.get("/api/orgs/acme/agent-pools", (c) =>
        c.json({
          defaultAgentPoolID: "p1",
          agentPools: [
            { id: "p1", name: "runners", status: "online", lastSeen: 1_700_000_000, created: 1 },
            { id: "p2", name: "gpu", status: "offline" },
          ],
        }),
      ),
    );
    const { client, seen } = observedClient(local.url);
    expect(await client.read(LIST_AGENT_POOLS, "acme")).toEqual([
      { id: "p1", name: "runners", status: "online", lastSeen: 1_700_000_000 },
    ]);
    expect(local.requests.map((r) => r.target)).toEqual(["/api/orgs/acme/agent-pools"]);
    expect(seen.requests).toEqual([{ operation: "ListOrgAgentPool", status: 200 }]);
    expect(seen.dropped).toEqual([
      {
        operation: "ListOrgAgentPool",
        count: 1,
        reason: "lastSeen must be a number (was missing)",
      },
    ]);
  });

  test("goneOn404: a 404 answers null; another error status fails the call", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/acme/agent-pools/p1", (c) =>
        c.json({ agents: [{ status: "online" }, { status: "offline" }] }),
      );
      app.get("/api/orgs/acme/agent-pools/gone", (c) => c.json({ message: "not found" }, 404));
      app.get("/api/orgs/acme/agent-pools/denied", (c) => c.json({ message: "forbidden" }, 403));
    });
    const { client, seen } = observedClient(local.url);
    expect(await client.read(GET_AGENT_POOL_AGENTS, "acme", "p1")).toEqual([
      { status: "online" },
      { status: "offline" },
    ]);
    expect(await client.read(GET_AGENT_POOL_AGENTS, "acme", "gone")).toBeNull();
    const error = await rejectionOf(client.read(GET_AGENT_POOL_AGENTS, "acme", "denied"));
    expect(error.message).toBe("GetAgentPool: HTTP 403 Forbidden (forbidden)");
    expect(seen.requests).toEqual([
      { operation: "GetAgentPool", status: 200 },
      { operation: "GetAgentPool", status: 404 },
      { operation: "GetAgentPool", status: 403 },
    ]);
  });

  test("a scoped view reports its own calls", async () => {
    const local = serve((app) => app.get("/api/orgs/acme/agent-pools", (c) => c.json({ agentPools: [] })));
    const { client } = observedClient(local.url);
    const cycle: string[] = [];
    const view = client.scoped?.({ onRequest: (operation, status) => cycle.push(`${operation} ${status}`) });
    expect(await view?.read(LIST_AGENT_POOLS, "acme")).toEqual([]);
    expect(cycle).toEqual(["ListOrgAgentPool 200"]);
  });
});
