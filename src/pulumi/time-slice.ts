/**
 * Long loops over API data (the items of a 100 MB page) give the event loop back every few milliseconds, so the
 * HTTP server keeps answering /healthz and /metrics while they run.
 */

/** Work done between two yields; well under what a health probe tolerates, cheap in the number of yields. */
export const SLICE_MS = 10;

/** A macrotask turn: timers, I/O and HTTP requests waiting behind the current work run before it resolves. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Returns a check to call once per unit of work: undefined while the current slice lasts, else a promise (to
 * await) that resolves once the event loop has had a turn. Time-based, so a slow or busy machine yields after
 * less work rather than blocking longer.
 */
export function timeSlicer(
  sliceMs = SLICE_MS,
  now: () => number = () => performance.now(),
): () => Promise<void> | undefined {
  let sliceStart = now();
  return () => {
    if (now() - sliceStart < sliceMs) return undefined;
    return yieldToEventLoop().then(() => {
      sliceStart = now();
    });
  };
}
