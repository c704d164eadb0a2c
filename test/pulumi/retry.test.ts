import { describe, expect, test } from "bun:test";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
} from "../../src/pulumi/retry.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");

describe("parseRetryAfter", () => {
  test("reads delta seconds", () => {
    expect(parseRetryAfter("7", NOW)).toBe(7000);
    expect(parseRetryAfter(" 0 ", NOW)).toBe(0);
  });

  test("reads an HTTP date relative to now", () => {
    expect(parseRetryAfter("Sun, 01 Jun 2025 12:00:03 GMT", NOW)).toBe(3000);
  });

  test("a date in the past means no wait", () => {
    expect(parseRetryAfter("Sun, 01 Jun 2025 11:59:00 GMT", NOW)).toBe(0);
  });

  test("absent or unreadable headers give undefined", () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter("", NOW)).toBeUndefined();
    expect(parseRetryAfter("soon", NOW)).toBeUndefined();
    expect(parseRetryAfter("-5", NOW)).toBeUndefined();
    expect(parseRetryAfter("1.5", NOW)).toBeUndefined();
  });
});

describe("backoffDelay", () => {
  const options = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

  test("doubles per retry with equal jitter: half fixed, half random", () => {
    expect(backoffDelay(1, options, () => 0)).toBe(250);
    expect(backoffDelay(1, options, () => 0.999999)).toBe(500);
    expect(backoffDelay(2, options, () => 0)).toBe(500);
    expect(backoffDelay(3, options, () => 0.5)).toBe(1500);
    expect(backoffDelay(4, options, () => 0)).toBe(2000);
  });

  test("is capped at maxDelayMs", () => {
    expect(backoffDelay(20, options, () => 0.999999)).toBe(30_000);
    expect(backoffDelay(20, options, () => 0)).toBe(15_000);
  });

  test("clamps a misbehaving random source", () => {
    expect(backoffDelay(1, options, () => 7)).toBe(500);
    expect(backoffDelay(1, options, () => -1)).toBe(250);
  });
});

describe("retryDelay", () => {
  test("prefers Retry-After over backoff, capped", () => {
    expect(retryDelay(1, 2000, DEFAULT_RETRY, () => 0)).toBe(2000);
    expect(retryDelay(1, 120_000, DEFAULT_RETRY, () => 0)).toBe(30_000);
    expect(retryDelay(3, undefined, DEFAULT_RETRY, () => 0)).toBe(1000);
  });
});

test("retryable statuses", () => {
  const statuses = [400, 401, 403, 404, 408, 409, 429, 500, 501, 502, 503, 504];
  expect(statuses.filter(isRetryableStatus)).toEqual([408, 429, 500, 502, 503, 504]);
});
