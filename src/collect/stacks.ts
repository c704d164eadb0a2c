/** Per-stack collection: which stacks need API calls this cycle, and reading their history. */
import type { PulumiApi, StackRef } from "../pulumi/api.ts";
import type { StackSummary, StackUpdate } from "../pulumi/types.ts";

import type { StackTrack } from "./state.ts";
import {
  applyHistory,
  type CountingMode,
  droppedItemsMatter,
  type HistoryResult,
  historyComplete,
  historyFloor,
  historyRestarted,
} from "./updates.ts";

/** Small pages: in steady state one page holds every update since the last cycle. */
export const UPDATES_PAGE_SIZE = 10;
/** A bound on the history walk of one stack in one cycle. */
export const MAX_HISTORY_PAGES = 50;

export function newTrack(summary: StackSummary): StackTrack {
  return {
    id: summary.id,
    org: summary.orgName,
    project: summary.projectName,
    stack: summary.stackName,
    listLastUpdate: undefined,
    lastVersion: 0,
    pending: [],
    resourceCount: undefined,
    lastUpdateTimestamp: undefined,
  };
}

/**
 * How soon a stack whose update is running is read again while its listing shows nothing new: the listing does
 * not change when an update finishes (`lastUpdate` is its start), so only a read finds the end.
 */
export type RunningReread =
  /**
   * Polling: read again two intervals after it was first seen running, then one interval longer each time, up to
   * `maxGapMs`. About half the reads of every cycle (most of a steady cycle's calls are these); the end is seen at
   * most `maxGapMs - intervalMs` later than a read every cycle would see it, and the update's duration and result
   * are exact either way.
   */
  | { readonly mode: "backoff"; readonly intervalMs: number; readonly maxGapMs: number }
  /** Webhooks: the update's event reads it; the cycle reads it again only `everyMs` after its last read. */
  | { readonly mode: "reconcile"; readonly everyMs: number };

export interface RereadPolicy {
  /** Epoch ms now. */
  readonly now: number;
  /** `undefined`: every cycle. */
  readonly running: RunningReread | undefined;
}

/**
 * What the listing's view of a tracked stack calls for: `read` its history; `adopt` the listing's `lastUpdate`
 * without a read (a targeted read already saw the update it announces); or `keep` the track as it is.
 */
export type HistoryDecision = "read" | "adopt" | "keep";

export function historyDecision(
  track: StackTrack | undefined,
  summary: StackSummary,
  policy?: RereadPolicy,
): HistoryDecision {
  if (!track) return "read";
  if (track.id !== undefined && summary.id !== undefined && track.id !== summary.id) return "read";
  const reconciling = policy?.running?.mode === "reconcile";
  const listed = summary.lastUpdate ?? undefined;
  if (listed !== track.listLastUpdate) {
    // `lastUpdate` is the newest update's start. An update read by its webhook before the listing showed it is not
    // read again; with webhooks only, so that polling alone behaves as it always has.
    return reconciling && listed !== undefined && listed === track.newestStart ? "adopt" : "read";
  }
  if (track.pending.length === 0) return "keep";
  // A resource count that moved while an update runs is the listing's one sign that it may have ended.
  if (resourceCountMoved(track, summary)) return "read";
  const running = policy?.running;
  if (!running) return "read";
  return runningRereadDue(track, policy.now, running) ? "read" : "keep";
}

function resourceCountMoved(track: StackTrack, summary: StackSummary): boolean {
  const listed = summary.resourceCount ?? undefined;
  return listed !== undefined && track.resourceCount !== undefined && listed !== track.resourceCount;
}

function runningRereadDue(track: StackTrack, now: number, running: RunningReread): boolean {
  const readAt = track.historyReadAt;
  if (running.mode === "reconcile") return rereadDue(readAt, now, running.everyMs);
  if (readAt === undefined) return true;
  const gap = backoffGapMs(track.rereads ?? 0, running);
  // Reads and this check happen at cycle times give or take the cycle's own work: half an interval of slack
  // makes a gap of n intervals mean the n-th cycle after the read, never the one after.
  return gap <= running.intervalMs || now - readAt >= gap - running.intervalMs / 2;
}

/** The gap after the `rereads`-th re-read of a running update: two intervals, then one more each time, up to the maximum. */
export function backoffGapMs(rereads: number, backoff: { intervalMs: number; maxGapMs: number }): number {
  return Math.min(backoff.maxGapMs, (rereads + 2) * backoff.intervalMs);
}

/**
 * How many times the cycle has read the running update of `next` again since it was first seen running: counted
 * on while the same update keeps running, none once it ended or another one runs.
 */
export function rereadsAfter(previous: StackTrack | undefined, next: StackTrack): number | undefined {
  const running = next.pending[0]?.version;
  if (running === undefined) return undefined;
  if (previous?.pending[0]?.version !== running) return 0;
  return (previous.rereads ?? 0) + 1;
}

/** The share of the reconcile interval a re-read may come early (as ORG_INTERVAL_SLACK for the org cadence). */
export const REREAD_SLACK = 0.05;

/**
 * Whether the reconciliation read of a running update is due. The read's time and the check's are both taken
 * within a cycle, so the same share of slack as the organization cadence keeps "every 5 minutes" from slipping
 * to every 6 cycles of a minute.
 */
export function rereadDue(readAt: number | undefined, now: number, rereadMs: number): boolean {
  return readAt === undefined || now - readAt >= rereadMs * (1 - REREAD_SLACK);
}

/** Whether the stack's history must be read this cycle. */
export function needsHistory(
  track: StackTrack | undefined,
  summary: StackSummary,
  policy?: RereadPolicy,
): boolean {
  return historyDecision(track, summary, policy) === "read";
}

export function refOf(summary: StackSummary): StackRef {
  return { org: summary.orgName, project: summary.projectName, stack: summary.stackName };
}

/**
 * Reads pages of the history (newest first) until they reach back far enough for the counting mode. Throws when
 * the API dropped a malformed update that could change a count: the stack keeps its previous values this cycle,
 * rather than miss an update or count an old one again.
 */
export async function readHistory(
  api: PulumiApi,
  ref: StackRef,
  mode: CountingMode,
  floor: number,
  pageSize = UPDATES_PAGE_SIZE,
): Promise<StackUpdate[]> {
  const updates: StackUpdate[] = [];
  const droppedAfter: number[] = [];
  for (let page = 1; page <= MAX_HISTORY_PAGES; page++) {
    const result = await api.getStackUpdates(ref, page, pageSize);
    for (const before of result.droppedAfter ?? []) droppedAfter.push(updates.length + before);
    updates.push(...result.updates);
    if (historyComplete(updates, mode, floor)) break;
    const received = result.updates.length + (result.droppedAfter?.length ?? 0);
    const exhausted = received < pageSize || (result.total !== undefined && page * pageSize >= result.total);
    if (exhausted) break;
  }
  if (droppedItemsMatter(updates, droppedAfter, mode, floor)) {
    throw new Error(
      `the update history of ${ref.org}/${ref.project}/${ref.stack} has a malformed update where it matters; keeping the previous values`,
    );
  }
  return updates;
}

export interface StackCollectInput {
  readonly api: PulumiApi;
  readonly summary: StackSummary;
  /** The stack's track from earlier cycles (or restored from a tombstone), if any. */
  readonly track: StackTrack | undefined;
  readonly firstCycle: boolean;
  /** Unix seconds at which the first cycle began. */
  readonly firstCycleStartedAt: number;
}

/**
 * Collects one stack whose history must be read: resource count (when the list lacks it) and new updates.
 * Throws on API failure; the caller keeps the previous track.
 */
export async function collectStack(input: StackCollectInput): Promise<HistoryResult> {
  const { api, summary, firstCycle, firstCycleStartedAt } = input;
  const ref = refOf(summary);
  const replaced = input.track !== undefined && input.track.id !== summary.id && summary.id !== undefined;
  let track = input.track && !replaced ? input.track : newTrack(summary);
  let mode: CountingMode =
    input.track && !replaced
      ? { kind: "known" }
      : firstCycle
        ? { kind: "baseline" }
        : { kind: "since", since: firstCycleStartedAt };

  let updates = await readHistory(api, ref, mode, historyFloor(track));
  if (mode.kind === "known" && historyRestarted(track, updates)) {
    // Deleted and recreated between two cycles: a new stack as far as counting goes.
    track = newTrack(summary);
    mode = firstCycle ? { kind: "baseline" } : { kind: "since", since: firstCycleStartedAt };
    updates = await readHistory(api, ref, mode, historyFloor(track));
  }

  const resourceCount = summary.resourceCount ?? (await api.getStackResourceCount(ref));
  const result = applyHistory(track, updates, mode, summary.lastUpdate);
  const newestStart = newestStartOf(updates) ?? result.track.newestStart;
  return {
    track: {
      ...result.track,
      id: summary.id,
      resourceCount,
      ...(newestStart === undefined ? {} : { newestStart }),
    },
    events: result.events,
  };
}

/** The start of the newest update (the highest version) in a history read. */
function newestStartOf(updates: readonly StackUpdate[]): number | undefined {
  let newest: StackUpdate | undefined;
  for (const update of updates) if (!newest || update.version > newest.version) newest = update;
  return newest?.startTime;
}
