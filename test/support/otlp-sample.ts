/**
 * A known set of instruments and recordings, exported through a real MeterProvider, so wire tests can compare what
 * a receiver decoded with what was recorded.
 */
import { type Meter, ValueType } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";

export const SAMPLE_BUCKETS = [5, 10, 30, 60, 120, 300, 600, 1800];

export const SAMPLE_RESOURCE = {
  "service.name": "pulumi-exporter-test",
  "service.version": "9.9.9",
  "deployment.environment": "wire-test",
};

export interface SampleInstruments {
  /** Records the first round: see {@link SAMPLE_EXPECTED}. */
  recordFirst(): void;
  /** Records a second round: the counter +4, the histogram one value of 8. */
  recordSecond(): void;
}

export function sampleInstruments(meter: Meter): SampleInstruments {
  const intGauge = meter.createGauge("test_stacks", {
    description: "Stacks per project.",
    unit: "{stack}",
    valueType: ValueType.INT,
  });
  const doubleGauge = meter.createGauge("test_ratio", { description: "A ratio.", unit: "1" });
  const counter = meter.createCounter("test_updates_total", {
    description: "Updates seen.",
    unit: "{update}",
    valueType: ValueType.INT,
  });
  const histogram = meter.createHistogram("test_update_duration_seconds", {
    description: "Update durations.",
    unit: "s",
    advice: { explicitBucketBoundaries: SAMPLE_BUCKETS },
  });
  return {
    recordFirst() {
      intGauge.record(42, { project: "web", org: "acme" });
      intGauge.record(7, { project: "api", org: "acme" });
      doubleGauge.record(0.25, { org: "acme" });
      counter.add(2, { org: "acme", result: "succeeded" });
      counter.add(3, { org: "acme", result: "succeeded" });
      counter.add(1, { org: "acme", result: "failed" });
      for (const seconds of [3, 7, 45, 2000]) histogram.record(seconds, { kind: "update" });
    },
    recordSecond() {
      counter.add(4, { org: "acme", result: "succeeded" });
      histogram.record(8, { kind: "update" });
    },
  };
}

/** What the first round must look like on the wire. */
export const SAMPLE_EXPECTED = {
  test_stacks: [
    { attributes: { project: "web", org: "acme" }, kind: "int", value: 42 },
    { attributes: { project: "api", org: "acme" }, kind: "int", value: 7 },
  ],
  test_ratio: [{ attributes: { org: "acme" }, kind: "double", value: 0.25 }],
  test_updates_total: [
    { attributes: { org: "acme", result: "succeeded" }, kind: "int", value: 5 },
    { attributes: { org: "acme", result: "failed" }, kind: "int", value: 1 },
  ],
  test_update_duration_seconds: {
    attributes: { kind: "update" },
    count: 4,
    sum: 2055,
    // (-inf,5] (5,10] (10,30] (30,60] (60,120] (120,300] (300,600] (600,1800] (1800,+inf)
    bucketCounts: [1, 1, 0, 1, 0, 0, 0, 0, 1],
    explicitBounds: SAMPLE_BUCKETS,
  },
} as const;

export interface SampleRun {
  provider: MeterProvider;
  instruments: SampleInstruments;
  /** Collects and exports now; resolves once the export finished (even when it failed). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A MeterProvider with one periodic reader on `exporter` whose timer never fires during a test. */
export function startSample(exporter: PushMetricExporter): SampleRun {
  const provider = new MeterProvider({
    resource: resourceFromAttributes(SAMPLE_RESOURCE),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  const instruments = sampleInstruments(provider.getMeter("pulumi-exporter-test", "1.0.0"));
  return {
    provider,
    instruments,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
