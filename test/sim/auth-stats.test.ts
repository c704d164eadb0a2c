import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ROUTES } from "../../src/sim/operations.ts";
import { type Api, start } from "./helpers.ts";

let api: Api;

beforeAll(async () => {
  api = await start();
});
afterAll(() => api.sim.stop());
beforeEach(() => api.sim.resetStats());

function concrete(path: string): string {
  const stack = api.sim.model.listStacks()[0];
  return path
    .replace("{orgName}", stack?.orgName ?? "org-1")
    .replace("{projectName}", stack?.projectName ?? "")
    .replace("{stackName}", stack?.stackName ?? "")
    .replace("{poolId}", `${stack?.orgName ?? "org-1"}-pool-1`)
    .replace("{teamName}", api.sim.model.org(stack?.orgName ?? "org-1")?.teams[0]?.name ?? "");
}

const UNAUTHORIZED = { code: 401, message: "Unauthorized: No credentials provided or are invalid." };

describe("authentication", () => {
  test("every operation answers 401 without a token, with a wrong one, or with another scheme", async () => {
    for (const route of ROUTES) {
      const url = `${api.sim.url}${concrete(route.path)}`;
      for (const headers of [
        {} as Record<string, string>,
        { authorization: "token wrong" },
        { authorization: `Bearer ${api.sim.token}` },
      ]) {
        const response = await fetch(url, { headers });
        expect({ op: route.operation, status: response.status }).toEqual({
          op: route.operation,
          status: 401,
        });
        expect(await response.json()).toEqual(UNAUTHORIZED);
      }
      expect((await api.get(concrete(route.path))).status).toBe(200);
    }
  });

  test("the error body never echoes the token it was given", async () => {
    const response = await fetch(`${api.sim.url}/api/user/stacks`, {
      headers: { authorization: "token pul-leak-me" },
    });
    expect(await response.text()).not.toContain("pul-leak-me");
  });
});

describe("not found", () => {
  test("unknown organization on every org-scoped operation", async () => {
    for (const route of ROUTES.filter(
      (r) => r.path.includes("{orgName}") && !r.path.includes("{stackName}"),
    )) {
      const response = await api.get(route.path.replace("{orgName}", "nope"));
      expect({ op: route.operation, status: response.status }).toEqual({ op: route.operation, status: 404 });
      expect(await response.json()).toEqual({ code: 404, message: "Organization 'nope' not found" });
    }
    const stacks = await api.get("/api/user/stacks?organization=nope");
    expect(stacks.status).toBe(404);
  });

  test("unknown stack, and a stack of an unknown org", async () => {
    for (const suffix of ["updates", "resources/count", "deployments"]) {
      const response = await api.get(`/api/stacks/org-1/ghost/dev/${suffix}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ code: 404, message: "Stack 'org-1/ghost/dev' not found" });
    }
    expect(await (await api.get("/api/stacks/nope/p/s/updates")).json()).toEqual({
      code: 404,
      message: "Organization 'nope' not found",
    });
  });

  test("an organization without a Neo budget answers 404", async () => {
    const response = await api.get("/api/orgs/org-3/neo/token-budget");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      code: 404,
      message: "Organization 'org-3' has no Neo token budget",
    });
    expect(await api.json("/api/orgs/org-1/neo/token-budget")).toEqual(
      api.sim.model.neoBudget("org-1") as unknown as Record<string, unknown>,
    );
  });

  test("an unknown path", async () => {
    const response = await api.get("/api/nothing/here");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: 404, message: "Not Found: GET /api/nothing/here" });
  });
});

describe("call stats", () => {
  test("count calls per operation and status exactly; control routes are not counted", async () => {
    for (let i = 0; i < 3; i++) await api.get("/api/orgs/org-1/teams");
    await fetch(`${api.sim.url}/api/orgs/org-1/teams`);
    await api.get("/api/orgs/nope/members");
    await api.get("/api/orgs/org-1/members");
    await api.get("/api/orgs/org-1/members?continuationToken=garbage");
    await fetch(`${api.sim.url}/_sim/summary`);
    const expected = {
      calls: 7,
      operations: {
        ListTeams: { calls: 4, statuses: { "200": 3, "401": 1 }, faults: {}, injectedDelayMs: 0 },
        ListOrganizationMembers: {
          calls: 3,
          statuses: { "404": 1, "200": 1, "400": 1 },
          faults: {},
          injectedDelayMs: 0,
        },
      },
    };
    expect(api.sim.stats()).toEqual(expected);
    expect(await (await fetch(`${api.sim.url}/_sim/stats`)).json()).toEqual(expected);
    expect((await fetch(`${api.sim.url}/_sim/stats/reset`, { method: "POST" })).status).toBe(200);
    expect(api.sim.stats()).toEqual({ calls: 0, operations: {} });
  });
});

describe("control routes", () => {
  test("POST /_sim/tick advances the clock", async () => {
    const before = api.sim.model.now;
    const ticks = api.sim.model.ticks;
    const response = await fetch(`${api.sim.url}/_sim/tick?n=3`, { method: "POST" });
    const report = (await response.json()) as { tick: number; now: number };
    expect(report.tick).toBe(ticks + 3);
    expect(report.now).toBe(before + 180);
    const body = await fetch(`${api.sim.url}/_sim/tick`, { method: "POST", body: JSON.stringify({ n: 1 }) });
    expect(((await body.json()) as { now: number }).now).toBe(before + 240);
    const bad = await fetch(`${api.sim.url}/_sim/tick?n=-2`, { method: "POST" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      code: 400,
      message: "n must be a whole number of ticks between 0 and 10000",
    });
  });

  test("GET /_sim/summary reports the truth per org", async () => {
    const summary = (await (await fetch(`${api.sim.url}/_sim/summary`)).json()) as {
      orgs: { name: string; stacks: number; deployments: unknown }[];
    };
    expect(summary.orgs.map((o) => [o.name, o.stacks])).toEqual(
      api.sim.model.orgNames().map((org) => [org, api.sim.model.listStacks(org).length]),
    );
    expect(summary.orgs[0]?.deployments).toEqual(api.sim.model.deploymentCounts("org-1"));
  });
});
