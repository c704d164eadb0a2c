/** When and how long to wait before retrying a Pulumi Cloud request. Pure functions; the client does the waiting. */

export interface RetryOptions {
  /** Retries after the first attempt; 0 disables retrying. */
  maxRetries: number;
  /** Backoff before the first retry; doubles on each further retry. */
  baseDelayMs: number;
  /** Upper bound on any single wait, including one asked for by `Retry-After`. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Statuses that say "try again later" rather than "this request is wrong". */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** What the retry loop does, as data: how often and how long to wait, and which answers are worth another try. */
export interface RetryPolicy extends RetryOptions {
  /** HTTP statuses tried again. */
  readonly statuses: ReadonlySet<number>;
  /** Whether an attempt that got no answer (it timed out, or the network failed) is tried again. */
  readonly noAnswer: boolean;
}

/**
 * What one attempt came to, as far as retrying goes. A body past the size bound is never retried: the same answer
 * again would be no smaller.
 */
export type AttemptResult =
  | { kind: "status"; status: number }
  | { kind: "no-answer" }
  | { kind: "too-large" };

export function shouldRetry(policy: RetryPolicy, result: AttemptResult): boolean {
  switch (result.kind) {
    case "status":
      return policy.statuses.has(result.status);
    case "no-answer":
      return policy.noAnswer;
    case "too-large":
      return false;
  }
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`Pulumi client: ${name} must be a non-negative integer`);
  }
  return value;
}

/** The default policy with the caller's limits, each checked. */
export function retryPolicy(options: Partial<RetryOptions> = {}): RetryPolicy {
  return {
    maxRetries: nonNegativeInteger("retry.maxRetries", options.maxRetries ?? DEFAULT_RETRY.maxRetries),
    baseDelayMs: nonNegativeInteger("retry.baseDelayMs", options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs),
    maxDelayMs: nonNegativeInteger("retry.maxDelayMs", options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs),
    statuses: RETRYABLE_STATUSES,
    noAnswer: true,
  };
}

/**
 * Milliseconds a `Retry-After` header asks us to wait: delta seconds or an HTTP date (relative to `now`, epoch ms).
 * `undefined` when the header is absent or unreadable; a date in the past means "no wait".
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Only the IMF-fixdate family names a weekday and a GMT zone; Date.parse would also accept "1" or "2024".
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Exponential backoff with equal jitter for retry number `attempt` (1 = first retry):
 * half of the capped exponential delay is guaranteed, the other half is random, so clients spread out
 * without ever retrying immediately.
 */
export function backoffDelay(attempt: number, options: RetryOptions, random: () => number): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  const half = ceiling / 2;
  const jitter = Math.min(1, Math.max(0, random()));
  return Math.round(half + jitter * half);
}

/** The wait before retry number `attempt`: the server's `Retry-After` when it gave one, else backoff; never above the cap. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  options: RetryOptions,
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, options.maxDelayMs);
  return backoffDelay(attempt, options, random);
}
