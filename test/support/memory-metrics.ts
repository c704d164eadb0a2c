/** A MeterProvider wired to the catalog's instruments, read in memory: for exact-value assertions. */
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import { CatalogSeries } from "../../src/metrics/catalog-series.ts";
import { createInstruments, type Instruments } from "../../src/metrics/instruments.ts";
import type { GaugeReadings } from "../../src/metrics/points.ts";
import { CARDINALITY_LIMIT, temporalitySelector } from "../../src/metrics/temporality.ts";

class MemoryReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Point {
  attributes: Record<string, string>;
  value: number;
  /** Histograms only. */
  count?: number;
  buckets?: number[];
}

export interface MemoryMetrics {
  instruments: Instruments;
  /** Every point of every metric, by metric name. */
  collect(): Promise<Map<string, Point[]>>;
  /** The value of one series (attributes must match exactly); undefined when absent. */
  value(points: Map<string, Point[]>, name: string, attributes: Record<string, string>): number | undefined;
  shutdown(): Promise<void>;
}

/** `organizations`: the configured ones, whose error counters start at 0. */
export function memoryMetrics(
  readings: () => GaugeReadings | undefined,
  organizations: readonly string[] = [],
): MemoryMetrics {
  const series = new CatalogSeries({ scope: { name: "test" }, readings });
  const reader = new MemoryReader({
    aggregationTemporalitySelector: temporalitySelector("cumulative"),
    cardinalitySelector: () => CARDINALITY_LIMIT,
    metricProducers: [series.producer(AggregationTemporality.CUMULATIVE)],
  });
  const provider = new MeterProvider({ readers: [reader] });
  const instruments = createInstruments(provider.getMeter("test"), series, organizations);
  return {
    instruments,
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const out = new Map<string, Point[]>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const points: Point[] = metric.dataPoints.map((dp) => {
            const attributes = Object.fromEntries(
              Object.entries(dp.attributes).map(([k, v]) => [k, String(v)]),
            );
            if (metric.dataPointType === DataPointType.HISTOGRAM) {
              const h = dp.value as { sum?: number; count: number; buckets: { counts: number[] } };
              return { attributes, value: h.sum ?? 0, count: h.count, buckets: h.buckets.counts };
            }
            return { attributes, value: dp.value as number };
          });
          out.set(metric.descriptor.name, points);
        }
      }
      return out;
    },
    value(points, name, attributes) {
      const key = JSON.stringify(Object.entries(attributes).sort());
      return points.get(name)?.find((p) => JSON.stringify(Object.entries(p.attributes).sort()) === key)
        ?.value;
    },
    shutdown: () => provider.shutdown(),
  };
}
