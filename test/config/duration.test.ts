import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../src/config/duration.ts";

describe("parseDuration (Go syntax)", () => {
  const valid: [string, number][] = [
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["2h45m30.5s", 9_930_500],
    [".5s", 500],
    ["1s500ms", 1_500],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["250μs", 0.25],
    ["1000000ns", 1],
    ["+3s", 3_000],
    ["-5s", -5_000],
    ["0", 0],
    ["0s", 0],
  ];
  for (const [text, ms] of valid) {
    test(`${text} → ${ms} ms`, () => {
      expect(parseDuration(text)).toBeCloseTo(ms, 9);
    });
  }

  const invalid = [
    "",
    "5",
    "60",
    "s",
    "5 m",
    "1d",
    "1.2.3s",
    "s5",
    "5mm",
    "-",
    "1h 30m",
    "1H",
    "five seconds",
  ];
  for (const text of invalid) {
    test(`${JSON.stringify(text)} is not a duration`, () => {
      expect(parseDuration(text)).toBeUndefined();
    });
  }
});

describe("formatDuration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [500, "500ms"],
    [0.25, "0.25ms"],
    [1_000, "1s"],
    [1_500, "1.5s"],
    [60_000, "1m"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [3_601_000, "1h0m1s"],
    [-5_000, "-5s"],
  ];
  for (const [ms, text] of cases) {
    test(`${ms} ms → ${text}`, () => {
      expect(formatDuration(ms)).toBe(text);
    });
  }

  test("round-trips through parseDuration", () => {
    for (const ms of [1, 999, 61_000, 3_723_000, 86_400_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
