/**
 * Pulumi Deployments runs: `ListOrgDeployments` read incrementally, each run turned into events exactly once.
 *
 * The list is read newest first by creation. A run reads page after page while a page holds
 * only new or still-unfinished deployments, and further while a deployment tracked as unfinished may lie deeper;
 * in steady state that is one call. Counting follows the rules of stack updates (src/collect/updates.ts):
 * - a deployment first seen terminal is counted when it is new (created after the newest one already seen) and
 *   was created at or after the baseline (the exporter's first cycle); older ones are history, never replayed;
 * - a deployment first seen unfinished is tracked and counted when it reaches a terminal status, whenever it
 *   was created;
 * - its queue wait (`created` to the first job's `started`) is observed once, when the first job is first seen
 *   started, unless that start may predate the exporter's first look (an old deployment first seen running).
 * Everything the state holds is bounded: the unfinished deployments (oldest given up first, counted), the ids at
 * the newest creation time, and the agent pools that get their own label value (the rest are `other`).
 */
import type { DeploymentRun, DeploymentRunsPage, PulumiApi } from "../../pulumi/api.ts";
import {
  DEPLOYMENT_OPERATION,
  type DeploymentOperationLabel,
  OTHER,
  type UnknownValues,
} from "../label-values.ts";
import type { OrgSource, OrgSourceOutput, StateCodec } from "../source.ts";
import { type DropTally, describeValue, isCount, isRecord, type Raw } from "../state-check.ts";

/** Small pages: in steady state the first one reaches a deployment already known. */
export const DEPLOYMENTS_PAGE_SIZE = 50;
/** Pages read in one run at most: 1,000 deployments; what lies deeper is not read in that run. */
export const MAX_DEPLOYMENT_PAGES = 20;
/** Unfinished deployments tracked per organization at most; beyond it the oldest are given up (counted). */
export const MAX_UNFINISHED = 1000;
/** Runs in a row a tracked deployment may be missing from the list (deleted, out of reach) before it is given up. */
export const MAX_MISSES = 3;
/** Agent pools with their own `agent_pool` value per organization; deployments of any further pool are `other`. */
export const MAX_AGENT_POOLS = 50;
/** Ids kept of the deployments created at the newest creation time (ties within one millisecond). */
export const MAX_NEWEST_IDS = 100;
/** The `agent_pool` value of a deployment that ran on Pulumi's hosted runners (no agent pool). */
export const PULUMI_HOSTED = "pulumi-hosted";

const UNFINISHED_STATUSES: ReadonlySet<string> = new Set(["not-started", "accepted", "running"]);
export const DEPLOYMENT_RESULTS = ["succeeded", "failed", "skipped"] as const;
export type DeploymentResult = (typeof DEPLOYMENT_RESULTS)[number];

function isResult(status: string): status is DeploymentResult {
  return (DEPLOYMENT_RESULTS as readonly string[]).includes(status);
}

interface DeploymentLabels {
  readonly org: string;
  readonly operation: DeploymentOperationLabel;
  /** The pool's name, `pulumi-hosted`, or `other` beyond MAX_AGENT_POOLS pools. */
  readonly agentPool: string;
}

/** A deployment that reached a terminal status: `pulumi_deployments_total` and `pulumi_deployment_duration_seconds`. */
export interface DeploymentFinished extends DeploymentLabels {
  readonly kind: "finished";
  readonly result: DeploymentResult;
  /** First job `started` to last job `lastUpdated`; absent without jobs or either time. */
  readonly durationSeconds?: number;
  /** The stack it ran on (not a label: what other sources, e.g. drift, react to); absent when the API names none. */
  readonly project?: string;
  readonly stack?: string;
}

/** A deployment's first job seen started: `pulumi_deployment_queue_wait_seconds`. */
export interface DeploymentStarted extends DeploymentLabels {
  readonly kind: "started";
  /** `created` to the first job's `started`; 0 when clock skew puts the start first. */
  readonly queueWaitSeconds: number;
}

export type DeploymentEvent = DeploymentFinished | DeploymentStarted;

export interface TrackedDeployment {
  readonly id: string;
  readonly createdMs: number;
  /** Its queue wait is settled: observed, or its first job had started when it was first seen, as history. */
  readonly started: boolean;
  /** Runs in a row that did not see it. */
  readonly misses: number;
}

export interface DeploymentRunsState {
  /** `created` (Unix ms) of the newest deployment seen; 0 before any. A deployment created later is new. */
  readonly newestCreatedMs: number;
  /** The ids of the deployments created at exactly `newestCreatedMs`. */
  readonly newestIds: readonly string[];
  /** Deployments seen unfinished, oldest first. */
  readonly unfinished: readonly TrackedDeployment[];
  /** Agent pools with their own label value, in the order they first appeared. */
  readonly pools: readonly string[];
  /** Unfinished deployments given up since the state began (too many, or missing MAX_MISSES runs in a row). */
  readonly abandoned: number;
}

export const EMPTY_DEPLOYMENT_RUNS_STATE: DeploymentRunsState = {
  newestCreatedMs: 0,
  newestIds: [],
  unfinished: [],
  pools: [],
  abandoned: 0,
};

/** Created after the newest deployment of the state. */
function isNew(state: DeploymentRunsState, d: DeploymentRun): boolean {
  return (
    d.createdMs > state.newestCreatedMs ||
    (d.createdMs === state.newestCreatedMs && !state.newestIds.includes(d.id))
  );
}

/** New and not before the baseline: counted when first seen terminal, its queue wait observed when first seen. */
function isFresh(state: DeploymentRunsState, d: DeploymentRun, sinceMs: number): boolean {
  return isNew(state, d) && d.createdMs >= sinceMs;
}

/**
 * Nothing left to learn from it: not unfinished, not tracked, not fresh. Terminal history, or a status the spec
 * does not list (neither counted nor tracked: whether it is final is unknown).
 */
function isSettled(
  state: DeploymentRunsState,
  tracked: ReadonlySet<string>,
  d: DeploymentRun,
  sinceMs: number,
) {
  return !UNFINISHED_STATUSES.has(d.status) && !tracked.has(d.id) && !isFresh(state, d, sinceMs);
}

/**
 * Whether the run reads the page after `page`: the list goes on, and the page holds no settled deployment, or a
 * tracked deployment not seen yet may be further down (it was created no later than the page's oldest).
 */
export function readsNextPage(
  state: DeploymentRunsState,
  sinceMs: number,
  page: DeploymentRunsPage,
  pageNumber: number,
  seenIds: ReadonlySet<string>,
): boolean {
  if (page.received < DEPLOYMENTS_PAGE_SIZE) return false;
  if (page.total !== undefined && pageNumber * DEPLOYMENTS_PAGE_SIZE >= page.total) return false;
  const tracked = new Set(state.unfinished.map((t) => t.id));
  if (!page.deployments.some((d) => isSettled(state, tracked, d, sinceMs))) return true;
  const oldest = Math.min(...page.deployments.map((d) => d.createdMs));
  return state.unfinished.some((t) => !seenIds.has(t.id) && t.createdMs <= oldest);
}

/** The deployments a run needs, newest first, each once (offset pages shift when deployments are added). */
export async function readDeployments(
  api: PulumiApi,
  org: string,
  state: DeploymentRunsState,
  sinceMs: number,
): Promise<DeploymentRun[]> {
  const items: DeploymentRun[] = [];
  const seen = new Set<string>();
  for (let page = 1; page <= MAX_DEPLOYMENT_PAGES; page++) {
    const result = await api.listOrgDeploymentsPage(org, page, DEPLOYMENTS_PAGE_SIZE);
    for (const d of result.deployments) {
      if (seen.has(d.id)) continue;
      seen.add(d.id);
      items.push(d);
    }
    if (!readsNextPage(state, sinceMs, result, page, seen)) break;
  }
  return items;
}

export function durationSeconds(d: DeploymentRun): number | undefined {
  const started = d.jobs[0]?.startedMs;
  const ended = d.jobs.at(-1)?.lastUpdatedMs;
  if (started === undefined || ended === undefined || ended < started) return undefined;
  return (ended - started) / 1000;
}

/** The agent pool's label value; admits a new pool while fewer than MAX_AGENT_POOLS are (mutates `pools`). */
function poolLabel(pools: string[], name: string | undefined): string {
  if (name === undefined) return PULUMI_HOSTED;
  if (name === "") return OTHER;
  if (pools.includes(name)) return name;
  if (pools.length >= MAX_AGENT_POOLS) return OTHER;
  pools.push(name);
  return name;
}

/** One run's bookkeeping while the deployments it read are applied. */
class RunChanges {
  readonly events: DeploymentEvent[] = [];
  readonly pools: string[];
  readonly tracked: Map<string, TrackedDeployment>;
  unknownOperations = 0;
  unknownStatuses = 0;

  constructor(
    readonly org: string,
    state: DeploymentRunsState,
  ) {
    this.pools = [...state.pools];
    this.tracked = new Map(state.unfinished.map((t) => [t.id, t]));
  }

  labels(d: DeploymentRun): DeploymentLabels {
    return {
      org: this.org,
      operation: DEPLOYMENT_OPERATION.of(d.operation),
      agentPool: poolLabel(this.pools, d.agentPool),
    };
  }

  started(d: DeploymentRun): void {
    const startedMs = d.jobs[0]?.startedMs;
    if (startedMs === undefined) return;
    const queueWaitSeconds = Math.max(0, (startedMs - d.createdMs) / 1000);
    this.events.push({ kind: "started", ...this.labels(d), queueWaitSeconds });
  }

  finished(d: DeploymentRun, result: DeploymentResult): void {
    const duration = durationSeconds(d);
    this.events.push({
      kind: "finished",
      ...this.labels(d),
      result,
      ...(duration === undefined ? {} : { durationSeconds: duration }),
      ...(d.project === undefined || d.stack === undefined ? {} : { project: d.project, stack: d.stack }),
    });
    if (!DEPLOYMENT_OPERATION.isKnown(d.operation)) this.unknownOperations++;
  }
}

/** Applies one deployment to the run; `fresh` as isFresh. */
function applyOne(run: RunChanges, d: DeploymentRun, fresh: boolean): void {
  const track = run.tracked.get(d.id);
  const hasStarted = d.jobs[0]?.startedMs !== undefined;
  if (UNFINISHED_STATUSES.has(d.status)) {
    if (track === undefined && !fresh) {
      // First seen unfinished but not new: its start, if any, may predate the exporter's first look.
      run.tracked.set(d.id, { id: d.id, createdMs: d.createdMs, started: hasStarted, misses: 0 });
      return;
    }
    const settled = track?.started ?? false;
    if (!settled && hasStarted) run.started(d);
    run.tracked.set(d.id, { id: d.id, createdMs: d.createdMs, started: settled || hasStarted, misses: 0 });
    return;
  }
  if (track === undefined && !fresh) return;
  run.tracked.delete(d.id);
  if (!isResult(d.status)) {
    run.unknownStatuses++;
    return;
  }
  if (!(track?.started ?? false)) run.started(d);
  run.finished(d, d.status);
}

/** The newest creation time and its ids, over the state and the deployments read. */
function newestOf(
  state: DeploymentRunsState,
  items: readonly DeploymentRun[],
): Pick<DeploymentRunsState, "newestCreatedMs" | "newestIds"> {
  let newestCreatedMs = state.newestCreatedMs;
  for (const d of items) newestCreatedMs = Math.max(newestCreatedMs, d.createdMs);
  const ids = new Set(newestCreatedMs === state.newestCreatedMs ? state.newestIds : []);
  for (const d of items) if (d.createdMs === newestCreatedMs) ids.add(d.id);
  return { newestCreatedMs, newestIds: [...ids].slice(-MAX_NEWEST_IDS) };
}

/**
 * The tracked deployments after a run: those not seen count a miss (given up at MAX_MISSES), then the oldest
 * beyond MAX_UNFINISHED are given up. Oldest first.
 */
function keptUnfinished(tracked: ReadonlyMap<string, TrackedDeployment>, seen: ReadonlySet<string>) {
  let abandoned = 0;
  const kept: TrackedDeployment[] = [];
  for (const t of tracked.values()) {
    const misses = seen.has(t.id) ? 0 : t.misses + 1;
    if (misses >= MAX_MISSES) abandoned++;
    else kept.push({ ...t, misses });
  }
  kept.sort((a, b) => a.createdMs - b.createdMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const excess = Math.max(0, kept.length - MAX_UNFINISHED);
  return { unfinished: kept.slice(excess), abandoned: abandoned + excess };
}

/**
 * Applies the deployments one run read (newest first, each once) to the state. Pure: returns the next state, the
 * events to record now, and the unknown values of what was counted.
 */
export function applyDeployments(
  state: DeploymentRunsState,
  items: readonly DeploymentRun[],
  sinceMs: number,
  org: string,
): Required<Pick<OrgSourceOutput<DeploymentRunsState, DeploymentEvent>, "state" | "events" | "unknown">> {
  const run = new RunChanges(org, state);
  // Oldest first, so the events of one run come in the order the deployments were created.
  for (const d of [...items].reverse()) applyOne(run, d, isFresh(state, d, sinceMs));
  const { unfinished, abandoned } = keptUnfinished(run.tracked, new Set(items.map((d) => d.id)));
  const unknown: UnknownValues[] = [
    { operation: "ListOrgDeployments" as const, field: "pulumiOperation", count: run.unknownOperations },
    { operation: "ListOrgDeployments" as const, field: "status", count: run.unknownStatuses },
  ].filter((u) => u.count > 0);
  return {
    state: {
      ...newestOf(state, items),
      unfinished,
      pools: run.pools,
      abandoned: state.abandoned + abandoned,
    },
    events: run.events,
    unknown,
  };
}

// ---- The state file ----

function checkStrings(raw: unknown, where: string, max: number, tally: DropTally): string[] {
  if (!Array.isArray(raw)) {
    tally.note("values", `${where} must be an array (was ${describeValue(raw)})`);
    return [];
  }
  const strings = raw.filter((value): value is string => typeof value === "string");
  if (strings.length < raw.length) tally.note("values", `${where} must hold strings only`);
  if (strings.length > max) tally.note("values", `${where} must hold at most ${max} values`);
  return strings.slice(-max);
}

function checkTracked(raw: unknown, where: string, tally: DropTally): TrackedDeployment | undefined {
  if (
    isRecord(raw) &&
    typeof raw.id === "string" &&
    raw.id !== "" &&
    isCount(raw.createdMs) &&
    typeof raw.started === "boolean" &&
    isCount(raw.misses) &&
    raw.misses < MAX_MISSES
  )
    return { id: raw.id, createdMs: raw.createdMs, started: raw.started, misses: raw.misses };
  tally.note("values", `${where} must be an id, a creation time, a started flag and a miss count`);
  return undefined;
}

function checkUnfinished(raw: unknown, where: string, tally: DropTally): TrackedDeployment[] {
  if (!Array.isArray(raw)) {
    tally.note("values", `${where} must be an array (was ${describeValue(raw)})`);
    return [];
  }
  const kept = raw.flatMap((t, i) => checkTracked(t, `${where}[${i}]`, tally) ?? []);
  if (kept.length > MAX_UNFINISHED)
    tally.note("values", `${where} must hold at most ${MAX_UNFINISHED} values`);
  return kept.sort((a, b) => a.createdMs - b.createdMs).slice(-MAX_UNFINISHED);
}

function checkState(raw: Raw, where: string, tally: DropTally): DeploymentRunsState | undefined {
  if (!isCount(raw.newestCreatedMs)) {
    // Without it nothing tells new deployments from history: the entry goes, as if the source had never run.
    tally.note(
      "orgs",
      `${where}.newestCreatedMs must be a non-negative safe integer (was ${describeValue(raw.newestCreatedMs)})`,
    );
    return undefined;
  }
  let abandoned = 0;
  if (isCount(raw.abandoned)) abandoned = raw.abandoned;
  else
    tally.note(
      "values",
      `${where}.abandoned must be a non-negative safe integer (was ${describeValue(raw.abandoned)})`,
    );
  return {
    newestCreatedMs: raw.newestCreatedMs,
    newestIds: checkStrings(raw.newestIds, `${where}.newestIds`, MAX_NEWEST_IDS, tally),
    unfinished: checkUnfinished(raw.unfinished, `${where}.unfinished`, tally),
    pools: checkStrings(raw.pools, `${where}.pools`, MAX_AGENT_POOLS, tally),
    abandoned,
  };
}

export const deploymentRunsCodec: StateCodec<DeploymentRunsState> = {
  save: (state) => ({
    newestCreatedMs: state.newestCreatedMs,
    newestIds: [...state.newestIds],
    unfinished: state.unfinished.map((t) => ({ ...t })),
    pools: [...state.pools],
    abandoned: state.abandoned,
  }),
  load(raw, where, tally) {
    if (isRecord(raw)) return checkState(raw, where, tally);
    tally.note("orgs", `${where} must be an object (was ${describeValue(raw)})`);
    return undefined;
  },
};

export const deploymentRunsSource: OrgSource<DeploymentRunsState, DeploymentEvent> = {
  name: "deployments",
  scope: "org",
  family: "deployments",
  operations: ["ListOrgDeployments"],
  cadence: "cycle",
  feeds: [
    "pulumi_deployments_total",
    "pulumi_deployment_duration_seconds",
    "pulumi_deployment_queue_wait_seconds",
  ],
  calls:
    "1 per org while nothing new; + 1 per further page of 50 while a page holds only new or unfinished deployments, + the pages that hold unfinished ones still",
  persist: deploymentRunsCodec,
  async run({ api, org, previous, baselineSeconds }) {
    const state = previous ?? EMPTY_DEPLOYMENT_RUNS_STATE;
    const sinceMs = baselineSeconds * 1000;
    return applyDeployments(state, await readDeployments(api, org, state, sinceMs), sinceMs, org);
  },
};
