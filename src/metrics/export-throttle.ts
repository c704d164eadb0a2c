/**
 * At most one export per window for the exports targeted reads ask for: a webhook flood must not become an export
 * flood. The first request goes out at once and opens a window; requests within it are coalesced into one export
 * at its end, which opens the next window. Time runs on injected timers, so tests step it.
 */
import type { TimerHandle, Timers } from "../timers.ts";

/** The window of the exports that targeted reads ask for: one per second at most. */
export const TRIGGERED_EXPORT_WINDOW_MS = 1000;

export class ExportThrottle {
  readonly #push: () => Promise<unknown>;
  readonly #timers: Timers;
  readonly #windowMs: number;
  /** The open window's end timer; none while no export went out in the last window. */
  #window: TimerHandle | undefined;
  #wanted = false;

  constructor(push: () => Promise<unknown>, timers: Timers, windowMs = TRIGGERED_EXPORT_WINDOW_MS) {
    this.#push = push;
    this.#timers = timers;
    this.#windowMs = windowMs;
  }

  /** Asks for an export: at once outside a window, at the window's end inside one. */
  request(): void {
    if (this.#window !== undefined) {
      this.#wanted = true;
      return;
    }
    this.#export();
  }

  /** Drops a coalesced export still waiting (at shutdown, which flushes its own). */
  cancel(): void {
    if (this.#window !== undefined) this.#timers.clearTimeout(this.#window);
    this.#window = undefined;
    this.#wanted = false;
  }

  #export(): void {
    // Not awaited: the push reports its own failures, and a slow backend must not hold the next window.
    void this.#push();
    this.#window = this.#timers.setTimeout(() => {
      this.#window = undefined;
      if (!this.#wanted) return;
      this.#wanted = false;
      this.#export();
    }, this.#windowMs);
  }
}
