import { afterEach, describe, expect, test } from "bun:test";
import type { Sleep } from "../../src/sim/app.ts";
import type { FaultRule } from "../../src/sim/faults.ts";
import { type Api, SMALL, start } from "./helpers.ts";

let current: Api | undefined;

afterEach(async () => {
  await current?.sim.stop();
  current = undefined;
});

/** A simulator whose injected waits are recorded instead of slept. */
async function startWith(faults: FaultRule[], seed = SMALL.seed): Promise<{ api: Api; sleeps: number[] }> {
  const sleeps: number[] = [];
  const sleep: Sleep = async (ms) => {
    sleeps.push(ms);
  };
  current = await start({ ...SMALL, seed, faults, sleep });
  return { api: current, sleeps };
}

const STACKS = "/api/user/stacks";

describe("status faults", () => {
  test("429 with Retry-After for the next N calls of one operation, then normal answers", async () => {
    const { api } = await startWith([
      { type: "status", status: 429, retryAfter: 7, operation: "ListUserStacks", times: 2 },
    ]);
    for (let i = 0; i < 2; i++) {
      const response = await api.get(STACKS);
      expect(response.status).toBe(429);
      expect(response.headers.get("retry-after")).toBe("7");
      expect(await response.json()).toEqual({ code: 429, message: "Too Many Requests" });
    }
    expect((await api.get(STACKS)).status).toBe(200);
    expect((await api.get("/api/orgs/org-1/members")).status).toBe(200);
    const stats = api.sim.stats();
    expect(stats.operations.ListUserStacks).toEqual({
      calls: 3,
      statuses: { "429": 2, "200": 1 },
      faults: { status: 2 },
      injectedDelayMs: 0,
    });
    expect(api.sim.listFaults()[0]).toMatchObject({ remaining: 0, hits: 2 });
  });

  test("500 answers with Pulumi's JSON error, 502 and 503 with a gateway's HTML page", async () => {
    const { api } = await startWith([
      { type: "status", status: 500, operation: "ListTeams" },
      { type: "status", status: 502, operation: "ListPolicyGroups" },
      { type: "status", status: 503, operation: "ListPolicyPacks_orgs", retryAfter: 30 },
    ]);
    const internal = await api.get("/api/orgs/org-1/teams");
    expect(internal.status).toBe(500);
    expect(await internal.json()).toEqual({ code: 500, message: "Internal Server Error" });
    const gateway = await api.get("/api/orgs/org-1/policygroups");
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get("content-type")).toBe("text/html");
    expect(await gateway.text()).toContain("502 Bad Gateway");
    const unavailable = await api.get("/api/orgs/org-1/policypacks");
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("retry-after")).toBe("30");
    expect(await unavailable.text()).toContain("503 Service Unavailable");
  });

  test("403 for one organization only, on every operation that names it", async () => {
    const { api } = await startWith([{ type: "status", status: 403, org: "org-2" }]);
    for (const path of [
      "/api/orgs/org-2/members",
      "/api/esc/environments/org-2",
      `${STACKS}?organization=org-2`,
    ]) {
      const response = await api.get(path);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ code: 403, message: "Forbidden" });
    }
    expect((await api.get("/api/orgs/org-1/members")).status).toBe(200);
    expect((await api.get(STACKS)).status).toBe(200);
  });

  test("the whole API down: 503 for every operation, before authentication", async () => {
    const { api } = await startWith([{ type: "down" }]);
    const paths = ["/api/orgs/org-1/teams", STACKS, "/api/orgs/org-1/neo/token-budget"];
    for (const path of paths) expect((await api.get(path)).status).toBe(503);
    expect((await fetch(`${api.sim.url}${STACKS}`)).status).toBe(503);
    expect(api.sim.stats().calls).toBe(4);
  });
});

describe("connection faults", () => {
  test("reset: the client's fetch fails with ECONNRESET and no response", async () => {
    const { api } = await startWith([{ type: "reset", operation: "ListOrgDeployments", times: 1 }]);
    const error = await api.get("/api/orgs/org-1/deployments").then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error?.code).toBe("ECONNRESET");
    expect((await api.get("/api/orgs/org-1/deployments")).status).toBe(200);
    expect(api.sim.stats().operations.ListOrgDeployments?.statuses).toEqual({ reset: 1, "200": 1 });
  });

  test("hang: no answer until the client's AbortSignal.timeout fires; the server carries on", async () => {
    const { api } = await startWith([{ type: "hang", operation: "ListTasks", times: 1 }]);
    const error = await api.get("/api/preview/agents/org-1/tasks", { signal: AbortSignal.timeout(50) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("TimeoutError");
    expect((await api.get("/api/preview/agents/org-1/tasks")).status).toBe(200);
    expect(api.sim.stats().operations.ListTasks?.statuses).toEqual({ hang: 1, "200": 1 });
  });

  test("stop() ends a hanging request", async () => {
    const { api } = await startWith([{ type: "hang" }]);
    const pending = api.get("/api/orgs/org-1/teams").then(
      (r) => r.status,
      (e: unknown) => (e as Error).name,
    );
    // Let the request reach the server before stopping it.
    for (let i = 0; i < 100 && api.sim.stats().calls === 0; i++) await Bun.sleep(1);
    await api.sim.stop();
    current = undefined;
    expect(await pending).toBe("TypeError");
  });
});

describe("body faults", () => {
  test("malformed JSON: 200 and a JSON content type, but the body is cut mid-document", async () => {
    const { api } = await startWith([
      { type: "malformed-json", operation: "ListOrganizationMembers", times: 1 },
    ]);
    const broken = await api.get("/api/orgs/org-1/members");
    expect(broken.status).toBe(200);
    expect(broken.headers.get("content-type")).toBe("application/json");
    const text = await broken.text();
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const good = await (await api.get("/api/orgs/org-1/members")).text();
    expect(good.startsWith(text)).toBe(true);
    expect(text.length).toBe(Math.floor(good.length / 2));
  });

  test("invalid item: one stack in the middle of an otherwise valid page lacks stackName", async () => {
    const { api } = await startWith([{ type: "invalid-item", operation: "ListUserStacks", times: 1 }]);
    const broken = (await api.json<{ stacks: Record<string, unknown>[] }>(STACKS)).stacks;
    const good = (await api.json<{ stacks: Record<string, unknown>[] }>(STACKS)).stacks;
    expect(broken.length).toBe(7);
    expect(broken[3]).not.toHaveProperty("stackName");
    const { stackName: _name, ...rest } = good[3] as Record<string, unknown>;
    expect(broken[3]).toEqual(rest);
    expect(broken.filter((_, i) => i !== 3)).toEqual(good.filter((_, i) => i !== 3));
  });

  test("slow body: sent in chunks with a wait between each, arriving intact", async () => {
    const { api, sleeps } = await startWith([
      { type: "slow-body", chunkBytes: 64, intervalMs: 25, operation: "ListTeams" },
    ]);
    const response = await api.get("/api/orgs/org-1/teams");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ teams: api.sim.model.teams("org-1") });
    const chunks = Math.ceil(new TextEncoder().encode(text).length / 64);
    expect(chunks).toBeGreaterThan(3);
    expect(sleeps).toEqual(Array.from({ length: chunks - 1 }, () => 25));
  });
});

describe("latency", () => {
  test("fixed plus jitter goes through the injected sleep and is counted", async () => {
    const { api, sleeps } = await startWith([
      { type: "latency", ms: 40, jitterMs: 20 },
      { type: "latency", ms: 100, operation: "ListTeams" },
    ]);
    for (let i = 0; i < 5; i++) await api.get(STACKS);
    await api.get("/api/orgs/org-1/teams");
    expect(sleeps.length).toBe(6);
    for (const ms of sleeps.slice(0, 5)) {
      expect(ms).toBeGreaterThanOrEqual(40);
      expect(ms).toBeLessThanOrEqual(60);
    }
    expect(new Set(sleeps.slice(0, 5)).size).toBeGreaterThan(1);
    expect(sleeps[5]).toBeGreaterThanOrEqual(140);
    expect(sleeps[5]).toBeLessThanOrEqual(160);
    const stats = api.sim.stats().operations;
    expect(stats.ListUserStacks?.injectedDelayMs).toBe(sleeps.slice(0, 5).reduce((a, b) => a + b, 0));
    expect(stats.ListTeams?.faults).toEqual({ latency: 2 });
  });

  test("a client that gives up during the delay is counted as aborted, not answered", async () => {
    current = await start({ ...SMALL, faults: [{ type: "latency", ms: 60_000, operation: "ListTeams" }] });
    const error = await current.get("/api/orgs/org-1/teams", { signal: AbortSignal.timeout(30) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("TimeoutError");
    // The server sees the abort right after the client does.
    for (let i = 0; i < 200 && !current.sim.stats().operations.ListTeams?.statuses.aborted; i++)
      await Bun.sleep(1);
    expect(current.sim.stats().operations.ListTeams).toEqual({
      calls: 1,
      statuses: { aborted: 1 },
      faults: { latency: 1 },
      injectedDelayMs: 60_000,
    });
  });
});

describe("probability", () => {
  async function hitPattern(seed: number): Promise<string> {
    const { api } = await startWith([{ type: "status", status: 500, probability: 0.3 }], seed);
    let pattern = "";
    for (let i = 0; i < 40; i++)
      pattern += (await api.get("/api/orgs/org-1/teams")).status === 500 ? "x" : ".";
    await api.sim.stop();
    current = undefined;
    return pattern;
  }

  test("hits follow the seed: same seed, same calls hit; another seed, another pattern", async () => {
    const a = await hitPattern(11);
    const b = await hitPattern(11);
    const c = await hitPattern(12);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    const hits = a.split("").filter((ch) => ch === "x").length;
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThan(40);
  });
});

describe("runtime control over HTTP", () => {
  test("POST sets, GET lists, DELETE clears; bad rules are a 400 naming the problem", async () => {
    const { api } = await startWith([]);
    const post = (body: unknown) =>
      fetch(`${api.sim.url}/_sim/faults`, { method: "POST", body: JSON.stringify(body) });
    expect((await post({ type: "status", status: 418, operation: "ListTeams" })).status).toBe(200);
    expect((await api.get("/api/orgs/org-1/teams")).status).toBe(418);
    const appended = await post({
      faults: [{ type: "status", status: 500, operation: "ListPolicyGroups" }],
      append: true,
    });
    expect(((await appended.json()) as unknown[]).length).toBe(2);
    const listed = (await (await fetch(`${api.sim.url}/_sim/faults`)).json()) as {
      rule: FaultRule;
      hits: number;
    }[];
    expect(listed.map((f) => [f.rule.operation, f.hits])).toEqual([
      ["ListTeams", 1],
      ["ListPolicyGroups", 0],
    ]);
    expect((await fetch(`${api.sim.url}/_sim/faults`, { method: "DELETE" })).status).toBe(200);
    expect((await api.get("/api/orgs/org-1/teams")).status).toBe(200);

    const unknownOp = await post({ type: "hang", operation: "ListEverything" });
    expect(unknownOp.status).toBe(400);
    expect(await unknownOp.json()).toEqual({
      code: 400,
      message: 'invalid fault rule: unknown operation "ListEverything"',
    });
    const badStatus = await post({ type: "status", status: 200 });
    expect(badStatus.status).toBe(400);
    expect(((await badStatus.json()) as { message: string }).message).toContain("status must be");
    expect(api.sim.listFaults()).toEqual([]);
  });

  test("programmatic setFaults replaces, clearFaults removes", async () => {
    const { api } = await startWith([{ type: "status", status: 500 }]);
    api.sim.setFaults([{ type: "status", status: 429, retryAfter: 1 }]);
    expect((await api.get(STACKS)).status).toBe(429);
    api.sim.clearFaults();
    expect((await api.get(STACKS)).status).toBe(200);
    expect(() => api.sim.setFaults([{ type: "latency", ms: -1 }])).toThrow(
      "invalid fault rule: value at [0].ms must be non-negative (was -1)",
    );
  });
});
