/** The arithmetic behind the benchmark table: medians, the Go exporter's call formula, the wall-time bound. */

/** Median of the values (mean of the middle two for an even count); NaN when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Calls per organization the Go exporter makes besides the stack list (its "~10 per org"). */
export const GO_CALLS_PER_ORG = 10;

/**
 * API calls the Go exporter makes in every cycle for the same data: the stack list pages, two calls per stack
 * (stack detail and update history) and about ten per organization.
 */
export function goFormulaCalls(listPages: number, stacks: number, orgs: number): number {
  return listPages + 2 * stacks + GO_CALLS_PER_ORG * orgs;
}

/**
 * The fastest a cycle of `calls` requests can be with `concurrency` in flight and `latencyMs` each: every slot
 * busy all the time.
 */
export function lowerBoundMs(calls: number, concurrency: number, latencyMs: number): number {
  return Math.ceil(calls / concurrency) * latencyMs;
}

/** Bytes to MiB. */
export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}
