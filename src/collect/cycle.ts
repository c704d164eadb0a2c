/**
 * One collection cycle: from the previous state and the API's answers to the next state plus the updates that
 * finished since. A failing org, stack or endpoint keeps its last good values; work still running at the
 * deadline is abandoned and its results ignored, so a cycle never outlives its budget.
 */
import type { Logger } from "../log/logger.ts";
import type { Operation, PulumiApi } from "../pulumi/api.ts";
import { timeSlicer } from "../pulumi/time-slice.ts";
import type { StackSummary } from "../pulumi/types.ts";
import { systemTimers, waitOn } from "../timers.ts";
import { FailureStreaks } from "./failures.ts";
import { ORG_TASKS } from "./orgs.ts";
import type { Semaphore } from "./semaphore.ts";
import { collectStack, needsHistory } from "./stacks.ts";
import {
  type CollectorState,
  LISTINGS_MISSED_BEFORE_GONE,
  MAX_TOMBSTONES,
  type OrgValues,
  type StackTrack,
  stackKey,
} from "./state.ts";
import type { UpdateEvent } from "./updates.ts";

export interface CycleDeps {
  readonly api: PulumiApi;
  readonly semaphore: Semaphore;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Resolves after `ms`; tests may pass a controllable timer. */
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A collection step failed after the client's retries; its previous values are kept. */
  readonly onError?: (operation: Operation, org: string, error: unknown) => void;
  /** Failure streaks across cycles (logged once per streak); a cycle without one logs each problem once. */
  readonly failures?: FailureStreaks;
  /** An organization endpoint's fresh values, once they are in the state (not called for kept values). */
  readonly onOrgValues?: (values: Partial<OrgValues>) => void;
}

export interface CycleOptions {
  readonly organizations: readonly string[];
  /** Milliseconds after which unfinished work is abandoned. */
  readonly budgetMs: number;
}

export interface CycleStats {
  readonly orgs: number;
  readonly orgsListed: number;
  readonly stacks: number;
  readonly stacksRead: number;
  readonly events: number;
  readonly errors: number;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface CycleResult {
  readonly state: CollectorState;
  readonly events: readonly UpdateEvent[];
  readonly stats: CycleStats;
  /** The configured orgs whose stacks were listed. */
  readonly listedOrgs: ReadonlySet<string>;
  /** Every configured org's stacks were listed. */
  readonly up: boolean;
}

/** The budget of a cycle: 90 % of the interval, at least 10 s (never more than the interval). */
export function cycleBudgetMs(intervalMs: number): number {
  return Math.min(intervalMs, Math.max(10_000, Math.floor(intervalMs * 0.9)));
}

function defaultWait(ms: number, signal: AbortSignal): Promise<void> {
  return waitOn(systemTimers, ms, signal);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runCycle(
  previous: CollectorState,
  deps: CycleDeps,
  options: CycleOptions,
): Promise<CycleResult> {
  const now = deps.now ?? Date.now;
  const { semaphore, logger } = deps;
  const deadline = new AbortController();
  // Calls still running at the deadline are abandoned, so they cannot hold concurrency slots into the next cycle.
  const api = deps.api.withSignal?.(deadline.signal) ?? deps.api;
  const startedMs = now();
  const firstCycle = previous.firstCycleStartedAt === undefined;
  const firstCycleStartedAt = previous.firstCycleStartedAt ?? Math.floor(startedMs / 1000);
  const configured = new Set(options.organizations);

  const stacks = new Map([...previous.stacks].filter(([, track]) => configured.has(track.org)));
  const tombstones = new Map(previous.tombstones);
  const missedListings = new Map(
    [...(previous.missedListings ?? [])].filter(([key]) => configured.has(key.slice(0, key.indexOf("/")))),
  );
  const orgs = new Map<string, OrgValues>([...previous.orgs].filter(([org]) => configured.has(org)));
  const events: UpdateEvent[] = [];
  let open = true;
  let errors = 0;
  const listedOrgs = new Set<string>();
  let stacksRead = 0;
  const failures = deps.failures ?? new FailureStreaks(logger);

  const fail = (operation: Operation, org: string, fields: Record<string, string>, error: unknown): void => {
    if (!open) return;
    errors++;
    deps.onError?.(operation, org, error);
    failures.failed(org, operation, errorMessage(error), now(), fields);
  };

  /** Runs an API task in a semaphore slot, unless the cycle closed while it waited. */
  const slot = <T>(task: () => Promise<T>): Promise<T | undefined> =>
    semaphore.run(async () => (open ? task() : undefined));

  const readStack = async (summary: StackSummary): Promise<void> => {
    const key = stackKey(summary.orgName, summary.projectName, summary.stackName);
    try {
      const result = await slot(() =>
        collectStack({ api, summary, track: stacks.get(key), firstCycle, firstCycleStartedAt }),
      );
      if (!open || !result) return;
      stacks.set(key, result.track);
      events.push(...result.events);
      stacksRead++;
      failures.succeeded(summary.orgName, "GetStackUpdates");
    } catch (error) {
      fail(
        "GetStackUpdates",
        summary.orgName,
        { project: summary.projectName, stack: summary.stackName },
        error,
      );
    }
  };

  const collectOrgStacks = async (org: string): Promise<void> => {
    const live = new Set<string>();
    const reads: Promise<void>[] = [];
    const admit = (summary: StackSummary): void => {
      if (summary.orgName !== org) return;
      const key = stackKey(org, summary.projectName, summary.stackName);
      if (live.has(key)) return;
      live.add(key);
      let track = stacks.get(key);
      const buried = summary.id === undefined ? undefined : tombstones.get(summary.id);
      if (!track && buried) {
        track = buried;
        tombstones.delete(buried.id as string);
        stacks.set(key, track);
      }
      if (needsHistory(track, summary)) reads.push(readStack(summary));
      else if (
        track &&
        summary.resourceCount !== undefined &&
        summary.resourceCount !== track.resourceCount
      ) {
        stacks.set(key, { ...track, resourceCount: summary.resourceCount });
      }
    };
    // A page of 200,000 stacks takes a second to admit: the event loop gets a turn every few milliseconds.
    const admitPage = async (page: readonly StackSummary[]): Promise<void> => {
      const pause = timeSlicer();
      for (const summary of page) {
        if (!open) return;
        admit(summary);
        const turn = pause();
        if (turn) await turn;
      }
    };
    // Each page's changed stacks are read as soon as the page arrives, while the next pages load. Pages are
    // admitted in order, even for a caller that does not wait for one before handing over the next.
    let admitting: Promise<void> | undefined;
    const onPage = (page: readonly StackSummary[]): Promise<void> => {
      admitting = admitting ? admitting.then(() => admitPage(page)) : admitPage(page);
      return admitting;
    };
    let listed = false;
    try {
      const summaries = await slot(() => api.listStacks(org, onPage));
      listed = summaries !== undefined;
    } catch (error) {
      fail("ListUserStacks", org, {}, error);
    }
    // Every page handed over is admitted before deletions are decided and the reads are awaited.
    await admitting;
    if (open && listed) {
      listedOrgs.add(org);
      failures.succeeded(org, "ListUserStacks");
      // Deletions only once the whole list is in: a stack missing from a failed listing is not gone.
      for (const [key, track] of stacks) {
        if (track.org !== org || live.has(key)) continue;
        stacks.delete(key);
        if (track.id !== undefined) bury(tombstones, track);
        missedListings.set(key, 0);
      }
      countMissedListings(missedListings, org, live);
    }
    await Promise.all(reads);
  };

  const runOrgTasks = (org: string): Promise<void>[] =>
    ORG_TASKS.map(async (task) => {
      try {
        const patch = await slot(() => task.run(api, org, orgs.get(org) ?? {}, new Date(now())));
        if (!open || !patch) return;
        orgs.set(org, { ...orgs.get(org), ...patch });
        failures.succeeded(org, task.operation);
        deps.onOrgValues?.(patch);
      } catch (error) {
        fail(task.operation, org, {}, error);
      }
    });

  // Each org's stack listing and org endpoints queue before any stack's history, so the org phase is never
  // starved by a long stack phase.
  const stackWork: Promise<void>[] = [];
  const orgWork: Promise<void>[] = [];
  for (const org of options.organizations) {
    stackWork.push(collectOrgStacks(org));
    orgWork.push(...runOrgTasks(org));
  }
  // Each phase's wall time, for the debug log; a phase cut off at the deadline has none.
  const phaseMs: { stacks?: number; orgs?: number } = {};
  const timed = (phase: "stacks" | "orgs", work: Promise<void>[]): Promise<void> =>
    Promise.all(work).then(() => {
      if (open) phaseMs[phase] = now() - startedMs;
    });
  const work = [timed("stacks", stackWork), timed("orgs", orgWork)];

  let timedOut = false;
  await Promise.race([
    Promise.all(work),
    (deps.wait ?? defaultWait)(options.budgetMs, deadline.signal).then(() => {
      timedOut = open;
    }),
  ]);
  open = false;
  deadline.abort();
  if (timedOut) {
    logger.warn("collection cycle reached its deadline; unfinished work keeps its previous values", {
      budget_ms: options.budgetMs,
    });
  }
  logger.debug("collection cycle phases", {
    stack_phase_ms: phaseMs.stacks,
    org_phase_ms: phaseMs.orgs,
    timed_out: timedOut,
  });
  failures.endCycle({ organizations: options.organizations, listed: listedOrgs, timedOut });

  const state: CollectorState = { firstCycleStartedAt, stacks, tombstones, orgs, missedListings };
  return {
    state,
    events,
    listedOrgs,
    up: listedOrgs.size === options.organizations.length,
    stats: {
      orgs: options.organizations.length,
      orgsListed: listedOrgs.size,
      stacks: stacks.size,
      stacksRead,
      events: events.length,
      errors,
      timedOut,
      durationMs: now() - startedMs,
    },
  };
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
