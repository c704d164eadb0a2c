import { describe, expect, test } from "bun:test";
import { emptyState } from "../../src/collect/state.ts";
import type { GaugeReadings } from "../../src/metrics/points.ts";
import {
  cachedSnapshotReadings,
  endedStateHold,
  type Snapshot,
  snapshotReadings,
} from "../../src/metrics/readings.ts";

function snapshot(up: boolean, takenAt: number): Snapshot {
  return {
    takenAt,
    state: emptyState(),
    exporter: {
      up,
      lastCycleSeconds: 1.5,
      lastSuccessSeconds: takenAt / 1000,
      version: "1.2.3",
      revision: "abc",
    },
  };
}

describe("cachedSnapshotReadings", () => {
  test("computes the readings once per snapshot and afresh for the next one", () => {
    const readingsOf = cachedSnapshotReadings();
    const first = snapshot(true, 1_000_000);
    const readings = readingsOf(first);
    expect(readingsOf(first)).toBe(readings);
    expect(readings.get("exporterUp")).toEqual([{ attributes: {}, value: 1 }]);

    const second = snapshot(false, 2_000_000);
    const next = readingsOf(second);
    expect(next).not.toBe(readings);
    expect(next.get("exporterUp")).toEqual([{ attributes: {}, value: 0 }]);
    expect(next.get("exporterLastSuccess")).toEqual([{ attributes: {}, value: 2000 }]);
  });
});

describe("snapshotReadings: pulumi_exporter_org_up", () => {
  test("one point per configured org: 1 when its stacks were listed in the last cycle, else 0", () => {
    const base = snapshot(false, 1_000_000);
    const readings = snapshotReadings({
      ...base,
      exporter: {
        ...base.exporter,
        orgsUp: [
          { org: "acme", up: true },
          { org: "beta", up: false },
        ],
      },
    });
    expect(readings.get("exporterOrgUp")).toEqual([
      { attributes: { org: "acme" }, value: 1 },
      { attributes: { org: "beta" }, value: 0 },
    ]);
    expect(snapshotReadings(base).get("exporterOrgUp")).toBeUndefined();
  });
});

describe("endedStateHold", () => {
  const running = (kinds: readonly string[]) =>
    new Map([
      [
        "stackUpdateInProgress" as const,
        kinds.map((kind) => ({ attributes: { org: "o", project: "p", stack: "s", kind }, value: 1 })),
      ],
    ]);
  const inProgress = (readings: GaugeReadings) =>
    (readings.get("stackUpdateInProgress") ?? []).map((p) => `${p.attributes.kind}=${p.value}`).sort();

  test("holds an ended series at 0 until the hold is over; one that comes back is live again", () => {
    const hold = endedStateHold(300_000);
    expect(inProgress(hold(running(["update"]), 0))).toEqual(["update=1"]);
    expect(inProgress(hold(running(["refresh"]), 60_000))).toEqual(["refresh=1", "update=0"]);
    expect(inProgress(hold(running([]), 120_000))).toEqual(["refresh=0", "update=0"]);
    expect(inProgress(hold(running(["update"]), 180_000))).toEqual(["refresh=0", "update=1"]);
    expect(inProgress(hold(running([]), 359_999))).toEqual(["refresh=0", "update=0"]);
    // refresh ended at 120 s: dropped at 420 s; update ended at 359.999 s: held until 659.999 s.
    expect(inProgress(hold(running([]), 420_000))).toEqual(["update=0"]);
    expect(inProgress(hold(running([]), 659_999))).toEqual([]);
  });

  test("leaves gauges that are not state gauges alone and returns the readings as they are when nothing ended", () => {
    const hold = endedStateHold(300_000);
    const first = new Map([["stackResourceCount" as const, [{ attributes: { org: "o" }, value: 3 }]]]);
    expect(hold(first, 0)).toBe(first);
    const second = new Map();
    expect(hold(second, 60_000)).toBe(second);
  });
});

describe("snapshotReadings of org values", () => {
  test("only the bounded label values, 0 included, whatever an older state file holds", () => {
    const state = emptyState();
    const orgs = new Map([
      [
        "acme",
        {
          // Written before label values were bounded: raw keys, and no `other`.
          violations: { "unknown|unknown": 3, "legacy|audit": 2, "advisory|audit": 1 },
          neo: { tasksByStatus: { paused: 4, running: 2 }, tokensCurrentMonth: 0, tokensTotal: 0 },
          deployments: { "not-started": 0, accepted: 0, running: 1, failed: 0, succeeded: 5, skipped: 0 },
        },
      ],
    ]);
    const readings = snapshotReadings({ ...snapshot(true, 1_000_000), state: { ...state, orgs } });
    const rows = (id: "orgPolicyViolations" | "orgNeoTaskCount" | "deploymentStatus") =>
      (readings.get(id) ?? []).map((p) => [Object.values(p.attributes).slice(1).join("|"), p.value]);
    expect(rows("orgPolicyViolations")).toEqual(
      ["advisory", "mandatory", "remediate", "disabled", "other"].flatMap((level) =>
        ["audit", "preventative", "other"].map((kind) => [
          `${level}|${kind}`,
          level === "advisory" && kind === "audit" ? 1 : 0,
        ]),
      ),
    );
    expect(rows("orgNeoTaskCount")).toEqual([
      ["running", 2],
      ["idle", 0],
      ["other", 0],
    ]);
    expect(rows("deploymentStatus")).toEqual([
      ["not-started", 0],
      ["accepted", 0],
      ["running", 1],
      ["failed", 0],
      ["succeeded", 5],
      ["skipped", 0],
      ["other", 0],
    ]);
  });
});
