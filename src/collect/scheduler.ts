/**
 * The collection loop: a cycle right away, then one per interval, never two at once. It also answers the health
 * questions: is the loop alive, has a cycle succeeded yet.
 */
import type { Logger } from "../log/logger.ts";
import { systemTimers, type TimerHandle, type Timers } from "../timers.ts";
import type { Collector } from "./collector.ts";
import type { CycleResult } from "./cycle.ts";

export interface SchedulerOptions {
  readonly collector: Collector;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** After every cycle: export, save state. Errors are logged, never fatal. */
  readonly afterCycle?: (result: CycleResult) => Promise<void>;
  /** The loop's clock and timers; the system's by default. */
  readonly timers?: Timers;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #timers: Timers;
  #timer: TimerHandle | undefined;
  #nextCycleAt: number | undefined;
  #waitingForSchedule: Array<(at: number) => void> = [];
  #stopped = false;
  #current: Promise<void> | undefined;
  #lastCycleStartedAt: number | undefined;
  #startedAt: number | undefined;
  #ready = false;
  #cycles = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
  }

  get cycles(): number {
    return this.#cycles;
  }

  /** When (on the timers' clock) the next cycle starts; `undefined` while one runs or after `stop`. */
  get nextCycleAt(): number | undefined {
    return this.#nextCycleAt;
  }

  /**
   * Resolves with when the next cycle starts, as soon as it is scheduled (at once when it already is): after
   * `start`, and after each cycle and its `afterCycle`. Tests on manual timers wait on it instead of polling.
   */
  scheduled(): Promise<number> {
    if (this.#nextCycleAt !== undefined) return Promise.resolve(this.#nextCycleAt);
    return new Promise((resolve) => this.#waitingForSchedule.push(resolve));
  }

  /** Ready once a cycle has listed every org's stacks. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Alive unless no cycle has started for three intervals (a stuck loop). */
  alive(): boolean {
    const now = this.#timers.now();
    const last = this.#lastCycleStartedAt ?? this.#startedAt;
    if (last === undefined || this.#stopped) return !this.#stopped;
    return now - last < 3 * this.#options.intervalMs;
  }

  start(): void {
    this.#startedAt = this.#timers.now();
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    const at = this.#timers.now() + delayMs;
    this.#nextCycleAt = at;
    const waiting = this.#waitingForSchedule;
    this.#waitingForSchedule = [];
    for (const resolve of waiting) resolve(at);
    this.#timer = this.#timers.setTimeout(() => {
      this.#nextCycleAt = undefined;
      this.#current = this.#tick().finally(() => {
        this.#current = undefined;
      });
    }, delayMs);
  }

  async #tick(): Promise<void> {
    const now = () => this.#timers.now();
    const startedAt = now();
    this.#lastCycleStartedAt = startedAt;
    const { collector, logger, afterCycle } = this.#options;
    try {
      const result = await collector.collect();
      this.#cycles++;
      if (result.up) this.#ready = true;
      logger.info("collection cycle finished", {
        duration_ms: result.stats.durationMs,
        orgs: result.stats.orgs,
        orgs_listed: result.stats.orgsListed,
        stacks: result.stats.stacks,
        stacks_read: result.stats.stacksRead,
        updates_counted: result.stats.events,
        errors: result.stats.errors,
        timed_out: result.stats.timedOut,
        api_calls: result.stats.apiCalls,
      });
      if (afterCycle) await afterCycle(result);
    } catch (error) {
      logger.error("collection cycle failed", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    const elapsed = now() - startedAt;
    this.#schedule(Math.max(0, this.#options.intervalMs - elapsed));
  }

  /** Stops scheduling; waits for a running cycle (and its afterCycle) up to `deadlineMs`. */
  async stop(deadlineMs: number): Promise<boolean> {
    this.#stopped = true;
    this.#nextCycleAt = undefined;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    const running = this.#current;
    if (!running) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      running.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }
}
