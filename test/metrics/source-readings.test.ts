/**
 * The organization sources' readings beside the catalog (`SOURCE_READINGS`): keyed by registered source names, and
 * each records exactly the metrics its source declares it feeds, with the values of its state.
 */
import { describe, expect, test } from "bun:test";
import type { AgentPoolsState } from "../../src/collect/sources/agent-pools.ts";
import type { DriftState } from "../../src/collect/sources/drift.ts";
import { ORG_SOURCES } from "../../src/collect/sources/index.ts";
import type { PlanState } from "../../src/collect/sources/plan.ts";
import type { TokensState } from "../../src/collect/sources/tokens.ts";
import { CATALOG, SOURCE_READINGS } from "../../src/metrics/catalog.ts";
import { gaugeRecorder } from "../../src/metrics/recorder.ts";

const pools: AgentPoolsState = {
  pools: [{ name: "runners", online: true, lastSeen: 1_700_000_000, agents: { online: 2, offline: 1 } }],
};
const plan: PlanState = {
  stacks: 12,
  stacksLimit: 50,
  membersLimit: 100,
  periodEnd: 1_800_000_000,
  product: "enterprise",
  subscriptionStatus: "active",
};
const tokens: TokensState = {
  counts: { never: 1, expired: 0, within_7d: 2, within_30d: 0, later: 3 },
  exporterExpires: 1_750_000_000,
};
const drift: DriftState = {
  stacks: new Map([
    ["web/prod", { project: "web", stack: "prod", drifted: true, readMs: 0 }],
    ["web/dev", { project: "web", stack: "dev", drifted: undefined, readMs: undefined }],
  ]),
};
const STATES: Record<string, unknown> = { "agent-pools": pools, plan, tokens, drift };

/** Every point the source's readings record for `acme`, as `name{labels} value`. */
function recorded(source: string): string[] {
  const recorder = gaugeRecorder();
  SOURCE_READINGS[source]?.(recorder.add, new Map([["acme", STATES[source]]]));
  return [...recorder.readings].flatMap(([id, points]) =>
    points.map((p) => `${CATALOG[id].name}${JSON.stringify(p.attributes)} ${p.value}`),
  );
}

describe("SOURCE_READINGS", () => {
  test("is keyed by registered organization sources", () => {
    const names = ORG_SOURCES.map((source) => source.name);
    expect(Object.keys(SOURCE_READINGS)).toEqual(["agent-pools", "plan", "tokens", "drift"]);
    for (const key of Object.keys(SOURCE_READINGS)) expect(names).toContain(key);
  });

  test("each records exactly the metrics its source feeds", () => {
    for (const source of ORG_SOURCES.filter((s) => s.name in SOURCE_READINGS)) {
      const names = new Set(recorded(source.name).map((point) => point.split("{")[0]));
      expect([source.name, [...names].sort()]).toEqual([source.name, [...source.feeds].sort()]);
    }
  });

  test("the values and labels of each state", () => {
    expect(recorded("agent-pools")).toEqual([
      'pulumi_agent_pool_up{"org":"acme","pool":"runners"} 1',
      'pulumi_agent_pool_agents{"org":"acme","pool":"runners","status":"online"} 2',
      'pulumi_agent_pool_agents{"org":"acme","pool":"runners","status":"offline"} 1',
      'pulumi_agent_pool_last_seen_timestamp_seconds{"org":"acme","pool":"runners"} 1700000000',
    ]);
    expect(recorded("drift")).toEqual([
      'pulumi_stack_drift_detected{"org":"acme","project":"web","stack":"prod"} 1',
    ]);
    expect(recorded("tokens")).toContain('pulumi_org_access_tokens{"org":"acme","expiry":"later"} 3');
    expect(recorded("tokens")).toContain(
      "pulumi_exporter_access_token_expiry_timestamp_seconds{} 1750000000",
    );
  });
});
