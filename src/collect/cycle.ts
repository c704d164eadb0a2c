/**
 * One collection cycle: from the previous state and the API's answers to the next state plus what finished since.
 * The stack phase (src/collect/stack-phase.ts) and the organization phase (src/collect/org-phase.ts) run side by
 * side under one deadline: a failing org, stack or source keeps its last good values; work still running at the
 * deadline is abandoned and its results ignored, so a cycle never outlives its budget.
 */
import type { Family } from "../families.ts";
import type { Logger } from "../log/logger.ts";
import type { Operation, PulumiApi, StackRef } from "../pulumi/api.ts";
import { systemTimers, waitOn } from "../timers.ts";
import type { CycleWork } from "./cycle-work.ts";
import { FailureStreaks } from "./failures.ts";
import type { UnknownValues } from "./label-values.ts";
import { type OrgPhase, type OrgPhaseState, orgPhase } from "./org-phase.ts";
import type { Semaphore } from "./semaphore.ts";
import { DEFAULT_SOURCE_SETTINGS, type SourceSettings } from "./source.ts";
import {
  type AnyOrgSource,
  ORG_SOURCES,
  STACK_HISTORY_SOURCE,
  STACK_LIST_SOURCE,
  stackSourceEnabled,
} from "./sources/index.ts";
import { type StackPhase, type StackPhaseState, stackPhase } from "./stack-phase.ts";
import type { RunningReread } from "./stacks.ts";
import type { CollectorState } from "./state.ts";
import { type UpdateEvent, unknownUpdateValues } from "./updates.ts";

export interface CycleDeps {
  readonly api: PulumiApi;
  readonly semaphore: Semaphore;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Resolves after `ms`; tests may pass a controllable timer. */
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Failure streaks across cycles (logged once per streak); a cycle without one logs each problem once. */
  readonly failures?: FailureStreaks;
  /**
   * The first cycle of a process only: called once its stack listings and organization sources are in (those that
   * need nothing of the cycle: drift's reads come after the listing) while histories are still being read, with what can be shown already (the listing's stacks and resource counts, the
   * organization values). Nothing in it is counted; the cycle's result is unchanged.
   */
  readonly onListed?: (view: CollectorState) => void;
}

export interface CycleOptions {
  readonly organizations: readonly string[];
  /** Milliseconds after which unfinished work is abandoned. */
  readonly budgetMs: number;
  /** The organization sources; the registry's by default. */
  readonly sources?: readonly AnyOrgSource[];
  /** How often sources on the organization cadence run; 0 (the default): every cycle. */
  readonly orgIntervalMs?: number;
  /** Families switched off: their sources make no calls. */
  readonly disabled?: ReadonlySet<Family>;
  /** When a running update is read again while its listing shows nothing new (see stacks.ts); every cycle if unset. */
  readonly running?: RunningReread;
  /** The settings sources' cadences depend on; DEFAULT_SOURCE_SETTINGS by default. */
  readonly settings?: SourceSettings;
}

/** A collection step that failed after the client's retries. */
export interface CollectError {
  readonly operation: Operation;
  readonly org: string;
}

export interface CycleStats {
  readonly orgs: number;
  readonly orgsListed: number;
  readonly stacks: number;
  readonly stacksRead: number;
  readonly events: number;
  readonly errors: number;
  /** HTTP attempts (retries included) the cycle made before it closed. */
  readonly apiCalls: number;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/**
 * What the metrics record of a cycle or of a targeted read (src/collect/targeted.ts): the state after it, the
 * events it produced, its failed steps and unknown values. One shape, so both are recorded by the same code.
 */
export interface CollectionResult {
  readonly state: CollectorState;
  /** The updates that finished, each once. */
  readonly events: readonly UpdateEvent[];
  /** Source name → the events its runs produced; read them with `eventsOf`. */
  readonly sourceEvents: ReadonlyMap<string, readonly unknown[]>;
  /** The steps that failed; their previous values are kept. */
  readonly errors: readonly CollectError[];
  /** API values outside the spec's lists, reported as `other`. */
  readonly unknown: readonly UnknownValues[];
}

export interface CycleResult extends CollectionResult {
  readonly stats: CycleStats;
  /** The configured orgs whose stacks were listed. */
  readonly listedOrgs: ReadonlySet<string>;
  /** Every configured org's stacks were listed. */
  readonly up: boolean;
}

/** The events one source produced in the cycle (the registry's names are unique, so they are of its type). */
export function eventsOf<E>(
  result: Pick<CycleResult, "sourceEvents">,
  source: { readonly name: string; run(input: never): Promise<{ readonly events?: readonly E[] }> },
): readonly E[] {
  return (result.sourceEvents.get(source.name) ?? []) as readonly E[];
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
  const { logger } = deps;
  const round = openRound(previous, deps, options.organizations);
  const { now, startedMs, configured, failures, work, errors, apiCalls, stackState, orgState } = round;
  const firstCycleStartedAt = previous.firstCycleStartedAt ?? Math.floor(startedMs / 1000);
  const disabled = options.disabled ?? NOTHING_DISABLED;

  const stacks = stackPhase(work, stackState, {
    firstCycle: previous.firstCycleStartedAt === undefined,
    firstCycleStartedAt,
    readHistories: stackSourceEnabled(STACK_HISTORY_SOURCE, disabled),
    ...(options.running === undefined ? {} : { running: options.running }),
  });
  const orgs = orgPhase(work, orgState, {
    sources: (options.sources ?? ORG_SOURCES).filter((source) => !disabled.has(source.family)),
    orgIntervalMs: options.orgIntervalMs ?? 0,
    baselineSeconds: firstCycleStartedAt,
    startedMs,
    settings: options.settings ?? DEFAULT_SOURCE_SETTINGS,
  });

  const listStacks = stackSourceEnabled(STACK_LIST_SOURCE, disabled);
  const { stackWork, listings, orgWork, orgIndependent } = startPhases(
    options.organizations,
    listStacks ? stacks : undefined,
    orgs,
  );
  const onListed = deps.onListed;
  if (onListed && previous.firstCycleStartedAt === undefined) {
    // Not the sources that wait for the listing: their calls queue behind every history read of a first cycle.
    void Promise.all([...listings, ...orgIndependent]).then(() => {
      if (work.isOpen())
        onListed({ firstCycleStartedAt, ...stackState, stacks: stacks.listedView(), ...orgState });
    });
  }
  const { timedOut, phaseMs } = await round.finish({ stacks: stackWork, orgs: orgWork }, options.budgetMs);
  logPhases(logger, options.budgetMs, timedOut, phaseMs);
  // With the stack families off, no listing is expected: every org counts as listed.
  const listedOrgs = listStacks ? stacks.listedOrgs : configured;
  failures.endCycle({ organizations: options.organizations, listed: listedOrgs, timedOut });

  const state: CollectorState = { firstCycleStartedAt, ...stackState, ...orgState };
  return {
    state,
    events: stacks.events,
    sourceEvents: orgs.events,
    errors,
    unknown: [...orgs.unknown, ...unknownUpdateValues(stacks.events)],
    listedOrgs,
    up: listedOrgs.size === options.organizations.length,
    stats: {
      orgs: options.organizations.length,
      orgsListed: listedOrgs.size,
      stacks: stackState.stacks.size,
      stacksRead: stacks.stacksRead(),
      events: stacks.events.length,
      errors: errors.length,
      apiCalls: apiCalls(),
      timedOut,
      durationMs: now() - startedMs,
    },
  };
}

export const NOTHING_DISABLED: ReadonlySet<Family> = new Set();
const NOT_LISTED: Promise<undefined> = Promise.resolve(undefined);

/**
 * Starts every organization's work. Each org's stack listing and org sources queue before any stack's history, so
 * the org phase is never starved by a long stack phase.
 */
function startPhases(organizations: readonly string[], stacks: StackPhase | undefined, orgs: OrgPhase) {
  const stackWork: Promise<void>[] = [];
  const listings: Promise<void>[] = [];
  const orgWork: Promise<void>[] = [];
  const orgIndependent: Promise<void>[] = [];
  for (const org of organizations) {
    let listing: Promise<readonly StackRef[] | undefined> = NOT_LISTED;
    if (stacks) {
      const { listed, done } = stacks.collectOrg(org);
      listing = listed;
      listings.push(listed.then(() => undefined));
      stackWork.push(done);
    }
    const { all, independent } = orgs.collectOrg(org, listing);
    orgWork.push(...all);
    orgIndependent.push(...independent);
  }
  return { stackWork, listings, orgWork, orgIndependent };
}

function logPhases(
  logger: Logger,
  budgetMs: number,
  timedOut: boolean,
  phaseMs: { stacks?: number; orgs?: number },
): void {
  if (timedOut) {
    logger.warn("collection cycle reached its deadline; unfinished work keeps its previous values", {
      budget_ms: budgetMs,
    });
  }
  logger.debug("collection cycle phases", {
    stack_phase_ms: phaseMs.stacks,
    org_phase_ms: phaseMs.orgs,
    timed_out: timedOut,
  });
}

/** The shared parts of a cycle's work; `close` ends it: later results and failures are ignored. */
function cycleWork(deps: CycleDeps, signal: AbortSignal, failures: FailureStreaks, now: () => number) {
  let open = true;
  const errors: CollectError[] = [];
  // Calls still running at the deadline are abandoned, so they cannot hold concurrency slots into the next cycle.
  let apiCalls = 0;
  const onRequest = (): void => {
    apiCalls++;
  };
  const api = deps.api.scoped?.({ signal, onRequest }) ?? deps.api.withSignal?.(signal) ?? deps.api;
  const work: CycleWork = {
    api,
    now,
    isOpen: () => open,
    slot: (task) => deps.semaphore.run(async () => (open ? task() : undefined)),
    fail(operation, org, fields, error) {
      if (!open) return;
      errors.push({ operation, org });
      failures.failed(org, operation, errorMessage(error), now(), fields);
    },
    succeeded: (org, operation) => failures.succeeded(org, operation),
  };
  return {
    work,
    errors,
    apiCalls: () => apiCalls,
    close: () => {
      open = false;
    },
  };
}

/**
 * What a cycle and a targeted read both do around their reads: the clock and the deadline, the work under them
 * (concurrency slots, failures, API calls), the configured organizations' parts of the state, and at the end the
 * wait for the phases or the deadline, whichever comes first, after which nothing more is done or kept.
 */
export function openRound(previous: CollectorState, deps: CycleDeps, organizations: readonly string[]) {
  const now = deps.now ?? Date.now;
  const deadline = new AbortController();
  const startedMs = now();
  const configured: ReadonlySet<string> = new Set(organizations);
  const failures = deps.failures ?? new FailureStreaks(deps.logger);
  const { work, close, errors, apiCalls } = cycleWork(deps, deadline.signal, failures, now);
  return {
    now,
    startedMs,
    configured,
    failures,
    work,
    errors,
    apiCalls,
    stackState: configuredStackState(previous, configured),
    orgState: configuredOrgState(previous, configured),
    async finish(phases: Parameters<typeof untilDeadline>[0], budgetMs: number) {
      const outcome = await untilDeadline(
        phases,
        () => (deps.wait ?? defaultWait)(budgetMs, deadline.signal),
        () => now() - startedMs,
      );
      close();
      deadline.abort();
      return outcome;
    },
  };
}

/** Waits for both phases or the deadline, whichever comes first; each phase's wall time when it finished in time. */
async function untilDeadline(
  phases: { readonly stacks: Promise<void>[]; readonly orgs: Promise<void>[] },
  deadline: () => Promise<void>,
  elapsedMs: () => number,
): Promise<{ timedOut: boolean; phaseMs: { stacks?: number; orgs?: number } }> {
  const phaseMs: { stacks?: number; orgs?: number } = {};
  let done = false;
  let timedOut = false;
  const timed = (phase: "stacks" | "orgs"): Promise<void> =>
    Promise.all(phases[phase]).then(() => {
      if (!done) phaseMs[phase] = elapsedMs();
    });
  await Promise.race([
    Promise.all([timed("stacks"), timed("orgs")]),
    deadline().then(() => {
      timedOut = !done;
    }),
  ]);
  done = true;
  return { timedOut, phaseMs };
}

/** The previous stack state of the configured organizations, copied for the cycle to change. */
function configuredStackState(previous: CollectorState, configured: ReadonlySet<string>): StackPhaseState {
  return {
    stacks: new Map([...previous.stacks].filter(([, track]) => configured.has(track.org))),
    tombstones: new Map(previous.tombstones),
    missedListings: new Map(
      [...(previous.missedListings ?? [])].filter(([key]) => configured.has(key.slice(0, key.indexOf("/")))),
    ),
  };
}

/** The previous organization state of the configured organizations, copied for the cycle to change. */
function configuredOrgState(previous: CollectorState, configured: ReadonlySet<string>): OrgPhaseState {
  const sources = new Map<string, Map<string, unknown>>();
  for (const [name, byOrg] of previous.sources ?? []) {
    sources.set(name, new Map([...byOrg].filter(([org]) => configured.has(org))));
  }
  return {
    orgs: new Map([...previous.orgs].filter(([org]) => configured.has(org))),
    sources,
    sourceRuns: new Map(
      [...(previous.sourceRuns ?? [])].filter(([key]) => configured.has(key.slice(key.indexOf("|") + 1))),
    ),
  };
}
