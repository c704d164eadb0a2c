/**
 * Stack drift (`StackDeploymentsMetadata`'s `drift`), never every stack every cycle. A stack is read in the cycle in
 * which a `detect-drift` or `remediate-drift` deployment of it reached a terminal status (the deployments source's
 * events), and otherwise once per `--pulumi.drift-refresh`: each cycle reads the stacks due longest ago, at most
 * ⌈stacks × interval ÷ refresh⌉ of them, so the reads spread evenly over the refresh and the cost stays flat. The
 * stacks are the organization's listing of the same cycle: a stack deleted is gone from the state, so its series
 * vanishes; when the listing failed, the stacks known are kept and read on schedule.
 */
import type { PulumiApi, StackDrift, StackRef } from "../../pulumi/api.ts";
import { isPathName } from "../../pulumi/validate.ts";
import type { ItemFailure, OrgSource, SourceSettings, StateCodec } from "../source.ts";
import { type DropTally, isCount, isRecord, stateList } from "../state-check.ts";
import { type DeploymentEvent, deploymentRunsSource } from "./deployments.ts";

export interface DriftStack {
  readonly project: string;
  readonly stack: string;
  /** The latest drift detection found drift; undefined while the stack has had none (it has no series). */
  readonly drifted: boolean | undefined;
  /** Epoch ms (the cycle's start) of its last read, failed ones included; undefined before the first. */
  readonly readMs: number | undefined;
}

export interface DriftState {
  /** By `project/stack`. */
  readonly stacks: ReadonlyMap<string, DriftStack>;
}

const EMPTY_DRIFT_STATE: DriftState = { stacks: new Map() };

/** The deployments that make a stack's drift status change: it is read in the cycle they finish. */
const DRIFT_OPERATIONS: ReadonlySet<string> = new Set(["detect-drift", "remediate-drift"]);

const keyOf = (project: string, stack: string): string => `${project}/${stack}`;

/** The stacks of the state after this cycle's listing: the listed ones, with what is known of them. */
export function followListing(
  stacks: ReadonlyMap<string, DriftStack>,
  listing: readonly StackRef[] | undefined,
): Map<string, DriftStack> {
  if (listing === undefined) return new Map(stacks);
  const next = new Map<string, DriftStack>();
  for (const { project, stack } of listing) {
    const key = keyOf(project, stack);
    next.set(key, stacks.get(key) ?? { project, stack, drifted: undefined, readMs: undefined });
  }
  return next;
}

/** The stacks (`project/stack`) whose drift deployment reached a terminal status in this cycle. */
export function driftTriggers(events: readonly DeploymentEvent[]): Set<string> {
  const keys = new Set<string>();
  for (const e of events) {
    if (e.kind !== "finished" || !DRIFT_OPERATIONS.has(e.operation)) continue;
    if (e.project !== undefined && e.stack !== undefined) keys.add(keyOf(e.project, e.stack));
  }
  return keys;
}

/** Scheduled reads per cycle: every stack once per refresh, spread evenly (all of them when refresh = interval). */
export function driftQuota(stacks: number, settings: SourceSettings): number {
  const { collectIntervalMs, driftRefreshMs } = settings;
  return Math.min(
    stacks,
    Math.ceil((stacks * collectIntervalMs) / Math.max(driftRefreshMs, collectIntervalMs)),
  );
}

/**
 * The stacks to read this cycle: the triggered ones, then the quota of those due, read longest ago first (never
 * read first; ties by name). A stack is due once a refresh has passed since its last read, less half an interval,
 * so a cycle that starts a little early does not push it to the next one.
 */
export function stacksToRead(
  stacks: ReadonlyMap<string, DriftStack>,
  triggered: ReadonlySet<string>,
  nowMs: number,
  settings: SourceSettings,
): string[] {
  const dueBy = nowMs - settings.driftRefreshMs + settings.collectIntervalMs / 2;
  const due = [...stacks]
    .filter(([key, s]) => !triggered.has(key) && (s.readMs === undefined || s.readMs <= dueBy))
    .sort(([ka, a], [kb, b]) => (a.readMs ?? -1) - (b.readMs ?? -1) || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, driftQuota(stacks.size, settings))
    .map(([key]) => key);
  return [...[...triggered].filter((key) => stacks.has(key)), ...due];
}

type ReadOutcome =
  | { readonly key: string; readonly drift: StackDrift | undefined }
  | { readonly key: string; readonly failure: ItemFailure }
  /** Not read: the cycle closed before its turn. */
  | undefined;

async function readStack(
  api: PulumiApi,
  org: string,
  { project, stack }: DriftStack,
  slot: <T>(task: () => Promise<T>) => Promise<T | undefined>,
): Promise<ReadOutcome> {
  const key = keyOf(project, stack);
  try {
    const read = await slot(async () => ({ drift: await api.getStackDrift({ org, project, stack }) }));
    return read && { key, drift: read.drift };
  } catch (error) {
    return { key, failure: { fields: { project, stack }, error } };
  }
}

// ---- The state file ----

function checkStack(raw: unknown, where: string, tally: DropTally): DriftStack | undefined {
  if (
    isRecord(raw) &&
    // Names go into request paths when a listing fails: only what a listing could have held.
    typeof raw.project === "string" &&
    isPathName(raw.project) &&
    typeof raw.stack === "string" &&
    isPathName(raw.stack) &&
    (raw.drifted === undefined || typeof raw.drifted === "boolean") &&
    (raw.readMs === undefined || isCount(raw.readMs))
  ) {
    return { project: raw.project, stack: raw.stack, drifted: raw.drifted, readMs: raw.readMs };
  }
  tally.note("values", `${where} must be a project, a stack, an optional drifted flag and read time`);
  return undefined;
}

export const driftCodec: StateCodec<DriftState> = {
  save: (state) => ({
    stacks: [...state.stacks.values()].map((s) => ({
      project: s.project,
      stack: s.stack,
      ...(s.drifted === undefined ? {} : { drifted: s.drifted }),
      ...(s.readMs === undefined ? {} : { readMs: s.readMs }),
    })),
  }),
  load(raw, where, tally) {
    const list = stateList(raw, "stacks", where, tally);
    if (!list) return undefined;
    const stacks = new Map<string, DriftStack>();
    list.forEach((item, i) => {
      const checked = checkStack(item, `${where}.stacks[${i}]`, tally);
      if (checked) stacks.set(keyOf(checked.project, checked.stack), checked);
    });
    return { stacks };
  },
};

export const driftSource: OrgSource<DriftState, never> = {
  name: "drift",
  scope: "org",
  family: "drift",
  operations: ["StackDeploymentsMetadata"],
  cadence: "cycle",
  feeds: ["pulumi_stack_drift_detected"],
  calls:
    "1 per stack whose `detect-drift` or `remediate-drift` deployment finished in the cycle, + ⌈stacks × `--pulumi.collect-interval` ÷ `--pulumi.drift-refresh`⌉ per org (each stack once per refresh)",
  persist: driftCodec,
  needs: { listing: true, events: [deploymentRunsSource.name] },
  concurrency: "per-call",
  async run({ api, org, previous, now, settings, listing, events, slot }) {
    const nowMs = now.getTime();
    const stacks = followListing((previous ?? EMPTY_DRIFT_STATE).stacks, listing);
    const deployments = (events.get(deploymentRunsSource.name) ?? []) as readonly DeploymentEvent[];
    const keys = stacksToRead(stacks, driftTriggers(deployments), nowMs, settings);
    const outcomes = await Promise.all(
      keys.map((key) => readStack(api, org, stacks.get(key) as DriftStack, slot)),
    );
    const failures: ItemFailure[] = [];
    for (const outcome of outcomes) {
      if (outcome === undefined) continue;
      const known = stacks.get(outcome.key) as DriftStack;
      if ("failure" in outcome) failures.push(outcome.failure);
      const drifted = "failure" in outcome ? known.drifted : outcome.drift?.driftDetected;
      stacks.set(outcome.key, { ...known, drifted, readMs: nowMs });
    }
    return { state: { stacks }, failures, ...(keys.length === 0 ? { idle: true as const } : {}) };
  },
};
