/** Plain metric points: what instruments observe and what the preview page shows. */
import type { MetricId } from "./catalog.ts";

export type Attributes = Readonly<Record<string, string>>;

export interface GaugePoint {
  readonly attributes: Attributes;
  readonly value: number;
}

/** Current value of every gauge, keyed by catalog id. A gauge with no points has no series. */
export type GaugeReadings = ReadonlyMap<MetricId, readonly GaugePoint[]>;
