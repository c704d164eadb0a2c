/** The retry policy is data: which answers are tried again, and the limits, checked once. */
import { expect, test } from "bun:test";
import { DEFAULT_RETRY, retryPolicy, shouldRetry } from "../../src/pulumi/retry.ts";

test("the default policy: the transient statuses and no answer are retried, a body too large never", () => {
  const policy = retryPolicy();
  expect({ ...policy, statuses: [...policy.statuses].sort() }).toEqual({
    ...DEFAULT_RETRY,
    statuses: [408, 429, 500, 502, 503, 504],
    noAnswer: true,
  });
  expect(shouldRetry(policy, { kind: "status", status: 503 })).toBe(true);
  expect(shouldRetry(policy, { kind: "status", status: 404 })).toBe(false);
  expect(shouldRetry(policy, { kind: "no-answer" })).toBe(true);
  expect(shouldRetry(policy, { kind: "too-large" })).toBe(false);
});

test("a policy without retries on no answer, and other statuses", () => {
  const policy = { ...retryPolicy(), statuses: new Set([418]), noAnswer: false };
  expect(shouldRetry(policy, { kind: "status", status: 418 })).toBe(true);
  expect(shouldRetry(policy, { kind: "status", status: 503 })).toBe(false);
  expect(shouldRetry(policy, { kind: "no-answer" })).toBe(false);
});

test("the caller's limits replace the defaults and are checked", () => {
  expect(retryPolicy({ maxRetries: 0 }).maxRetries).toBe(0);
  expect(() => retryPolicy({ baseDelayMs: -1 })).toThrow(
    "Pulumi client: retry.baseDelayMs must be a non-negative integer",
  );
  expect(() => retryPolicy({ maxRetries: 1.5 })).toThrow(
    "Pulumi client: retry.maxRetries must be a non-negative integer",
  );
});
