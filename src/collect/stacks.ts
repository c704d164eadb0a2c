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

/** Whether the stack's update history must be read this cycle. */
export function needsHistory(track: StackTrack | undefined, summary: StackSummary): boolean {
  if (!track) return true;
  if (track.id !== undefined && summary.id !== undefined && track.id !== summary.id) return true;
  if (track.pending.length > 0) return true;
  return (summary.lastUpdate ?? undefined) !== track.listLastUpdate;
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
  return { track: { ...result.track, id: summary.id, resourceCount }, events: result.events };
}
