/** --pulumi.org-interval: how often organization inventory is read, never shorter than the collect interval. */
import { describe, expect, test } from "bun:test";
import { expectConfig, expectProblems, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];

describe("the value", () => {
  test("default: 5m", () => {
    expect(expectConfig(load(BASE)).pulumi.orgIntervalMs).toBe(300_000);
  });

  test("an explicit value is taken as given", () => {
    expect(expectConfig(load([...BASE, "--pulumi.org-interval=12m30s"])).pulumi.orgIntervalMs).toBe(750_000);
  });

  test("each of flag, environment and file sets it", () => {
    const path = writeTemp(dir, "pulumi:\n  org-interval: 1h\n");
    expect(expectConfig(load([...BASE, "--pulumi.org-interval", "7m"])).pulumi.orgIntervalMs).toBe(420_000);
    expect(expectConfig(load(BASE, { PULUMI_ORG_INTERVAL: "8m" })).pulumi.orgIntervalMs).toBe(480_000);
    expect(expectConfig(load([...BASE, "--config.file", path])).pulumi.orgIntervalMs).toBe(3_600_000);
  });

  test("equal to the collect interval is allowed", () => {
    const config = expectConfig(load([...BASE, "--pulumi.collect-interval=2m", "--pulumi.org-interval=2m"]));
    expect(config.pulumi.orgIntervalMs).toBe(120_000);
  });

  test("only the default applies: it is raised to a longer collect interval", () => {
    const config = expectConfig(load([...BASE, "--pulumi.collect-interval=10m"]));
    expect(config.pulumi.orgIntervalMs).toBe(600_000);
  });

  test("only the default applies and the collect interval is shorter: the default stays", () => {
    expect(expectConfig(load([...BASE, "--pulumi.collect-interval=4m"])).pulumi.orgIntervalMs).toBe(300_000);
  });
});

describe("shorter than the collect interval", () => {
  test("an explicit value is an error, however it was set", () => {
    const path = writeTemp(dir, "pulumi:\n  org-interval: 30s\n", 0o600, "org-interval.yaml");
    expect(expectProblems(load([...BASE, "--pulumi.org-interval=30s"]))).toEqual([
      "--pulumi.org-interval: must not be shorter than the collect interval, 1m (got 30s)",
    ]);
    expect(expectProblems(load(BASE, { PULUMI_ORG_INTERVAL: "45s" }))).toEqual([
      "PULUMI_ORG_INTERVAL: must not be shorter than the collect interval, 1m (got 45s)",
    ]);
    expect(expectProblems(load([...BASE, "--config.file", path]))).toEqual([
      `${path}:2: pulumi.org-interval: must not be shorter than the collect interval, 1m (got 30s)`,
    ]);
  });

  test("an explicit 5m (the default's value) below a longer collect interval is an error too", () => {
    expect(
      expectProblems(load([...BASE, "--pulumi.collect-interval=10m"], { PULUMI_ORG_INTERVAL: "5m" })),
    ).toEqual(["PULUMI_ORG_INTERVAL: must not be shorter than the collect interval, 10m (got 5m)"]);
  });

  test("listed with every other problem, in option order", () => {
    expect(
      expectProblems(load([...BASE, "--pulumi.max-concurrency=0", "--pulumi.org-interval=10s"])),
    ).toEqual([
      "--pulumi.org-interval: must not be shorter than the collect interval, 1m (got 10s)",
      "--pulumi.max-concurrency: must be between 1 and 100 (got 0)",
    ]);
  });

  test("not compared with a collect interval that is itself invalid", () => {
    expect(
      expectProblems(load([...BASE, "--pulumi.collect-interval=0", "--pulumi.org-interval=10s"])),
    ).toEqual(["--pulumi.collect-interval: must be greater than 0 (got 0s)"]);
  });

  test("zero or negative is refused as for the other durations", () => {
    expect(expectProblems(load([...BASE, "--pulumi.org-interval=0"]))).toEqual([
      "--pulumi.org-interval: must be greater than 0 (got 0s)",
    ]);
  });
});
