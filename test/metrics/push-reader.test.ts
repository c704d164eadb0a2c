/**
 * Errors while collecting the metrics of an OTLP push are logged (once per streak, with their message) and counted
 * in pulumi_exporter_export_collection_errors_total, instead of vanishing.
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  MeterProvider,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { createLogger } from "../../src/log/logger.ts";
import type { GaugeReadings } from "../../src/metrics/points.ts";
import { createMetricsPipeline, type MetricsPipeline, PushReader } from "../../src/metrics/provider.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";

/** Accepts every export and keeps it. */
class MemoryExporter implements PushMetricExporter {
  readonly exports: ResourceMetrics[] = [];
  export(metrics: ResourceMetrics, done: (result: { code: number }) => void): void {
    this.exports.push(metrics);
    done({ code: 0 });
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** The value of a metric without attributes, or of the first point, in one export. */
function value(metrics: ResourceMetrics | undefined, name: string): unknown {
  for (const scope of metrics?.scopeMetrics ?? []) {
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) return metric.dataPoints[0]?.value;
  }
  return undefined;
}

let pipeline: MetricsPipeline | undefined;
let provider: MeterProvider | undefined;
afterEach(async () => {
  await pipeline?.shutdown();
  await provider?.shutdown();
  pipeline = undefined;
  provider = undefined;
});

describe("collection errors of an OTLP push", () => {
  test("are logged once per streak with their message, counted, and what was collected is still exported", async () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line.replace(/^time=\S+ /, "")) });
    let broken = true;
    const readings = (): GaugeReadings => {
      if (broken) throw new Error("snapshot readings broke");
      return new Map([["exporterUp", [{ attributes: {}, value: 1 }]]]);
    };
    const exporter = new MemoryExporter();
    pipeline = createMetricsPipeline({
      config: { otlp: testOtlpConfig({}), resource: { serviceName: "pulumi-exporter", attributes: {} } },
      readings,
      logger,
      exporter,
    });
    pipeline.instruments.recordUpdates([
      {
        org: "acme",
        project: "web",
        stack: "prod",
        kind: "update",
        result: "succeeded",
        version: 1,
        durationSeconds: 20,
        resourceChanges: {},
      },
    ]);

    expect(await pipeline.push()).toBe(true);
    expect(await pipeline.push()).toBe(true);
    broken = false;
    expect(await pipeline.push()).toBe(true);
    expect(await pipeline.push()).toBe(true);

    expect(lines).toEqual([
      'level=warn msg="collecting the metrics of an OTLP export failed" error="snapshot readings broke" errors=1',
      'level=info msg="collecting the metrics of an OTLP export recovered"',
    ]);
    const [first, second, third, fourth] = exporter.exports;
    expect(exporter.exports).toHaveLength(4);
    // The update series went out while the gauges could not be read.
    expect(value(first, "pulumi_update_total")).toBe(1);
    expect(value(first, "pulumi_exporter_up")).toBeUndefined();
    expect(value(fourth, "pulumi_exporter_up")).toBe(1);
    // A push counts its collection's errors after collecting: each export shows the pushes before it.
    expect(
      [first, second, third, fourth].map((e) => value(e, "pulumi_exporter_export_collection_errors_total")),
    ).toEqual([0, 1, 2, 2]);
    expect(await pipeline.scrape()).toContain("pulumi_exporter_export_collection_errors_total 2\n");
  });

  test("a collection that fails as a whole exports nothing and reports its error", async () => {
    const reported: unknown[][] = [];
    const exporter = new MemoryExporter();
    const failing: MetricProducer = {
      collect: () => Promise.reject(new Error("producer exploded")),
    };
    const reader = new PushReader({
      exporter,
      temporality: "cumulative",
      timeoutMs: 1000,
      metricProducers: [failing],
      onCollectErrors: (errors) => reported.push([...errors]),
    });
    provider = new MeterProvider({ readers: [reader] });

    expect(await reader.push()).toBe(false);
    expect(reported.map((errors) => errors.map((e) => (e as Error).message))).toEqual([
      ["producer exploded"],
    ]);
    expect(exporter.exports).toHaveLength(0);
  });
});
