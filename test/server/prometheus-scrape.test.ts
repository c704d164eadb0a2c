import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ValueType } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { silentLogger } from "../../src/log/logger.ts";
import { CATALOG } from "../../src/metrics/catalog.ts";
import { PrometheusPullReader } from "../../src/metrics/pull-reader.ts";
import { createServerApp } from "../../src/server/app.ts";
import { type RunningServer, startServer } from "../../src/server/serve.ts";
import { type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";

/** What a real Prometheus stores after scraping our `/metrics`. */

const PROD = { org: "acme", project: "web", stack: "prod" };
const ODD = { org: "acme", project: "web", stack: 'we"ird\\name\nx' };
const UPDATE = { ...PROD, kind: "update", result: "failed" };

let provider: MeterProvider;
let server: RunningServer;
let prometheus: RunningPrometheus;
let exposition: string;
let instance: string;

beforeAll(async () => {
  const reader = new PrometheusPullReader();
  provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": "pulumi-exporter", "service.version": "1.2.3" }),
    readers: [reader],
  });
  const meter = provider.getMeter("pulumi-exporter");
  meter
    .createObservableGauge(CATALOG.stackResourceCount.name, {
      description: CATALOG.stackResourceCount.description,
      valueType: ValueType.INT,
    })
    .addCallback((result) => {
      result.observe(42, PROD);
      result.observe(7, ODD);
    });
  meter
    .createGauge(CATALOG.stackLastUpdateTimestamp.name, {
      description: CATALOG.stackLastUpdateTimestamp.description,
    })
    .record(1700000000.5, PROD);
  const changes = meter.createCounter(CATALOG.updateResourceChanges.name, {
    description: CATALOG.updateResourceChanges.description,
    valueType: ValueType.INT,
  });
  changes.add(5, { ...PROD, kind: "update", operation: "create" });
  meter
    .createCounter(CATALOG.updateTotal.name, {
      description: CATALOG.updateTotal.description,
      valueType: ValueType.INT,
    })
    .add(1, UPDATE);
  const duration = meter.createHistogram(CATALOG.updateDuration.name, {
    description: CATALOG.updateDuration.description,
    unit: "s",
    advice: { explicitBucketBoundaries: [...CATALOG.updateDuration.buckets] },
  });
  for (const seconds of [3, 7, 45, 2000]) duration.record(seconds, UPDATE);

  // A fixed exposition: every scrape serves the same text.
  exposition = await reader.scrape();
  const app = createServerApp({
    health: () => ({ alive: true, ready: true }),
    scrape: async () => exposition,
    preview: () => undefined,
    previewEnabled: false,
    logger: silentLogger,
  });
  server = startServer(app, "127.0.0.1:0");
  instance = `127.0.0.1:${server.port}`;
  prometheus = await startPrometheus([instance]);
}, 30_000);

afterAll(async () => {
  await prometheus?.stop();
  await server?.stop();
  await provider?.shutdown();
});

function target(labels: Record<string, string>) {
  return { instance, job: "pulumi-exporter", ...labels };
}

describe("a real Prometheus scraping /metrics", () => {
  test("the target is up and every sample of the exposition was stored", async () => {
    expect(await prometheus.query("up")).toEqual([{ metric: target({ __name__: "up" }), value: 1 }]);
    const samples = exposition.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length;
    expect(samples).toBe(17);
    expect(await prometheus.query("scrape_samples_scraped")).toEqual([
      { metric: target({ __name__: "scrape_samples_scraped" }), value: samples },
    ]);
  });

  test("gauges keep their names, labels and escaped values", async () => {
    expect(await prometheus.query("pulumi_stack_resource_count")).toEqual([
      { metric: target({ __name__: "pulumi_stack_resource_count", ...PROD }), value: 42 },
      { metric: target({ __name__: "pulumi_stack_resource_count", ...ODD }), value: 7 },
    ]);
    expect(await prometheus.query("pulumi_stack_last_update_timestamp")).toEqual([
      { metric: target({ __name__: "pulumi_stack_last_update_timestamp", ...PROD }), value: 1700000000.5 },
    ]);
    expect(await prometheus.metadata("pulumi_stack_resource_count")).toEqual([
      { type: "gauge", help: CATALOG.stackResourceCount.description, unit: "" },
    ]);
  });

  test("counters arrive with _total, typed as counters", async () => {
    expect(await prometheus.query("pulumi_update_resource_changes_total")).toEqual([
      {
        metric: target({
          __name__: "pulumi_update_resource_changes_total",
          ...PROD,
          kind: "update",
          operation: "create",
        }),
        value: 5,
      },
    ]);
    expect(await prometheus.query("pulumi_update_total")).toEqual([
      { metric: target({ __name__: "pulumi_update_total", ...UPDATE }), value: 1 },
    ]);
    expect(await prometheus.metadata("pulumi_update_resource_changes_total")).toEqual([
      { type: "counter", help: CATALOG.updateResourceChanges.description, unit: "" },
    ]);
  });

  test("the histogram has cumulative buckets, _sum and _count that histogram_quantile understands", async () => {
    const buckets = await prometheus.query("pulumi_update_duration_seconds_bucket");
    const byLe = Object.fromEntries(buckets.map((b) => [b.metric.le, b.value]));
    expect(byLe).toEqual({
      "5": 1,
      "10": 2,
      "30": 2,
      "60": 3,
      "120": 3,
      "300": 3,
      "600": 3,
      "1800": 3,
      "+Inf": 4,
    });
    for (const bucket of buckets) {
      expect(bucket.metric).toEqual(
        target({
          __name__: "pulumi_update_duration_seconds_bucket",
          ...UPDATE,
          le: String(bucket.metric.le),
        }),
      );
    }
    expect(await prometheus.query("pulumi_update_duration_seconds_sum")).toEqual([
      { metric: target({ __name__: "pulumi_update_duration_seconds_sum", ...UPDATE }), value: 2055 },
    ]);
    expect(await prometheus.query("pulumi_update_duration_seconds_count")).toEqual([
      { metric: target({ __name__: "pulumi_update_duration_seconds_count", ...UPDATE }), value: 4 },
    ]);
    // Rank 2 of 4 is the last observation in (5, 10], so the median interpolates to the bucket's top.
    expect(await prometheus.query("histogram_quantile(0.5, pulumi_update_duration_seconds_bucket)")).toEqual([
      { metric: target({ ...UPDATE }), value: 10 },
    ]);
    expect(await prometheus.metadata("pulumi_update_duration_seconds")).toEqual([
      { type: "histogram", help: CATALOG.updateDuration.description, unit: "" },
    ]);
  });

  test("target_info carries the resource attributes", async () => {
    expect(await prometheus.query("target_info")).toEqual([
      {
        metric: target({
          __name__: "target_info",
          service_name: "pulumi-exporter",
          service_version: "1.2.3",
        }),
        value: 1,
      },
    ]);
  });
});

describe("startPrometheus", () => {
  test("a missing binary is a clear error", async () => {
    await expect(startPrometheus([instance], { binary: "/nonexistent/prometheus" })).rejects.toThrow(
      "/nonexistent/prometheus is missing: install Prometheus (apt-get install prometheus; .ci/run installs it) or set PROMETHEUS_BINARY",
    );
  });
});
