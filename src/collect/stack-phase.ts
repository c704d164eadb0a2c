/**
 * The stack phase of a cycle: each organization's stack listing, and the history of every stack whose listing
 * changed. Stacks missing from a completed listing are buried; a failed or cut-off listing says nothing about them.
 */
import type { StackRef } from "../pulumi/api.ts";
import { timeSlicer } from "../pulumi/time-slice.ts";
import type { StackSummary } from "../pulumi/types.ts";
import type { CycleWork } from "./cycle-work.ts";
import { collectStack, historyDecision, newTrack, type RunningReread, rereadsAfter } from "./stacks.ts";
import { LISTINGS_MISSED_BEFORE_GONE, MAX_TOMBSTONES, type StackTrack, stackKey } from "./state.ts";
import type { UpdateEvent } from "./updates.ts";

/** The stack part of the state, copied at the cycle's start and changed in place by the phase. */
export interface StackPhaseState {
  readonly stacks: Map<string, StackTrack>;
  readonly tombstones: Map<string, StackTrack>;
  readonly missedListings: Map<string, number>;
}

export interface StackPhase {
  /**
   * Lists one organization's stacks and reads the histories that changed: `listed` settles once the listing is in
   * (or failed), `done` once every history read is done too.
   */
  collectOrg(org: string): {
    /** Settles once the listing is in (or failed): with the organization's stacks, undefined when it failed. */
    readonly listed: Promise<readonly StackRef[] | undefined>;
    readonly done: Promise<void>;
  };
  /** Reads the histories of tracked stacks, without a listing (a targeted read: src/collect/targeted.ts). */
  readStacks(summaries: readonly StackSummary[]): Promise<void>;
  /**
   * The tracked stacks plus, for listed stacks whose first history read is still running, a track with only the
   * listing's resource count: what can be shown before the histories are in. Never part of the state: a
   * provisional track knows no versions, so counting from it would replay the history.
   */
  listedView(): ReadonlyMap<string, StackTrack>;
  readonly listedOrgs: ReadonlySet<string>;
  readonly events: readonly UpdateEvent[];
  /** Histories read successfully. */
  readonly stacksRead: () => number;
}

export interface StackPhaseOptions {
  readonly firstCycle: boolean;
  /** Unix seconds at which the first cycle began: the no-replay baseline. */
  readonly firstCycleStartedAt: number;
  /** Whether histories are read (the stack families are on); without them only the listing runs. */
  readonly readHistories: boolean;
  /** When a stack with an update running is read again while its listing shows nothing new; every cycle if unset. */
  readonly running?: RunningReread;
}

export function stackPhase(work: CycleWork, state: StackPhaseState, options: StackPhaseOptions): StackPhase {
  const { stacks } = state;
  const events: UpdateEvent[] = [];
  const listedOrgs = new Set<string>();
  const provisional = new Map<string, StackTrack>();
  let stacksRead = 0;

  const readStack = async (summary: StackSummary): Promise<void> => {
    const key = stackKey(summary.orgName, summary.projectName, summary.stackName);
    try {
      const result = await work.slot(() =>
        collectStack({
          api: work.api,
          summary,
          track: stacks.get(key),
          firstCycle: options.firstCycle,
          firstCycleStartedAt: options.firstCycleStartedAt,
        }),
      );
      if (!work.isOpen() || !result) return;
      const rereads = rereadsAfter(stacks.get(key), result.track);
      const { rereads: _before, ...read } = result.track;
      stacks.set(key, {
        ...read,
        historyReadAt: work.now(),
        ...(rereads === undefined ? {} : { rereads }),
      });
      events.push(...result.events);
      stacksRead++;
      work.succeeded(summary.orgName, "GetStackUpdates");
    } catch (error) {
      work.fail(
        "GetStackUpdates",
        summary.orgName,
        { project: summary.projectName, stack: summary.stackName },
        error,
      );
    }
  };

  /** A stack not read this cycle: the listing's resource count, and its `lastUpdate` when already read. */
  const keepListed = (key: string, track: StackTrack, summary: StackSummary, adopt: boolean): void => {
    const count = summary.resourceCount ?? track.resourceCount;
    if (!adopt && count === track.resourceCount) return;
    stacks.set(key, {
      ...track,
      resourceCount: count,
      ...(adopt ? { listLastUpdate: summary.lastUpdate ?? undefined } : {}),
    });
  };

  const listOrg = async (org: string, reads: Promise<void>[]): Promise<readonly StackRef[] | undefined> => {
    const live = new Set<string>();
    const refs: StackRef[] = [];
    const admit = (summary: StackSummary): void => {
      if (summary.orgName !== org) return;
      const key = stackKey(org, summary.projectName, summary.stackName);
      if (live.has(key)) return;
      live.add(key);
      refs.push({ org, project: summary.projectName, stack: summary.stackName });
      const track = unbury(state, key, summary);
      const policy = { now: work.now(), running: options.running };
      const decision = options.readHistories ? historyDecision(track, summary, policy) : "keep";
      if (decision === "read") {
        if (!track) provisional.set(key, { ...newTrack(summary), resourceCount: summary.resourceCount });
        reads.push(readStack(summary));
      } else if (track) {
        keepListed(key, track, summary, decision === "adopt");
      }
    };
    const onPage = pageAdmitter(work, admit);
    let listed = false;
    try {
      const summaries = await work.slot(() => work.api.listStacks(org, onPage.add));
      listed = summaries !== undefined;
    } catch (error) {
      work.fail("ListUserStacks", org, {}, error);
    }
    // Every page handed over is admitted before deletions are decided and the reads are awaited.
    await onPage.done();
    if (!work.isOpen() || !listed) return undefined;
    listedOrgs.add(org);
    work.succeeded(org, "ListUserStacks");
    buryMissing(state, org, live);
    return refs;
  };

  const collectOrg = (org: string) => {
    const reads: Promise<void>[] = [];
    const listed = listOrg(org, reads);
    return { listed, done: listed.then(() => Promise.all(reads)).then(() => undefined) };
  };

  const listedView = (): ReadonlyMap<string, StackTrack> => {
    if (provisional.size === 0) return new Map(stacks);
    const view = new Map(stacks);
    for (const [key, track] of provisional) if (!view.has(key)) view.set(key, track);
    return view;
  };

  const readStacks = async (summaries: readonly StackSummary[]): Promise<void> => {
    await Promise.all(summaries.map(readStack));
  };

  return { collectOrg, readStacks, listedView, listedOrgs, events, stacksRead: () => stacksRead };
}

/**
 * Admits each page's stacks in order as pages arrive, while the next pages load, even for a caller that does not
 * wait for one before handing over the next. A page of 200,000 stacks takes a second to admit: the event loop gets
 * a turn every few milliseconds.
 */
function pageAdmitter(work: CycleWork, admit: (summary: StackSummary) => void) {
  let admitting: Promise<void> | undefined;
  const admitPage = async (page: readonly StackSummary[]): Promise<void> => {
    const pause = timeSlicer();
    for (const summary of page) {
      if (!work.isOpen()) return;
      admit(summary);
      const turn = pause();
      if (turn) await turn;
    }
  };
  return {
    add(page: readonly StackSummary[]): Promise<void> {
      admitting = admitting ? admitting.then(() => admitPage(page)) : admitPage(page);
      return admitting;
    },
    done: (): Promise<void> => admitting ?? Promise.resolve(),
  };
}

/** The stack's track, brought back from the tombstones when a listing shows a buried stack again. */
function unbury(state: StackPhaseState, key: string, summary: StackSummary): StackTrack | undefined {
  const track = state.stacks.get(key);
  const buried = summary.id === undefined ? undefined : state.tombstones.get(summary.id);
  if (track || !buried) return track;
  state.tombstones.delete(buried.id as string);
  state.stacks.set(key, buried);
  return buried;
}

/** After a completed listing of `org`: its stacks not in it are buried, and their misses counted. */
function buryMissing(state: StackPhaseState, org: string, live: ReadonlySet<string>): void {
  for (const [key, track] of state.stacks) {
    if (track.org !== org || live.has(key)) continue;
    state.stacks.delete(key);
    if (track.id !== undefined) bury(state.tombstones, track);
    state.missedListings.set(key, 0);
  }
  countMissedListings(state.missedListings, org, live);
}

/** After a completed listing of `org`: one more miss for each of its stacks not in it; listed ones are back. */
function countMissedListings(missed: Map<string, number>, org: string, listed: ReadonlySet<string>): void {
  for (const [key, count] of missed) {
    if (!key.startsWith(`${org}/`)) continue;
    if (listed.has(key) || count + 1 >= LISTINGS_MISSED_BEFORE_GONE) missed.delete(key);
    else missed.set(key, count + 1);
  }
}

function bury(tombstones: Map<string, StackTrack>, track: StackTrack): void {
  if (track.id === undefined) return;
  tombstones.delete(track.id);
  tombstones.set(track.id, track);
  // Maps iterate in insertion order: drop the oldest beyond the bound.
  for (const id of tombstones.keys()) {
    if (tombstones.size <= MAX_TOMBSTONES) break;
    tombstones.delete(id);
  }
}
