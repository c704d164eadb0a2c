/**
 * A clock that moves only when a test says so, with the timers of the collection loop on it: scheduler intervals,
 * cycle deadlines and request timeouts fire in order as `advance` passes them, however busy the machine is.
 */
import type { Scheduler } from "../../src/collect/scheduler.ts";
import type { TimerHandle, Timers } from "../../src/timers.ts";

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

export class ManualClock implements Timers {
  #now: number;
  #seq = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const seq = ++this.#seq;
    this.#pending.set(seq, { at: this.#now + Math.max(0, ms), seq, callback });
    return seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === "number") this.#pending.delete(handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Milliseconds until the next timer is due; `undefined` when none is pending. */
  nextDueIn(): number | undefined {
    let earliest: number | undefined;
    for (const timer of this.#pending.values()) earliest = Math.min(earliest ?? timer.at, timer.at);
    return earliest === undefined ? undefined : Math.max(0, earliest - this.#now);
  }

  /** Moves time forward by `ms`, firing every timer due on the way, earliest first (ties in the order set). */
  advance(ms: number): void {
    const until = this.#now + Math.max(0, ms);
    for (;;) {
      const due = this.#earliestDue(until);
      if (!due) break;
      this.#pending.delete(due.seq);
      this.#now = due.at;
      due.callback();
    }
    this.#now = until;
  }

  #earliestDue(until: number): Pending | undefined {
    let best: Pending | undefined;
    for (const timer of this.#pending.values()) {
      if (timer.at > until) continue;
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}

/**
 * Runs the scheduler's next cycle on `clock`, at least `minMs` after now: moves time to it, then waits until the
 * scheduler has scheduled the one after (the cycle and its afterCycle are done). No polling, no wall-clock wait.
 */
export async function runNextCycle(scheduler: Scheduler, clock: ManualClock, minMs = 0): Promise<void> {
  const at = await scheduler.scheduled();
  clock.advance(Math.max(minMs, at - clock.now()));
  await scheduler.scheduled();
}
