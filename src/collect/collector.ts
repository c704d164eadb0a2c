/**
 * The stateful collector: runs cycles one after another, keeps the state between them and publishes the latest
 * snapshot; each cycle's result (the finished events) goes to whoever listens, never into metrics directly.
 */
import type { Family } from "../families.ts";
import type { Logger } from "../log/logger.ts";
import type { PulumiApi } from "../pulumi/api.ts";
import { COMMIT, VERSION } from "../version.ts";
import { type CycleDeps, type CycleResult, runCycle } from "./cycle.ts";
import { type FailureStreak, FailureStreaks } from "./failures.ts";
import { Semaphore } from "./semaphore.ts";
import type { ExporterStatus, Snapshot } from "./snapshot.ts";
import type { SourceSettings } from "./source.ts";
import type { AnyOrgSource } from "./sources/index.ts";
import type { RunningReread } from "./stacks.ts";
import { type CollectorState, emptyState } from "./state.ts";
import { planTargets, runTargeted, type TargetedResult, TriggerQueue } from "./targeted.ts";
import type { Trigger } from "./triggers.ts";

export interface CollectorOptions {
  readonly api: PulumiApi;
  readonly logger: Logger;
  readonly organizations: readonly string[];
  readonly maxConcurrency: number;
  /** Milliseconds after which a cycle's unfinished work is abandoned. */
  readonly cycleBudgetMs: number;
  /**
   * Told each cycle's result right after its snapshot is published: the app hands it to the metrics pipeline.
   * Synchronous, so no scrape sees the new snapshot without the cycle's events.
   */
  readonly onCycle?: (result: CycleResult, snapshot: Snapshot) => void;
  /**
   * Told each targeted batch's result (the reads triggers asked for) right after its snapshot is published, as
   * `onCycle` is told a cycle's: the result has the cycle's shape, so the metrics record it with the same code.
   */
  readonly onTriggered?: (result: TargetedResult, snapshot: Snapshot) => void;
  /**
   * Told once, during the first cycle of the process, when the stack listings and organization sources are in and
   * the histories are still being read: a snapshot of what can be shown already (see `CycleDeps.onListed`), so the
   * first export need not wait for every history. Not the collector's `snapshot`: that is a finished cycle's.
   */
  readonly onInterim?: (snapshot: Snapshot) => void;
  /** The organization sources; the registry's by default. */
  readonly sources?: readonly AnyOrgSource[];
  /** How often sources on the organization cadence run; 0 (the default): every cycle. */
  readonly orgIntervalMs?: number;
  /** Families switched off: their sources make no calls. */
  readonly disabled?: ReadonlySet<Family>;
  /**
   * When a stack whose update is running is read again while its listing shows nothing new: a back-off when
   * polling, the reconcile interval with webhooks (their events read running updates when they finish).
   * `undefined`: every cycle.
   */
  readonly runningReread?: RunningReread;
  /** The settings sources' cadences depend on; DEFAULT_SOURCE_SETTINGS by default. */
  readonly settings?: SourceSettings;
  readonly initialState?: CollectorState;
  readonly now?: () => number;
  readonly wait?: CycleDeps["wait"];
}

/** How an org fared: whether its stacks were listed in the last cycle, and what is failing. */
export interface OrgStatus {
  readonly org: string;
  /** Its stacks were listed in the last cycle. */
  readonly listed: boolean;
  /** Epoch ms at which a cycle that listed them last ended. */
  readonly lastListedAt: number | undefined;
  /** The steps failing now, oldest streak first. */
  readonly failing: readonly FailureStreak[];
}

export class Collector {
  readonly #options: CollectorOptions;
  readonly #semaphore: Semaphore;
  #state: CollectorState;
  #snapshot: Snapshot | undefined;
  #lastSuccessSeconds: number | undefined;
  #running: Promise<CycleResult> | undefined;
  readonly #failures: FailureStreaks;
  readonly #lastListedAt = new Map<string, number>();
  #listed: ReadonlySet<string> = new Set();
  readonly #configured: ReadonlySet<string>;
  readonly #queue = new TriggerQueue();
  /** The targeted batch running; cycles wait for it, and it never starts during a cycle. */
  #batch: Promise<void> | undefined;
  #drainQueued = false;
  /** Triggers are being dropped because the queue is full (logged once per streak). */
  #overflowing = false;

  constructor(options: CollectorOptions) {
    this.#options = options;
    this.#semaphore = new Semaphore(options.maxConcurrency);
    this.#state = options.initialState ?? emptyState();
    this.#failures = new FailureStreaks(options.logger);
    this.#configured = new Set(options.organizations);
  }

  /** Every configured org's status as of the last cycle; empty until a cycle ended. */
  orgStatus(): readonly OrgStatus[] {
    if (this.#snapshot === undefined) return [];
    const failing = this.#failures.current;
    return this.#options.organizations.map((org) => ({
      org,
      listed: this.#listed.has(org),
      lastListedAt: this.#lastListedAt.get(org),
      failing: failing.filter((streak) => streak.org === org),
    }));
  }

  get state(): CollectorState {
    return this.#state;
  }

  /** Replaces the state before the first cycle: the state file may be read after the server started. */
  restore(state: CollectorState): void {
    if (this.#running !== undefined || this.#snapshot !== undefined)
      throw new Error("the collector state can only be restored before the first cycle");
    this.#state = state;
  }

  /** The latest snapshot; `undefined` until the first cycle ends. */
  get snapshot(): Snapshot | undefined {
    return this.#snapshot;
  }

  /**
   * Runs one cycle. Cycles never overlap: a call during a running cycle waits for it and returns its result. A
   * targeted batch that is running finishes first; triggers that arrive meanwhile are read after the cycle.
   */
  collect(): Promise<CycleResult> {
    if (!this.#running) {
      const batch = this.#batch;
      this.#running = (batch ? batch.then(() => this.#cycle()) : this.#cycle()).finally(() => {
        this.#running = undefined;
        this.#drain();
      });
    }
    return this.#running;
  }

  /**
   * Asks for a read now (a webhook's event): queued, never blocking. Triggers for the same target coalesce into one
   * read; a trigger for an organization not configured is ignored. The read runs at once, or after the running
   * cycle; before the first cycle has ended, after it (the first cycle reads everything anyway).
   */
  trigger(trigger: Trigger): void {
    if (!this.#configured.has(trigger.org)) return;
    if (this.#queue.add(trigger) === "dropped" && !this.#overflowing) {
      this.#overflowing = true;
      this.#options.logger.warn(
        "too many targets waiting for a targeted read; further triggers are dropped and left to polling",
        { pending: this.#queue.size },
      );
    }
    if (this.#drainQueued) return;
    // A microtask later: triggers handed over in one go are read in one batch.
    this.#drainQueued = true;
    queueMicrotask(() => {
      this.#drainQueued = false;
      this.#drain();
    });
  }

  /** Targets queued by triggers and not yet taken by a targeted read. */
  get waitingTriggers(): number {
    return this.#queue.size;
  }

  /** Resolves once the running cycle and every trigger queued so far have been read (tests, shutdown). */
  async triggersRead(): Promise<void> {
    for (;;) {
      this.#drain();
      const busy = this.#batch ?? this.#running;
      if (!busy) return;
      await busy.then(
        () => undefined,
        () => undefined,
      );
    }
  }

  /** Starts a targeted batch of the waiting triggers, unless a cycle or a batch runs (they drain when they end). */
  #drain(): void {
    if (this.#running || this.#batch || this.#snapshot === undefined || this.#queue.size === 0) return;
    const { triggers, dropped } = this.#queue.take();
    this.#overflowing = false;
    this.#batch = this.#targeted(triggers, dropped)
      .catch((error: unknown) => {
        this.#options.logger.error("a targeted read failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.#batch = undefined;
        this.#drain();
      });
  }

  /** An interim snapshot: no cycle has ended, so the cycle's own status gauges have no value yet. */
  #interim(state: CollectorState, now: () => number): void {
    const exporter: ExporterStatus = {
      up: undefined,
      lastCycleSeconds: undefined,
      lastSuccessSeconds: undefined,
      version: VERSION,
      revision: COMMIT,
    };
    this.#options.onInterim?.({ takenAt: now(), state, exporter });
  }

  /** What cycles and targeted batches share: the API, the concurrency bound, the clock and the failure streaks. */
  #deps(now: () => number) {
    return {
      api: this.#options.api,
      semaphore: this.#semaphore,
      logger: this.#options.logger,
      now,
      ...(this.#options.wait ? { wait: this.#options.wait } : {}),
      failures: this.#failures,
    };
  }

  #reread(): { running?: RunningReread } {
    const running = this.#options.runningReread;
    return running === undefined ? {} : { running };
  }

  async #targeted(triggers: readonly Trigger[], dropped: number): Promise<void> {
    const { logger, organizations, disabled, sources } = this.#options;
    const now = this.#options.now ?? Date.now;
    const plan = planTargets(triggers, this.#state, {
      organizations,
      ...(sources ? { sources } : {}),
      ...(disabled ? { disabled } : {}),
    });
    // Nothing to read (the families it concerns are switched off): no snapshot, no export.
    if (plan.listOrgs.length === 0 && plan.stacks.length === 0 && plan.sources.size === 0) {
      if (dropped > 0) logger.warn("triggers were dropped while too many targets waited", { dropped });
      return;
    }
    const result = await runTargeted(this.#state, this.#deps(now), {
      organizations,
      budgetMs: this.#options.cycleBudgetMs,
      plan,
      triggers: triggers.length,
      dropped,
      ...(disabled ? { disabled } : {}),
      ...(this.#options.settings ? { settings: this.#options.settings } : {}),
      ...this.#reread(),
    });
    this.#state = result.state;
    const previous = this.#snapshot;
    if (previous === undefined) return;
    const snapshot: Snapshot = { takenAt: now(), state: result.state, exporter: previous.exporter };
    this.#snapshot = snapshot;
    if (dropped > 0) logger.warn("triggers were dropped while too many targets waited", { dropped });
    logger.debug("targeted read finished", {
      triggers: result.stats.triggers,
      stacks_read: result.stats.stacksRead,
      updates_counted: result.stats.events,
      errors: result.stats.errors,
      api_calls: result.stats.apiCalls,
      duration_ms: result.stats.durationMs,
    });
    this.#options.onTriggered?.(result, snapshot);
  }

  async #cycle(): Promise<CycleResult> {
    const now = this.#options.now ?? Date.now;
    const result = await runCycle(
      this.#state,
      {
        ...this.#deps(now),
        ...(this.#options.onInterim ? { onListed: (view: CollectorState) => this.#interim(view, now) } : {}),
      },
      {
        organizations: this.#options.organizations,
        budgetMs: this.#options.cycleBudgetMs,
        ...(this.#options.sources ? { sources: this.#options.sources } : {}),
        ...(this.#options.orgIntervalMs ? { orgIntervalMs: this.#options.orgIntervalMs } : {}),
        ...(this.#options.disabled ? { disabled: this.#options.disabled } : {}),
        ...this.#reread(),
        ...(this.#options.settings ? { settings: this.#options.settings } : {}),
      },
    );
    this.#state = result.state;
    const endedAt = now();
    this.#listed = result.listedOrgs;
    for (const org of result.listedOrgs) this.#lastListedAt.set(org, endedAt);
    if (result.up && result.stats.errors === 0 && !result.stats.timedOut)
      this.#lastSuccessSeconds = endedAt / 1000;
    const exporter: ExporterStatus = {
      up: result.up,
      orgsUp: this.#options.organizations.map((org) => ({ org, up: result.listedOrgs.has(org) })),
      lastCycleSeconds: result.stats.durationMs / 1000,
      lastSuccessSeconds: this.#lastSuccessSeconds,
      version: VERSION,
      revision: COMMIT,
    };
    const snapshot: Snapshot = { takenAt: endedAt, state: result.state, exporter };
    this.#snapshot = snapshot;
    this.#options.onCycle?.(result, snapshot);
    return result;
  }
}
