/**
 * The clock and timers of the collection loop. Injected, so tests drive time step by step instead of racing the
 * wall clock on a busy machine; production uses the system's.
 */

/** A pending timer, as its `Timers` returned it. */
export type TimerHandle = unknown;

export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `timers`, or as soon as `signal` aborts. */
export function waitOn(timers: Timers, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const handle = timers.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** An AbortSignal that aborts with a `TimeoutError` after `ms` on `timers` (`AbortSignal.timeout` on the system's). */
export function timeoutSignal(timers: Timers, ms: number): AbortSignal {
  if (timers === systemTimers) return AbortSignal.timeout(ms);
  const controller = new AbortController();
  timers.setTimeout(() => controller.abort(new DOMException("The operation timed out.", "TimeoutError")), ms);
  return controller.signal;
}

/** Calls `check` every `intervalMs` on `timers` until stopped. */
export function pollEvery(timers: Timers, intervalMs: number, check: () => void): { stop(): void } {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const arm = (): void => {
    handle = timers.setTimeout(() => {
      if (stopped) return;
      check();
      arm();
    }, intervalMs);
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (handle !== undefined) timers.clearTimeout(handle);
    },
  };
}
