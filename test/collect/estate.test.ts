/**
 * The estate families through the Collector: agent pools, the plan and access tokens, over several cycles, with
 * failing calls, a forbidden organization and deleted objects.
 */
import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { GET_AGENT_POOL_AGENTS, LIST_AGENT_POOLS } from "../../src/collect/sources/agent-pools.ts";
import { type CollectorState, emptyState } from "../../src/collect/state.ts";
import { encodeState, parseState } from "../../src/collect/state-file.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { MetricId } from "../../src/metrics/catalog.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const T0S = T0 / 1000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY_S = 86_400;

function rig(restart?: { api: FakeApi; state: CollectorState; atMs: number }) {
  const api = restart?.api ?? new FakeApi();
  if (!restart) {
    api.orgs.set("acme", fakeOrg());
    api.orgs.set("beta", fakeOrg());
  }
  const lines: string[] = [];
  let clock = restart?.atMs ?? T0;
  const logger = createLogger({
    level: "info",
    write: (line) => lines.push(line),
    now: () => new Date(clock),
  });
  const collector = new Collector({
    api,
    logger,
    organizations: ["acme", "beta"],
    maxConcurrency: 2,
    cycleBudgetMs: 10_000,
    now: () => clock,
    orgIntervalMs: 5 * MINUTE,
    ...(restart ? { initialState: restart.state } : {}),
  });
  /** One cycle `advanceMs` after the last: its calls, errors and log lines (without their time). */
  const cycle = async (advanceMs: number) => {
    clock += advanceMs;
    api.resetCalls();
    const from = lines.length;
    const result = await collector.collect();
    return {
      calls: Object.fromEntries(api.calls),
      errors: result.errors,
      logged: lines.slice(from).map((line) => line.replace(/^time=\S+ /, "")),
    };
  };
  const read = (id: MetricId) => snapshotReadings(collector.snapshot ?? expect.unreachable()).get(id);
  /** The state as a restart reads it back from the state file. */
  const saved = (): { text: string; state: CollectorState } => {
    const text = encodeState(collector.state).text;
    const loaded = parseState(text);
    if (loaded.kind !== "loaded") throw new Error(loaded.reason);
    return { text, state: loaded.state };
  };
  return { api, cycle, read, saved, now: () => clock };
}

const pool = (id: string, name: string, status: string, lastSeen: number, agents: string[]) => ({
  id,
  name,
  status,
  lastSeen,
  agents,
});
type FakePool = ReturnType<typeof pool>;

/** Each organization's pools as listed, with their agents' statuses (GetAgentPool); a pool not listed is a 404. */
function servePools(api: FakeApi): Map<string, FakePool[]> {
  const pools = new Map<string, FakePool[]>();
  api.serve(LIST_AGENT_POOLS, (org) => (pools.get(org) ?? []).map(({ agents: _agents, ...item }) => item));
  api.serve(GET_AGENT_POOL_AGENTS, (org, id) => {
    const found = pools.get(org)?.find((p) => p.id === id);
    return found ? found.agents.map((status) => ({ status })) : null;
  });
  return pools;
}

describe("agent pools", () => {
  test("pools, agents by status and last seen, every cycle; a failed list keeps them; a deleted pool vanishes", async () => {
    const { api, cycle, read } = rig();
    const pools = servePools(api);
    pools.set("acme", [
      pool("p1", "runners", "online", 1000, ["online", "online", "offline"]),
      pool("p2", "gpu", "offline", 900, ["offline"]),
    ]);
    api.statuses.set("ListOrgAgentPool:beta", 403);

    const first = await cycle(0);
    expect(first.calls.ListOrgAgentPool).toBe(2);
    expect(first.calls.GetAgentPool).toBe(2);
    expect(first.errors).toEqual([{ operation: "ListOrgAgentPool", org: "beta" }]);
    expect(read("agentPoolUp")).toEqual([
      { attributes: { org: "acme", pool: "gpu" }, value: 0 },
      { attributes: { org: "acme", pool: "runners" }, value: 1 },
    ]);
    expect(read("agentPoolAgents")).toEqual([
      { attributes: { org: "acme", pool: "gpu", status: "online" }, value: 0 },
      { attributes: { org: "acme", pool: "gpu", status: "offline" }, value: 1 },
      { attributes: { org: "acme", pool: "runners", status: "online" }, value: 2 },
      { attributes: { org: "acme", pool: "runners", status: "offline" }, value: 1 },
    ]);
    expect(read("agentPoolLastSeen")).toEqual([
      { attributes: { org: "acme", pool: "gpu" }, value: 900 },
      { attributes: { org: "acme", pool: "runners" }, value: 1000 },
    ]);

    // The list fails twice: the previous values stay, the error is counted each cycle and logged once.
    api.failing.add("ListOrgAgentPool:acme");
    pools.set("acme", [pool("p1", "runners", "offline", 1100, ["offline", "offline", "offline"])]);
    const failed = await cycle(MINUTE);
    const again = await cycle(MINUTE);
    expect(failed.errors).toContainEqual({ operation: "ListOrgAgentPool", org: "acme" });
    expect(again.errors).toContainEqual({ operation: "ListOrgAgentPool", org: "acme" });
    const warned = [...failed.logged, ...again.logged].filter(
      (line) => line.includes("operation=ListOrgAgentPool") && line.includes("org=acme"),
    );
    expect(warned).toHaveLength(1);
    expect(warned[0]).toStartWith('level=warn msg="collection step failed, keeping previous values"');
    expect(read("agentPoolUp")).toEqual([
      { attributes: { org: "acme", pool: "gpu" }, value: 0 },
      { attributes: { org: "acme", pool: "runners" }, value: 1 },
    ]);

    // Recovered: p2 was deleted, so its series are gone; p1's agents went offline.
    api.failing.delete("ListOrgAgentPool:acme");
    const recovered = await cycle(MINUTE);
    expect(recovered.calls.GetAgentPool).toBe(1);
    expect(read("agentPoolUp")).toEqual([{ attributes: { org: "acme", pool: "runners" }, value: 0 }]);
    expect(read("agentPoolAgents")).toEqual([
      { attributes: { org: "acme", pool: "runners", status: "online" }, value: 0 },
      { attributes: { org: "acme", pool: "runners", status: "offline" }, value: 3 },
    ]);
    expect(read("agentPoolLastSeen")).toEqual([
      { attributes: { org: "acme", pool: "runners" }, value: 1100 },
    ]);
  });

  test("a pool deleted between the listing and its read (404) is left out", async () => {
    const { api, cycle, read } = rig();
    servePools(api).set("acme", [pool("p1", "runners", "online", 1000, ["online"])]);
    api.serve(GET_AGENT_POOL_AGENTS, () => null);
    const first = await cycle(0);
    expect(first.errors).toEqual([]);
    expect(read("agentPoolUp")).toBeUndefined();
  });
});

describe("the plan", () => {
  test("stacks, limits, period end and info on the org cadence; a 404 for one org; a failed read keeps values", async () => {
    const { api, cycle, read } = rig();
    const acme = api.orgs.get("acme") ?? expect.unreachable();
    acme.metadata = {
      stackCount: 120,
      maxStacks: 500,
      maxMembers: 25,
      subscriptionPeriodEnd: "2026-12-31T00:00:00Z",
      product: "team-pro",
      subscriptionStatus: "active",
    };
    api.statuses.set("GetOrganizationMetadata:beta", 404);
    const first = await cycle(0);
    expect(first.calls.GetOrganizationMetadata).toBe(2);
    expect(first.errors).toEqual([{ operation: "GetOrganizationMetadata", org: "beta" }]);
    expect(read("orgStacks")).toEqual([{ attributes: { org: "acme" }, value: 120 }]);
    expect(read("orgStacksLimit")).toEqual([{ attributes: { org: "acme" }, value: 500 }]);
    expect(read("orgMembersLimit")).toEqual([{ attributes: { org: "acme" }, value: 25 }]);
    expect(read("orgSubscriptionPeriodEnd")).toEqual([
      { attributes: { org: "acme" }, value: Date.UTC(2026, 11, 31) / 1000 },
    ]);
    expect(read("orgInfo")).toEqual([
      { attributes: { org: "acme", product: "team-pro", subscription_status: "active" }, value: 1 },
    ]);

    // Not due a minute later (only beta's failed read is retried).
    acme.metadata = { stackCount: 130 };
    const second = await cycle(MINUTE);
    expect(second.calls.GetOrganizationMetadata).toBe(1);
    expect(read("orgStacks")).toEqual([{ attributes: { org: "acme" }, value: 120 }]);

    // Due, but failing: the values stay.
    api.failing.add("GetOrganizationMetadata:acme");
    const failed = await cycle(5 * MINUTE);
    expect(failed.errors).toContainEqual({ operation: "GetOrganizationMetadata", org: "acme" });
    expect(read("orgStacks")).toEqual([{ attributes: { org: "acme" }, value: 120 }]);

    // A plan without limits, period or product: those series are absent, the info has empty labels.
    api.failing.delete("GetOrganizationMetadata:acme");
    await cycle(MINUTE);
    expect(read("orgStacks")).toEqual([{ attributes: { org: "acme" }, value: 130 }]);
    expect(read("orgStacksLimit")).toBeUndefined();
    expect(read("orgMembersLimit")).toBeUndefined();
    expect(read("orgSubscriptionPeriodEnd")).toBeUndefined();
    expect(read("orgInfo")).toEqual([
      { attributes: { org: "acme", product: "", subscription_status: "" }, value: 1 },
    ]);
  });

  test("a product outside the spec's list is reported as other", async () => {
    const { api, cycle, read } = rig();
    (api.orgs.get("acme") ?? expect.unreachable()).metadata = { stackCount: 1, product: "galactic" };
    await cycle(0);
    expect(read("orgInfo")).toEqual([
      { attributes: { org: "acme", product: "other", subscription_status: "" }, value: 1 },
      { attributes: { org: "beta", product: "", subscription_status: "" }, value: 1 },
    ]);
  });
});

const tok = (name: string, expires: number) => ({ name, expires });
const EXPIRIES = ["never", "expired", "within_7d", "within_30d", "later"] as const;
const counts = (org: string, values: readonly number[]) =>
  values.map((value, i) => ({ attributes: { org, expiry: EXPIRIES[i] ?? "missing" }, value }));

describe("access tokens", () => {
  test("tokens by expiry hourly, the exporter's own team token's expiry, expiring as the clock passes", async () => {
    const { api, cycle, read } = rig();
    const acme = api.orgs.get("acme") ?? expect.unreachable();
    acme.tokens = [
      tok("ci", 0),
      tok("old", T0S - 1),
      tok("soon", T0S + 1800),
      tok("month", T0S + 20 * DAY_S),
      tok("year", T0S + 365 * DAY_S),
    ];
    acme.teamTokens = { platform: [tok("exporter", T0S + 10 * DAY_S)] };
    api.tokenInfo = { name: "exporter", organization: "acme", team: "platform" };

    const first = await cycle(0);
    expect(first.calls).toMatchObject({ ListOrgTokens: 2, GetCurrentUser: 2, ListTeamTokens: 1 });
    expect(read("orgAccessTokens")).toEqual([
      ...counts("acme", [1, 1, 1, 1, 1]),
      ...counts("beta", [0, 0, 0, 0, 0]),
    ]);
    expect(read("exporterAccessTokenExpiry")).toEqual([{ attributes: {}, value: T0S + 10 * DAY_S }]);

    // Within the hour: not read again.
    const second = await cycle(30 * MINUTE);
    expect(second.calls.ListOrgTokens).toBeUndefined();

    // An hour after the first read: "soon" has expired.
    await cycle(30 * MINUTE);
    expect(read("orgAccessTokens")).toEqual([
      ...counts("acme", [1, 2, 0, 1, 1]),
      ...counts("beta", [0, 0, 0, 0, 0]),
    ]);

    // A failed read keeps the values and is retried the next cycle.
    api.failing.add("ListOrgTokens:acme");
    const failed = await cycle(HOUR);
    expect(failed.errors).toEqual([{ operation: "ListOrgTokens", org: "acme" }]);
    expect(read("orgAccessTokens")).toEqual([
      ...counts("acme", [1, 2, 0, 1, 1]),
      ...counts("beta", [0, 0, 0, 0, 0]),
    ]);
    api.failing.delete("ListOrgTokens:acme");
    const retried = await cycle(MINUTE);
    expect(retried.calls.ListOrgTokens).toBe(1);

    // The exporter's token deleted from its team: its expiry vanishes.
    acme.teamTokens = { platform: [] };
    await cycle(HOUR);
    expect(read("exporterAccessTokenExpiry")).toBeUndefined();
  });

  test("an organization token is found in the organization's list; a personal one has no expiry", async () => {
    const { api, cycle, read } = rig();
    (api.orgs.get("beta") ?? expect.unreachable()).tokens = [tok("exporter", T0S + DAY_S)];
    api.tokenInfo = { name: "exporter", organization: "beta", team: "" };
    const first = await cycle(0);
    expect(first.calls.ListTeamTokens).toBeUndefined();
    expect(read("exporterAccessTokenExpiry")).toEqual([{ attributes: {}, value: T0S + DAY_S }]);
    api.tokenInfo = undefined;
    await cycle(HOUR);
    expect(read("exporterAccessTokenExpiry")).toBeUndefined();
  });

  test("a 403 switches the family off for that org with one warning, tried again a day later", async () => {
    const { api, cycle, read } = rig();
    (api.orgs.get("acme") ?? expect.unreachable()).tokens = [tok("ci", 0)];
    api.statuses.set("ListOrgTokens:beta", 403);
    const first = await cycle(0);
    expect(first.errors).toEqual([{ operation: "ListOrgTokens", org: "beta" }]);
    const warnings = first.logged.filter((line) => line.includes("operation=ListOrgTokens"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("org=beta");
    expect(warnings[0]).toContain("HTTP 403 Forbidden");
    expect(read("orgAccessTokens")).toEqual(counts("acme", [1, 0, 0, 0, 0]));

    // Every cycle and every hour of the day after: no call for beta, no error, nothing logged about it.
    const logged: string[] = [];
    let betaCalls = 0;
    for (let hour = 1; hour < 24; hour++) {
      const { calls, errors, logged: lines } = await cycle(HOUR);
      expect(errors).toEqual([]);
      betaCalls += (calls.ListOrgTokens ?? 0) - 1;
      logged.push(...lines.filter((line) => line.includes("ListOrgTokens")));
    }
    expect(betaCalls).toBe(0);
    expect(logged).toEqual([]);

    // A day after the 403 it is tried again, and now allowed.
    api.statuses.delete("ListOrgTokens:beta");
    const retried = await cycle(HOUR);
    expect(retried.calls.ListOrgTokens).toBe(2);
    expect(read("orgAccessTokens")).toEqual([
      ...counts("acme", [1, 0, 0, 0, 0]),
      ...counts("beta", [0, 0, 0, 0, 0]),
    ]);
  });
});

describe("a restart with the state file", () => {
  test("the tokens' 403 switch-off and hourly cadence survive: no second warning, no call before their time", async () => {
    const before = rig();
    (before.api.orgs.get("acme") ?? expect.unreachable()).tokens = [tok("ci", 0)];
    before.api.statuses.set("ListOrgTokens:beta", 403);
    const first = await before.cycle(0);
    expect(first.logged.filter((line) => line.includes("ListOrgTokens"))).toHaveLength(1);
    await before.cycle(30 * MINUTE);
    const { text, state } = before.saved();
    const file = JSON.parse(text);
    expect(file.sources.tokens).toEqual({
      acme: { counts: { never: 1, expired: 0, within_7d: 0, within_30d: 0, later: 0 } },
      beta: { offUntilMs: T0 + 24 * HOUR },
    });
    expect(file.sourceRuns.tokens).toEqual({ acme: T0, beta: T0 });

    // Restarted 10 minutes later (40 minutes after the tokens were read).
    const after = rig({ api: before.api, state, atMs: before.now() + 10 * MINUTE });
    const restarted = await after.cycle(0);
    expect(restarted.calls.ListOrgTokens).toBeUndefined();
    expect(restarted.calls.GetCurrentUser).toBeUndefined();
    expect(restarted.errors).toEqual([]);
    expect(restarted.logged.filter((line) => line.includes("ListOrgTokens"))).toEqual([]);
    expect(after.read("orgAccessTokens")).toEqual(counts("acme", [1, 0, 0, 0, 0]));

    // An hour after the last read: acme only; beta not until the day is over, and never warned about again.
    const hourly = await after.cycle(20 * MINUTE);
    expect(hourly.calls.ListOrgTokens).toBe(1);
    let betaCalls = 0;
    const logged: string[] = [];
    for (let hour = 2; hour < 24; hour++) {
      const { calls, errors, logged: lines } = await after.cycle(HOUR);
      expect(errors).toEqual([]);
      betaCalls += (calls.ListOrgTokens ?? 0) - 1;
      logged.push(...lines.filter((line) => line.includes("ListOrgTokens")));
    }
    expect(betaCalls).toBe(0);
    expect(logged).toEqual([]);
    after.api.statuses.delete("ListOrgTokens:beta");
    expect((await after.cycle(HOUR)).calls.ListOrgTokens).toBe(2);
  });

  test("the plan and the agent pools are exported from the saved state while their first read fails", async () => {
    const before = rig();
    const acme = before.api.orgs.get("acme") ?? expect.unreachable();
    acme.metadata = { stackCount: 12, maxStacks: 50, product: "enterprise", subscriptionStatus: "active" };
    servePools(before.api).set("acme", [pool("p1", "runners", "online", 1000, ["online", "offline"])]);
    await before.cycle(0);
    const { text, state } = before.saved();
    expect(JSON.parse(text).sources.plan.acme).toEqual({
      stacks: 12,
      stacksLimit: 50,
      product: "enterprise",
      subscriptionStatus: "active",
    });
    expect(JSON.parse(text).sourceRuns.plan).toEqual({ acme: T0, beta: T0 });

    const after = rig({ api: before.api, state, atMs: before.now() + MINUTE });
    after.api.failing.add("GetOrganizationMetadata");
    after.api.failing.add("ListOrgAgentPool");
    // Within the organization interval the plan is not read at all; the pools are, and fail.
    const restarted = await after.cycle(0);
    expect(restarted.calls.GetOrganizationMetadata).toBeUndefined();
    expect(restarted.errors).toEqual([
      { operation: "ListOrgAgentPool", org: "acme" },
      { operation: "ListOrgAgentPool", org: "beta" },
    ]);
    expect(after.read("orgStacks")).toEqual([
      { attributes: { org: "acme" }, value: 12 },
      { attributes: { org: "beta" }, value: 0 },
    ]);
    expect(after.read("agentPoolAgents")).toEqual([
      { attributes: { org: "acme", pool: "runners", status: "online" }, value: 1 },
      { attributes: { org: "acme", pool: "runners", status: "offline" }, value: 1 },
    ]);
  });
});

describe("the estate sources' saved state is checked on load", () => {
  const fileWith = (extra: Record<string, unknown>) =>
    JSON.stringify({
      ...JSON.parse(encodeState({ ...emptyState(), firstCycleStartedAt: T0S }).text),
      ...extra,
    });

  test("a damaged entry or value is dropped alone, noted, the rest kept", () => {
    const read = parseState(
      fileWith({
        sources: {
          tokens: {
            acme: { offUntilMs: -1 },
            beta: {
              counts: { never: 1, expired: 0, within_7d: 0, within_30d: 0, later: 2 },
              exporterExpires: "x",
            },
            gamma: { counts: { never: 1 } },
          },
          plan: { acme: { stacks: 3, stacksLimit: -5, product: "free-beer", subscriptionStatus: "active" } },
          "agent-pools": {
            acme: {
              pools: [
                { name: "ok", online: true, lastSeen: 5, agents: { online: 1, offline: 0 } },
                { name: "bad", online: "yes", lastSeen: 5, agents: { online: 1, offline: 0 } },
              ],
            },
          },
        },
        sourceRuns: { tokens: { acme: T0, beta: "soon" }, unknown: { acme: T0 } },
      }),
    );
    if (read.kind !== "loaded") throw new Error(read.reason);
    const sources = read.state.sources ?? expect.unreachable();
    expect([...(sources.get("tokens") ?? [])]).toEqual([
      [
        "beta",
        {
          counts: { never: 1, expired: 0, within_7d: 0, within_30d: 0, later: 2 },
          exporterExpires: undefined,
        },
      ],
    ]);
    expect(sources.get("plan")?.get("acme")).toEqual({
      stacks: 3,
      stacksLimit: undefined,
      membersLimit: undefined,
      periodEnd: undefined,
      product: "",
      subscriptionStatus: "active",
    });
    expect(sources.get("agent-pools")?.get("acme")).toEqual({
      pools: [{ name: "ok", online: true, lastSeen: 5, agents: { online: 1, offline: 0 } }],
    });
    expect([...(read.state.sourceRuns ?? [])]).toEqual([["tokens|acme", T0]]);
    // tokens acme and gamma; beta's expiry, plan's limit and product, the bad pool, beta's run.
    expect(read.dropped.fields()).toMatchObject({ orgs: 2, values: 5 });
  });
});
