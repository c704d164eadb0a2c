/**
 * Self-hosted deployment agent pools: `ListOrgAgentPool` every cycle, then `GetAgentPool` for each pool (pools are
 * few) for its agents by status. A pool deleted since the last read is gone from the state, so its series vanish.
 */
import { type } from "arktype";
import type { PulumiApi } from "../../pulumi/api.ts";
import { list } from "../../pulumi/endpoints.ts";
import type { components } from "../../pulumi/schema.gen.ts";
import { lazy, scalars } from "../../pulumi/validate.ts";
import { everyValueOf } from "../label-values.ts";
import type { OrgSource, StateCodec } from "../source.ts";
import { type DropTally, isCount, isRecord, stateList } from "../state-check.ts";

/** Pools read per organization: one call each per cycle, so the cost stays bounded whatever the API lists. */
export const MAX_AGENT_POOLS = 100;

/** An agent's status (`DeploymentAgentStatus`): both reported, 0 included; another is counted as neither. */
export const AGENT_STATUSES = everyValueOf<components["schemas"]["DeploymentAgentMetadata"]["status"]>()([
  "online",
  "offline",
]);

export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** An agent pool as listed: `status` and `lastSeen` are the pool's aggregate (open string: a new status is not "online"). */
export interface AgentPoolItem {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  /** Unix seconds. */
  readonly lastSeen: number;
}

const agentPoolItem = lazy<AgentPoolItem>(() => {
  const { unixSeconds, pathName } = scalars();
  return type({ id: pathName, name: "string", status: "string", lastSeen: unixSeconds }).onUndeclaredKey(
    "delete",
  );
});

/** The organization's pools. */
export const LIST_AGENT_POOLS = list({
  operation: "ListOrgAgentPool",
  params: (org: string) => ({ path: { orgName: org } }),
  validator: agentPoolItem,
});

/** A pool's agents (only their status is read); `null` when the pool was deleted since the listing (404). */
export const GET_AGENT_POOL_AGENTS = list({
  operation: "GetAgentPool",
  params: (org: string, poolId: string) => ({ path: { orgName: org, poolId } }),
  validator: lazy(() => type({ status: "string" }).onUndeclaredKey("delete")),
  goneOn404: true,
});

export interface AgentPoolValues {
  /** The pool's name: the `pool` label. */
  readonly name: string;
  readonly online: boolean;
  /** Unix seconds. */
  readonly lastSeen: number;
  readonly agents: Readonly<Record<AgentStatus, number>>;
}

export interface AgentPoolsState {
  readonly pools: readonly AgentPoolValues[];
}

/**
 * The pools to read: one per name (the `pool` label; the lowest id wins a clash), the first `MAX_AGENT_POOLS`
 * by name, so the same pools are kept from one cycle to the next.
 */
export function boundedPools(pools: readonly AgentPoolItem[], max = MAX_AGENT_POOLS): AgentPoolItem[] {
  const byName = new Map<string, AgentPoolItem>();
  for (const pool of [...pools].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!byName.has(pool.name)) byName.set(pool.name, pool);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, max);
}

export function countAgents(statuses: readonly { status: string }[]): Record<AgentStatus, number> {
  const counts: Record<AgentStatus, number> = { online: 0, offline: 0 };
  for (const { status } of statuses) if (status === "online" || status === "offline") counts[status]++;
  return counts;
}

async function readPool(
  api: PulumiApi,
  org: string,
  pool: AgentPoolItem,
): Promise<AgentPoolValues | undefined> {
  const agents = await api.read(GET_AGENT_POOL_AGENTS, org, pool.id);
  // Deleted between the listing and this read: gone, like a pool no longer listed.
  if (agents === null) return undefined;
  return {
    name: pool.name,
    online: pool.status === "online",
    lastSeen: pool.lastSeen,
    agents: countAgents(agents),
  };
}

function checkPool(raw: unknown, where: string, tally: DropTally): AgentPoolValues | undefined {
  const agents = isRecord(raw) && isRecord(raw.agents) ? raw.agents : undefined;
  if (
    isRecord(raw) &&
    typeof raw.name === "string" &&
    typeof raw.online === "boolean" &&
    isCount(raw.lastSeen) &&
    agents !== undefined &&
    AGENT_STATUSES.every((status) => isCount(agents[status]))
  ) {
    const counts = Object.fromEntries(AGENT_STATUSES.map((status) => [status, agents[status]]));
    return {
      name: raw.name,
      online: raw.online,
      lastSeen: raw.lastSeen,
      agents: counts as Record<AgentStatus, number>,
    };
  }
  tally.note("values", `${where} must be a name, an online flag, a last-seen time and agent counts`);
  return undefined;
}

/** The pools cross a restart, so their series are exported from the first moment, as the other families'. */
export const agentPoolsCodec: StateCodec<AgentPoolsState> = {
  save: (state) => ({ pools: state.pools.map((pool) => ({ ...pool, agents: { ...pool.agents } })) }),
  load(raw, where, tally) {
    const list = stateList(raw, "pools", where, tally);
    if (!list) return undefined;
    const pools = list.flatMap((pool, i) => checkPool(pool, `${where}.pools[${i}]`, tally) ?? []);
    if (pools.length > MAX_AGENT_POOLS)
      tally.note("values", `${where}.pools must hold at most ${MAX_AGENT_POOLS}`);
    return { pools: pools.slice(0, MAX_AGENT_POOLS) };
  },
};

export const agentPoolsSource: OrgSource<AgentPoolsState, never> = {
  name: "agent-pools",
  scope: "org",
  family: "agent-pools",
  operations: ["ListOrgAgentPool", "GetAgentPool"],
  cadence: "cycle",
  calls: "1 per org, + 1 per agent pool (at most 100)",
  feeds: [
    "pulumi_agent_pool_up",
    "pulumi_agent_pool_agents",
    "pulumi_agent_pool_last_seen_timestamp_seconds",
  ],
  persist: agentPoolsCodec,
  async run({ api, org }) {
    const pools = boundedPools(await api.read(LIST_AGENT_POOLS, org));
    const read = await Promise.all(pools.map((pool) => readPool(api, org, pool)));
    return { state: { pools: read.filter((pool) => pool !== undefined) } };
  },
};
