/**
 * Targeted reads: what triggers (src/collect/triggers.ts) ask to read now, read with the cycle's own code between
 * two cycles. A stack's history goes through the stack phase's read (collectStack under the collector's concurrency
 * bound) and lands in the state as a cycle's read would, so an update read here and again by the cycle is counted
 * once: the track's versions decide, not who read it. Triggers are coalesced (one read per target however many
 * ask for it) and bounded (at most MAX_PENDING_TARGETS distinct targets wait; what does not fit waits for the
 * polling that reads it anyway).
 */
import type { Family } from "../families.ts";
import type { StackRef } from "../pulumi/api.ts";
import type { StackSummary } from "../pulumi/types.ts";
import {
  type CollectionResult,
  type CycleDeps,
  type CycleStats,
  NOTHING_DISABLED,
  openRound,
} from "./cycle.ts";
import type { UnknownValues } from "./label-values.ts";
import { orgPhase } from "./org-phase.ts";
import { DEFAULT_SOURCE_SETTINGS, type SourceSettings } from "./source.ts";
import {
  type AnyOrgSource,
  ORG_SOURCES,
  STACK_HISTORY_SOURCE,
  STACK_LIST_SOURCE,
  stackSourceEnabled,
} from "./sources/index.ts";
import { stackPhase } from "./stack-phase.ts";
import type { RunningReread } from "./stacks.ts";
import { type CollectorState, type StackTrack, stackKey } from "./state.ts";
import type { Trigger } from "./triggers.ts";
import { unknownUpdateValues } from "./updates.ts";

/** Distinct targets waiting at most: a few bytes each, so even a flood of distinct stacks stays small. */
export const MAX_PENDING_TARGETS = 10_000;

/** The key triggers are coalesced by: one read per key, however many triggers ask for it. */
export function targetKey(trigger: Trigger): string {
  switch (trigger.kind) {
    case "stack-history":
    case "drift":
      return `${trigger.kind}|${stackKey(trigger.org, trigger.project, trigger.stack)}`;
    case "deployments":
    case "stack-list":
      // The deployments source reads the whole organization: a deployment's stack does not narrow the read.
      return `${trigger.kind}|${trigger.org}`;
  }
}

export type QueueOutcome = "queued" | "coalesced" | "dropped";

/** The triggers waiting for a read, one per target, in arrival order. */
export class TriggerQueue {
  readonly #limit: number;
  #pending = new Map<string, Trigger>();
  #dropped = 0;

  constructor(limit = MAX_PENDING_TARGETS) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Queues a trigger, unless its target already waits (coalesced) or the queue is full (dropped). */
  add(trigger: Trigger): QueueOutcome {
    const key = targetKey(trigger);
    if (this.#pending.has(key)) return "coalesced";
    if (this.#pending.size >= this.#limit) {
      this.#dropped++;
      return "dropped";
    }
    this.#pending.set(key, trigger);
    return "queued";
  }

  /** Takes every waiting trigger, and how many were dropped since the last take. */
  take(): { readonly triggers: readonly Trigger[]; readonly dropped: number } {
    const taken = { triggers: [...this.#pending.values()], dropped: this.#dropped };
    this.#pending = new Map();
    this.#dropped = 0;
    return taken;
  }
}

/**
 * The families an organization-wide trigger reads. A drift run is a deployment: the deployments source sees it
 * finish, and the drift source reads the stacks whose drift deployment just finished, as in a cycle. So both kinds
 * read both families (a deployment event may be a drift run's; a drift event's deployment is read to find it).
 */
const TRIGGERED_FAMILIES: Readonly<Record<"deployments" | "drift", readonly Family[]>> = {
  deployments: ["deployments", "drift"],
  drift: ["deployments", "drift"],
};

/**
 * A targeted read takes no share of the schedule of sources that spread their reads over the cycles (the drift
 * refresh): no interval has passed since the cycle, so they read only what the events name.
 */
function targetedSettings(settings: SourceSettings): SourceSettings {
  return { ...settings, collectIntervalMs: 0 };
}

/** What one targeted batch reads. */
export interface TargetPlan {
  /** Organizations whose stacks are listed (with the history reads the listing reveals). */
  readonly listOrgs: readonly string[];
  /** Tracked stacks whose history is read, as the listing would describe them. */
  readonly stacks: readonly StackSummary[];
  /** Organization → the sources run for it now. */
  readonly sources: ReadonlyMap<string, readonly AnyOrgSource[]>;
}

export interface PlanOptions {
  readonly organizations: readonly string[];
  /** The organization sources; the registry's by default. */
  readonly sources?: readonly AnyOrgSource[];
  readonly disabled?: ReadonlySet<Family>;
}

/**
 * Turns triggers into reads. A trigger for an organization not configured, or for a family switched off, reads
 * nothing. A stack not tracked yet (created since the last listing) is found by listing its organization, as the
 * cycle would find it: a history read needs the stack's id, which only the listing gives.
 */
export function planTargets(
  triggers: readonly Trigger[],
  state: CollectorState,
  options: PlanOptions,
): TargetPlan {
  const configured = new Set(options.organizations);
  const disabled = options.disabled ?? NOTHING_DISABLED;
  const listing = stackSourceEnabled(STACK_LIST_SOURCE, disabled);
  const histories = stackSourceEnabled(STACK_HISTORY_SOURCE, disabled);
  const sources = (options.sources ?? ORG_SOURCES).filter((source) => !disabled.has(source.family));
  const listOrgs = new Set<string>();
  const stacks = new Map<string, StackSummary>();
  const bySource = new Map<string, Set<AnyOrgSource>>();

  for (const trigger of triggers) {
    if (!configured.has(trigger.org)) continue;
    switch (trigger.kind) {
      case "stack-list":
        if (listing) listOrgs.add(trigger.org);
        break;
      case "stack-history": {
        if (!histories) break;
        const key = stackKey(trigger.org, trigger.project, trigger.stack);
        const track = state.stacks.get(key);
        if (track) stacks.set(key, summaryOf(track));
        else if (listing) listOrgs.add(trigger.org);
        break;
      }
      case "deployments":
      case "drift": {
        const families = TRIGGERED_FAMILIES[trigger.kind];
        const chosen = bySource.get(trigger.org) ?? new Set();
        for (const source of sources) if (families.includes(source.family)) chosen.add(source);
        if (chosen.size > 0) bySource.set(trigger.org, chosen);
        break;
      }
    }
  }
  return {
    listOrgs: [...listOrgs],
    // A listed organization's stacks are read by its listing when they changed; a finished update does not change
    // the listing, so a stack asked for is read in any case.
    stacks: [...stacks.values()],
    sources: new Map([...bySource].map(([org, chosen]) => [org, [...chosen]])),
  };
}

/**
 * The stack as the listing last described it: the read keeps the listing's `lastUpdate` and resource count, so the
 * next listing decides about them as it would have without this read.
 */
function summaryOf(track: StackTrack): StackSummary {
  return {
    ...(track.id === undefined ? {} : { id: track.id }),
    orgName: track.org,
    projectName: track.project,
    stackName: track.stack,
    ...(track.listLastUpdate === undefined ? {} : { lastUpdate: track.listLastUpdate }),
    ...(track.resourceCount === undefined ? {} : { resourceCount: track.resourceCount }),
  };
}

/** A cycle's figures that a batch has too (its `apiCalls`: the HTTP attempts the batch made), and its own. */
export interface TargetedStats
  extends Pick<CycleStats, "stacksRead" | "events" | "errors" | "apiCalls" | "timedOut" | "durationMs"> {
  /** Triggers the batch answered (after coalescing). */
  readonly triggers: number;
  /** Triggers dropped while the queue was full, since the previous batch. */
  readonly dropped: number;
}

/** What a targeted batch produced: the shape the metrics record a cycle's in, plus its own figures. */
export interface TargetedResult extends CollectionResult {
  readonly stats: TargetedStats;
}

export interface TargetedOptions {
  readonly organizations: readonly string[];
  /** Milliseconds after which unfinished reads are abandoned (their previous values are kept). */
  readonly budgetMs: number;
  readonly plan: TargetPlan;
  readonly disabled?: ReadonlySet<Family>;
  /** When a running update is read again while its listing shows nothing new (see stacks.ts); every cycle if unset. */
  readonly running?: RunningReread;
  /** The settings sources' cadences depend on; DEFAULT_SOURCE_SETTINGS by default. */
  readonly settings?: SourceSettings;
  /** Reported in the result's stats. */
  readonly triggers: number;
  readonly dropped: number;
}

/**
 * Reads what the plan says, after a cycle has ended (never during one: both change the same state), under the
 * same concurrency bound, deadline and failure handling as a cycle. Returns the next state and what it counted.
 */
export async function runTargeted(
  previous: CollectorState,
  deps: CycleDeps,
  options: TargetedOptions,
): Promise<TargetedResult> {
  const { plan } = options;
  const round = openRound(previous, deps, options.organizations);
  const { now, startedMs, work, errors, apiCalls, stackState, orgState } = round;
  const baselineSeconds = previous.firstCycleStartedAt ?? Math.floor(startedMs / 1000);

  const stacks = stackPhase(work, stackState, {
    firstCycle: false,
    firstCycleStartedAt: baselineSeconds,
    readHistories: stackSourceEnabled(STACK_HISTORY_SOURCE, options.disabled ?? NOTHING_DISABLED),
    ...(options.running === undefined ? {} : { running: options.running }),
  });
  const sourceEvents = new Map<string, unknown[]>();
  const unknown: UnknownValues[] = [];
  const orgWork: Promise<void>[] = [];
  for (const [org, sources] of plan.sources) {
    // Run now whatever their cadence: the trigger says their data changed.
    const due = sources.map((source): AnyOrgSource => ({ ...source, cadence: "cycle" }));
    const phase = orgPhase(work, orgState, {
      sources: due,
      orgIntervalMs: 0,
      baselineSeconds,
      startedMs,
      settings: targetedSettings(options.settings ?? DEFAULT_SOURCE_SETTINGS),
    });
    // No listing in a targeted read: a source that needs one gets the stacks the state knows.
    const known = Promise.resolve(knownStacks(stackState.stacks, org));
    orgWork.push(
      Promise.all(phase.collectOrg(org, known).all).then(() => {
        for (const [name, events] of phase.events)
          sourceEvents.set(name, [...(sourceEvents.get(name) ?? []), ...events]);
        unknown.push(...phase.unknown);
      }),
    );
  }
  const stackWork = [
    stacks.readStacks(plan.stacks),
    ...plan.listOrgs.map((org) => stacks.collectOrg(org).done),
  ];
  const { timedOut } = await round.finish({ stacks: stackWork, orgs: orgWork }, options.budgetMs);
  if (timedOut) {
    deps.logger.warn("a targeted read reached its deadline; unfinished reads keep their previous values", {
      budget_ms: options.budgetMs,
    });
  }

  return {
    state: { firstCycleStartedAt: previous.firstCycleStartedAt, ...stackState, ...orgState },
    events: stacks.events,
    sourceEvents,
    errors,
    unknown: [...unknown, ...unknownUpdateValues(stacks.events)],
    stats: {
      triggers: options.triggers,
      dropped: options.dropped,
      stacksRead: stacks.stacksRead(),
      events: stacks.events.length,
      errors: errors.length,
      apiCalls: apiCalls(),
      timedOut,
      durationMs: now() - startedMs,
    },
  };
}

/** The organization's stacks as the state knows them (the last listing's, and those read since). */
function knownStacks(stacks: ReadonlyMap<string, StackTrack>, org: string): StackRef[] {
  const refs: StackRef[] = [];
  for (const track of stacks.values())
    if (track.org === org) refs.push({ org, project: track.project, stack: track.stack });
  return refs;
}
