/** --pulumi.drift-refresh: every stack's drift is read at least this often, never more often than every cycle. */
import { describe, expect, test } from "bun:test";
import { expectConfig, expectProblems, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];

describe("the value", () => {
  test("default: 1h", () => {
    expect(expectConfig(load(BASE)).pulumi.driftRefreshMs).toBe(3_600_000);
  });

  test("each of flag, environment and file sets it", () => {
    const path = writeTemp(dir, "pulumi:\n  drift-refresh: 6h\n");
    expect(expectConfig(load([...BASE, "--pulumi.drift-refresh", "15m"])).pulumi.driftRefreshMs).toBe(
      900_000,
    );
    expect(expectConfig(load(BASE, { PULUMI_DRIFT_REFRESH: "2h30m" })).pulumi.driftRefreshMs).toBe(9_000_000);
    expect(expectConfig(load([...BASE, "--config.file", path])).pulumi.driftRefreshMs).toBe(21_600_000);
  });

  test("equal to the collect interval is allowed: every stack every cycle", () => {
    const config = expectConfig(load([...BASE, "--pulumi.collect-interval=2m", "--pulumi.drift-refresh=2m"]));
    expect(config.pulumi.driftRefreshMs).toBe(120_000);
  });

  test("only the default applies: it is raised to a longer collect interval", () => {
    expect(expectConfig(load([...BASE, "--pulumi.collect-interval=2h"])).pulumi.driftRefreshMs).toBe(
      7_200_000,
    );
  });
});

describe("a bad value", () => {
  test("shorter than the collect interval is an error, however it was set", () => {
    const path = writeTemp(dir, "pulumi:\n  drift-refresh: 30s\n", 0o600, "drift-refresh.yaml");
    expect(expectProblems(load([...BASE, "--pulumi.drift-refresh=30s"]))).toEqual([
      "--pulumi.drift-refresh: must not be shorter than the collect interval, 1m (got 30s)",
    ]);
    expect(expectProblems(load(BASE, { PULUMI_DRIFT_REFRESH: "45s" }))).toEqual([
      "PULUMI_DRIFT_REFRESH: must not be shorter than the collect interval, 1m (got 45s)",
    ]);
    expect(expectProblems(load([...BASE, "--config.file", path]))).toEqual([
      `${path}:2: pulumi.drift-refresh: must not be shorter than the collect interval, 1m (got 30s)`,
    ]);
  });

  test("an explicit 1h (the default's value) below a longer collect interval is an error too", () => {
    expect(
      expectProblems(load([...BASE, "--pulumi.collect-interval=2h"], { PULUMI_DRIFT_REFRESH: "1h" })),
    ).toEqual(["PULUMI_DRIFT_REFRESH: must not be shorter than the collect interval, 2h (got 1h)"]);
  });

  test("zero, and what is no duration, are refused as for the other durations", () => {
    expect(expectProblems(load([...BASE, "--pulumi.drift-refresh=0"]))).toEqual([
      "--pulumi.drift-refresh: must be greater than 0 (got 0s)",
    ]);
    expect(expectProblems(load([...BASE, "--pulumi.drift-refresh=hourly"]))).toEqual([
      '--pulumi.drift-refresh: invalid duration (got "hourly"): use Go syntax such as 90s, 5m, 1h30m or 500ms',
    ]);
  });

  test("listed with the organization interval's problem, in option order", () => {
    expect(
      expectProblems(load([...BASE, "--pulumi.drift-refresh=10s", "--pulumi.org-interval=10s"])),
    ).toEqual([
      "--pulumi.org-interval: must not be shorter than the collect interval, 1m (got 10s)",
      "--pulumi.drift-refresh: must not be shorter than the collect interval, 1m (got 10s)",
    ]);
  });
});
