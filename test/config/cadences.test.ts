/**
 * The cadence options (`cadence: true` in the option table): one rule for all of them. Each is a positive duration
 * never shorter than the collect interval; a default follows a longer collect interval; the demo keeps each
 * default's ratio to the collect interval.
 */
import { describe, expect, test } from "bun:test";
import { demoCadences } from "../../src/cli/demo.ts";
import { CADENCE_DEFAULTS, DEFAULT_COLLECT_INTERVAL_MS } from "../../src/config/options.ts";
import { testConfig } from "../support/test-config.ts";
import { expectConfig, expectProblems, load, TOKEN } from "./support.ts";

const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];

describe("the cadences", () => {
  test("are the organization interval, the drift refresh and the running-update gap, with their defaults", () => {
    expect(CADENCE_DEFAULTS.map((c) => [c.option.name, c.field, c.defaultMs, c.cycles])).toEqual([
      ["pulumi.org-interval", "orgIntervalMs", 300_000, 5],
      ["pulumi.drift-refresh", "driftRefreshMs", 3_600_000, 60],
      ["pulumi.running-update-max-gap", "runningUpdateMaxGapMs", 180_000, 3],
    ]);
    expect(DEFAULT_COLLECT_INTERVAL_MS).toBe(60_000);
  });

  for (const { option, field, defaultMs } of CADENCE_DEFAULTS) {
    describe(option.name, () => {
      test("defaults, and is set by flag and environment", () => {
        expect(expectConfig(load(BASE)).pulumi[field]).toBe(defaultMs);
        expect(expectConfig(load([...BASE, `--${option.name}=2h30m`])).pulumi[field]).toBe(9_000_000);
        expect(expectConfig(load(BASE, { [option.env[0]]: "90m" })).pulumi[field]).toBe(5_400_000);
      });

      test("equal to the collect interval is allowed; the default follows a longer one", () => {
        const equal = expectConfig(load([...BASE, "--pulumi.collect-interval=2m", `--${option.name}=2m`]));
        expect(equal.pulumi[field]).toBe(120_000);
        expect(expectConfig(load([...BASE, "--pulumi.collect-interval=3h"])).pulumi[field]).toBe(10_800_000);
      });

      test("shorter than the collect interval, or zero, is an error named by where it was set", () => {
        expect(expectProblems(load([...BASE, `--${option.name}=30s`]))).toEqual([
          `--${option.name}: must not be shorter than the collect interval, 1m (got 30s)`,
        ]);
        expect(expectProblems(load(BASE, { [option.env[0]]: "45s" }))).toEqual([
          `${option.env[0]}: must not be shorter than the collect interval, 1m (got 45s)`,
        ]);
        expect(expectProblems(load([...BASE, `--${option.name}=0`]))).toEqual([
          `--${option.name}: must be greater than 0 (got 0s)`,
        ]);
      });
    });
  }

  test("every cadence's problem is listed at once, in option order", () => {
    const all = CADENCE_DEFAULTS.map((c) => `--${c.option.name}=10s`);
    expect(expectProblems(load([...BASE, ...all]))).toEqual(
      CADENCE_DEFAULTS.map(
        (c) => `--${c.option.name}: must not be shorter than the collect interval, 1m (got 10s)`,
      ),
    );
  });
});

describe("the demo's cadences", () => {
  test("defaults keep their ratio to the demo's interval; a value set explicitly is kept", () => {
    expect(demoCadences(testConfig(), 10_000)).toEqual({
      orgIntervalMs: 50_000,
      driftRefreshMs: 600_000,
      runningUpdateMaxGapMs: 30_000,
    });
    const set = testConfig({ pulumi: { driftRefreshMs: 7_200_000, runningUpdateMaxGapMs: 240_000 } });
    expect(demoCadences(set, 10_000)).toEqual({
      orgIntervalMs: 50_000,
      driftRefreshMs: 7_200_000,
      runningUpdateMaxGapMs: 240_000,
    });
  });
});
