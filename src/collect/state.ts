/**
 * What the collector remembers between cycles. Everything here is plain data, so it can be written to the state
 * file and read back after a restart.
 */
import type { DeploymentStatusLabel } from "./label-values.ts";

export interface PendingUpdate {
  readonly version: number;
  readonly kind: string;
}

export interface StackTrack {
  /** Pulumi's stack id: a stack deleted and recreated under the same name gets a new one. */
  readonly id: string | undefined;
  readonly org: string;
  readonly project: string;
  readonly stack: string;
  /** The stack list's `lastUpdate` when the history was last read successfully. */
  readonly listLastUpdate: number | undefined;
  /** Highest update version seen. */
  readonly lastVersion: number;
  /** Updates seen running; each is counted once, when it reaches a terminal result. */
  readonly pending: readonly PendingUpdate[];
  readonly resourceCount: number | undefined;
  /** Exported as pulumi_stack_last_update_timestamp; never goes backwards. */
  readonly lastUpdateTimestamp: number | undefined;
  /**
   * The start (Unix seconds) of the newest update a history read saw: when the listing's `lastUpdate` moves to it,
   * the update it announces was read already. Not saved in the state file (a restart reads again).
   */
  readonly newestStart?: number;
  /**
   * Epoch ms of the last successful history read: with webhooks, a running update is read again by the cycle only
   * once the reconcile interval has passed since. Not saved in the state file (a restart reads again).
   */
  readonly historyReadAt?: number;
  /**
   * Polling: how many times the update now running was read again since it was first seen running, which sets
   * the gap before the next read (stacks.ts `RunningReread`). Not saved in the state file (a restart reads again).
   */
  readonly rereads?: number;
}

export interface PolicyResults {
  readonly policyTotal: number;
  readonly policyWithIssues: number;
  readonly resourcesTotal: number;
  readonly resourcesWithIssues: number;
}

export interface NeoBudget {
  readonly consumed: number;
  readonly allowance: number;
  readonly exhausted: boolean;
}

export interface NeoUsage {
  /** Task count by status: every value of NEO_TASK_STATUS (src/collect/label-values.ts), `other` included. */
  readonly tasksByStatus: Readonly<Record<string, number>>;
  readonly tokensCurrentMonth: number;
  readonly tokensTotal: number;
}

/** Last good values of one organization; `undefined` = never read successfully. */
export interface OrgValues {
  /** Every value of DEPLOYMENT_STATUS; a state file written before `other` existed lacks it. */
  readonly deployments?: Readonly<Partial<Record<DeploymentStatusLabel, number>>>;
  /** The deployments metadata's `concurrency`: how many deployments may run at once. */
  readonly deploymentConcurrency?: number;
  /** The deployments metadata's `paused`: new deployments of the organization are paused. */
  readonly deploymentsPaused?: boolean;
  readonly members?: number;
  readonly teams?: number;
  readonly environments?: number;
  readonly policyGroups?: number;
  readonly policyPacks?: number;
  /** Violation count by `level|kind`: every combination of the bounded label values, 0 included. */
  readonly violations?: Readonly<Record<string, number>>;
  readonly policyResults?: PolicyResults;
  readonly neo?: NeoUsage;
  /** `null`: the organization has no Neo token budget. */
  readonly neoBudget?: NeoBudget | null;
}

export interface CollectorState {
  /** Unix seconds at which the first cycle began: the no-replay baseline. */
  readonly firstCycleStartedAt: number | undefined;
  /** Keyed by `org/project/stack`. */
  readonly stacks: ReadonlyMap<string, StackTrack>;
  /** Recently deleted stacks by id, so a stack that vanishes from one listing and comes back is not re-counted. */
  readonly tombstones: ReadonlyMap<string, StackTrack>;
  readonly orgs: ReadonlyMap<string, OrgValues>;
  /**
   * Stacks missing from their organization's last completed stack listings, by key, with how many in a row. A stack
   * is gone, and its update series may be dropped, only after `LISTINGS_MISSED_BEFORE_GONE` of them: a cycle cut off
   * or a listing that failed says nothing. Not saved in the state file: a new process has no series to keep.
   */
  readonly missedListings?: ReadonlyMap<string, number>;
  /**
   * Source name → organization → the state of a source that keeps its own (src/collect/source.ts); saved in the
   * state file through each source's codec.
   */
  readonly sources?: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /**
   * `source|org` → epoch ms of the cycle start of the source's last successful run, for the organization cadence.
   * Saved for the sources with a codec (their state is saved with it, so an hourly read stays hourly across a
   * restart); the others' are not: a new process reads them once.
   */
  readonly sourceRuns?: ReadonlyMap<string, number>;
}

/** Completed stack listings a stack may miss in a row before it is gone (a malformed item can hide it from one). */
export const LISTINGS_MISSED_BEFORE_GONE = 3;

/** The stacks whose update series are kept: the tracked ones and those not yet missing from enough listings. */
export function retainedStacks(state: CollectorState): ReadonlySet<string> {
  return new Set([...state.stacks.keys(), ...(state.missedListings?.keys() ?? [])]);
}

export const MAX_TOMBSTONES = 10_000;

export function emptyState(): CollectorState {
  return { firstCycleStartedAt: undefined, stacks: new Map(), tombstones: new Map(), orgs: new Map() };
}

export function stackKey(org: string, project: string, stack: string): string {
  return `${org}/${project}/${stack}`;
}
