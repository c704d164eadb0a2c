/**
 * The typed recorder of gauge points: every point goes through `add`, whose labels are checked against the
 * catalog at compile time (src/metrics/catalog.ts, `LabelsOf`), and whose metric is left out when its family is
 * switched off (`--metrics.disable`): the one place that rule is applied to gauges.
 */
import type { Family } from "../families.ts";
import { CATALOG, type LabelsOf, type MetricId } from "./catalog.ts";
import type { GaugePoint, GaugeReadings } from "./points.ts";

export interface GaugeRecorder {
  /** One point; an undefined or NaN value records nothing (the value was never read). */
  add<Id extends MetricId>(id: Id, labels: LabelsOf<Id>, value: number | undefined): void;
  readonly readings: GaugeReadings;
}

export function familyEnabled(id: MetricId, disabled: ReadonlySet<Family>): boolean {
  const family = CATALOG[id].family;
  return family === "exporter" || !disabled.has(family);
}

export function gaugeRecorder(disabled: ReadonlySet<Family> = new Set()): GaugeRecorder {
  const readings = new Map<MetricId, GaugePoint[]>();
  return {
    readings,
    add(id, labels, value) {
      if (value === undefined || Number.isNaN(value) || !familyEnabled(id, disabled)) return;
      let points = readings.get(id);
      if (!points) {
        points = [];
        readings.set(id, points);
      }
      points.push({ attributes: labels, value });
    },
  };
}
