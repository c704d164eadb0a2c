import { describe, expect, test } from "bun:test";
import { emptyState } from "../../src/collect/state.ts";
import { cachedSnapshotReadings, type Snapshot } from "../../src/metrics/readings.ts";

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
