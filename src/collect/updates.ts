/**
 * Turning a stack's update history into events, exactly once per update.
 *
 * An update is counted when it is first seen with a terminal result, with its final result, duration and
 * resource changes. What was already finished when the exporter first looked is the baseline and is not
 * replayed; an update seen running is always counted when it finishes.
 */
import type { StackUpdate } from "../pulumi/types.ts";
import { RESOURCE_OPERATION, type UnknownValues, UPDATE_KIND } from "./label-values.ts";
import type { PendingUpdate, StackTrack } from "./state.ts";

export interface UpdateEvent {
  readonly org: string;
  readonly project: string;
  readonly stack: string;
  readonly kind: string;
  readonly result: string;
  readonly version: number;
  /** `undefined` when the API gave no usable start/end time. */
  readonly durationSeconds: number | undefined;
  readonly resourceChanges: Readonly<Record<string, number>>;
}

/**
 * How updates first seen finished are treated:
 * - `baseline`: the first cycle; finished updates are history, not events.
 * - `since`: a stack that appeared later; updates that ended at or after `since` (Unix seconds) are counted.
 * - `known`: a tracked stack; every newly seen finished update is counted.
 */
export type CountingMode =
  | { readonly kind: "baseline" }
  | { readonly kind: "since"; readonly since: number }
  | { readonly kind: "known" };

const TERMINAL_RESULTS = new Set(["succeeded", "failed"]);

export function isTerminal(result: string): boolean {
  return TERMINAL_RESULTS.has(result);
}

export function updateDuration(update: StackUpdate): number | undefined {
  const { startTime, endTime } = update;
  if (!endTime || startTime <= 0 || endTime < startTime) return undefined;
  return endTime - startTime;
}

/**
 * The version at or below which nothing can change for a known stack: the history walk stops once it reaches
 * it. Running updates keep the floor below them until they finish.
 */
export function historyFloor(track: StackTrack): number {
  const lowestPending = track.pending.reduce((min, p) => Math.min(min, p.version), Number.POSITIVE_INFINITY);
  return Math.min(track.lastVersion, lowestPending - 1);
}

/**
 * Whether an update marks the end of what the counting mode needs: nothing older can change a count.
 * - baseline: a finished update (older ones are history);
 * - since: one that ended before `since` (updates of one stack run one after another, so all older ones did too);
 * - known: one at or below the floor.
 */
export function isHistoryBoundary(update: StackUpdate, mode: CountingMode, floor: number): boolean {
  switch (mode.kind) {
    case "baseline":
      return isTerminal(update.result);
    case "since":
      return isTerminal(update.result) && (update.endTime ?? 0) > 0 && (update.endTime ?? 0) < mode.since;
    case "known":
      return update.version <= floor;
  }
}

/** Whether the pages read so far (newest first) reach back far enough for the counting mode. */
export function historyComplete(updates: readonly StackUpdate[], mode: CountingMode, floor: number): boolean {
  // The baseline reads one page: it needs the newest updates only.
  return mode.kind === "baseline" || updates.some((u) => isHistoryBoundary(u, mode, floor));
}

/**
 * Whether an update proves that everything older than it is irrelevant to the counting mode. The history is
 * newest first, so an item older than a valid update `u` has a lower version and ended before `u` started.
 */
function coversOlderItems(update: StackUpdate, mode: CountingMode, floor: number): boolean {
  switch (mode.kind) {
    case "baseline":
      return isTerminal(update.result);
    case "since":
      return update.startTime > 0 && update.startTime <= mode.since;
    case "known":
      return update.version <= floor + 1;
  }
}

/**
 * Whether items dropped as malformed could have changed a count: a dropped item is harmless only when a valid
 * update before it shows it is older than anything the mode needs. `droppedAfter` holds, for each dropped item,
 * how many valid updates (newest first, across pages) came before it.
 */
export function droppedItemsMatter(
  updates: readonly StackUpdate[],
  droppedAfter: readonly number[],
  mode: CountingMode,
  floor: number,
): boolean {
  return droppedAfter.some(
    (before) => !updates.slice(0, before).some((u) => coversOlderItems(u, mode, floor)),
  );
}

export interface HistoryResult {
  readonly track: StackTrack;
  readonly events: UpdateEvent[];
}

/**
 * Applies a stack's newest updates (any order; newest first as the API returns them) to its track.
 * Pure: returns the next track and the updates to count now.
 */
export function applyHistory(
  track: StackTrack,
  updates: readonly StackUpdate[],
  mode: CountingMode,
  listLastUpdate: number | undefined,
): HistoryResult {
  const events: UpdateEvent[] = [];
  const pending = new Map<number, PendingUpdate>(track.pending.map((p) => [p.version, p]));
  let lastVersion = track.lastVersion;
  let latestEnd: number | undefined;

  const oldestFirst = [...updates].sort((a, b) => a.version - b.version);
  for (const update of oldestFirst) {
    if (isTerminal(update.result)) {
      if (update.endTime && update.endTime > 0) latestEnd = Math.max(latestEnd ?? 0, update.endTime);
      const wasRunning = pending.delete(update.version);
      const firstSeen = update.version > track.lastVersion;
      if (wasRunning || (firstSeen && countsWhenFirstSeenFinished(update, mode))) {
        events.push(toEvent(track, update));
      }
    } else if (update.version > track.lastVersion && !pending.has(update.version)) {
      pending.set(update.version, { version: update.version, kind: update.kind });
    }
    lastVersion = Math.max(lastVersion, update.version);
  }

  const candidate = latestEnd ?? (track.lastUpdateTimestamp === undefined ? listLastUpdate : undefined);
  const lastUpdateTimestamp =
    candidate === undefined || candidate <= 0
      ? track.lastUpdateTimestamp
      : Math.max(track.lastUpdateTimestamp ?? 0, candidate);

  return {
    track: {
      ...track,
      listLastUpdate,
      lastVersion,
      pending: [...pending.values()].sort((a, b) => a.version - b.version),
      lastUpdateTimestamp,
    },
    events,
  };
}

function countsWhenFirstSeenFinished(update: StackUpdate, mode: CountingMode): boolean {
  switch (mode.kind) {
    case "baseline":
      return false;
    case "since":
      return (update.endTime ?? 0) >= mode.since;
    case "known":
      return true;
  }
}

function toEvent(track: StackTrack, update: StackUpdate): UpdateEvent {
  return {
    org: track.org,
    project: track.project,
    stack: track.stack,
    kind: update.kind,
    result: update.result,
    version: update.version,
    durationSeconds: updateDuration(update),
    resourceChanges: update.resourceChanges ?? {},
  };
}

/** The kinds and resource operations (keys of `resourceChanges`) of counted updates that the spec does not list. */
export function unknownUpdateValues(events: readonly UpdateEvent[]): UnknownValues[] {
  let kinds = 0;
  let operations = 0;
  for (const event of events) {
    if (!UPDATE_KIND.isKnown(event.kind)) kinds++;
    for (const operation of Object.keys(event.resourceChanges))
      if (!RESOURCE_OPERATION.isKnown(operation)) operations++;
  }
  const out: UnknownValues[] = [
    { operation: "GetStackUpdates", field: "kind", count: kinds },
    { operation: "GetStackUpdates", field: "resourceChanges", count: operations },
  ];
  return out.filter((u) => u.count > 0);
}

/**
 * Whether the history shows a different stack than the track: Pulumi restarts versions at 1 when a stack is
 * deleted and recreated under the same name.
 */
export function historyRestarted(track: StackTrack, updates: readonly StackUpdate[]): boolean {
  if (track.lastVersion === 0 || updates.length === 0) return false;
  const newest = updates.reduce((max, u) => Math.max(max, u.version), 0);
  return newest < track.lastVersion;
}
