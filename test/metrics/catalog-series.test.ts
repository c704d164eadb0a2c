import { describe, expect, test } from "bun:test";
import { ValueType } from "@opentelemetry/api";
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  type MetricData,
  type MetricProducer,
  type SumMetricData,
} from "@opentelemetry/sdk-metrics";
import type { UpdateEvent } from "../../src/collect/updates.ts";
import { CATALOG, type MetricId } from "../../src/metrics/catalog.ts";
import { bucketIndex, CatalogSeries, gaugeMetrics } from "../../src/metrics/catalog-series.ts";
import type { GaugePoint } from "../../src/metrics/points.ts";

function event(stack: string, overrides: Partial<UpdateEvent> = {}): UpdateEvent {
  return {
    org: "acme",
    project: "web",
    stack,
    version: 1,
    kind: "update",
    result: "succeeded",
    durationSeconds: 42,
    resourceChanges: { create: 3, update: 0 },
    ...overrides,
  };
}

async function metricsOf(producer: MetricProducer): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await producer.collect();
  expect(errors).toEqual([]);
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const m of scope.metrics) out.set(m.descriptor.name, m);
  return out;
}

function sum(metrics: Map<string, MetricData>, name: string): SumMetricData {
  const metric = metrics.get(name);
  if (metric?.dataPointType !== DataPointType.SUM) throw new Error(`${name} is not a sum`);
  return metric;
}

function histogram(metrics: Map<string, MetricData>): HistogramMetricData {
  const metric = metrics.get("pulumi_update_duration_seconds");
  if (metric?.dataPointType !== DataPointType.HISTOGRAM) throw new Error("no duration histogram");
  return metric;
}

const live = (...stacks: string[]) => new Set(stacks.map((s) => `acme/web/${s}`));

describe("bucketIndex", () => {
  test("a value on a bound belongs to that bound's bucket, as in the OpenTelemetry SDK", () => {
    const bounds = [5, 10, 30];
    expect([0, 5, 5.1, 10, 29, 30, 31, Number.POSITIVE_INFINITY].map((v) => bucketIndex(bounds, v))).toEqual([
      0, 0, 1, 1, 2, 2, 3, 3,
    ]);
  });
});

describe("CatalogSeries", () => {
  test("a cumulative view keeps running totals with the catalog's names, units, types and start times", async () => {
    let now = 1_700_000_000_000;
    const series = new CatalogSeries({
      scope: { name: "pulumi-exporter", version: "1.2.3" },
      now: () => now,
    });
    const view = series.producer(AggregationTemporality.CUMULATIVE);
    series.record([event("prod"), event("prod", { version: 2, durationSeconds: 3 })]);
    now += 5_000;
    series.record([
      event("prod", { version: 3, result: "failed", durationSeconds: 700, resourceChanges: {} }),
    ]);
    now += 5_000;
    const first = await metricsOf(view);
    const { resourceMetrics } = await view.collect();
    expect(resourceMetrics.scopeMetrics.map((s) => s.scope)).toEqual([
      { name: "pulumi-exporter", version: "1.2.3" },
    ]);

    const total = sum(first, "pulumi_update_total");
    expect(total.descriptor).toEqual({
      name: "pulumi_update_total",
      description: CATALOG.updateTotal.description,
      unit: "",
      valueType: ValueType.INT,
    });
    expect(total.isMonotonic).toBe(true);
    expect(total.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(total.dataPoints.map((p) => [p.attributes.result, p.value, p.startTime, p.endTime])).toEqual([
      ["succeeded", 2, [1_700_000_000, 0], [1_700_000_010, 0]],
      ["failed", 1, [1_700_000_005, 0], [1_700_000_010, 0]],
    ]);

    const changes = sum(first, "pulumi_update_resource_changes");
    expect(changes.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ org: "acme", project: "web", stack: "prod", kind: "update", operation: "create" }, 6],
    ]);

    const duration = histogram(first);
    expect(duration.descriptor.unit).toBe("s");
    expect(duration.descriptor.valueType).toBe(ValueType.DOUBLE);
    expect(duration.dataPoints.map((p) => [p.attributes.result, p.value])).toEqual([
      [
        "succeeded",
        {
          min: 3,
          max: 42,
          sum: 45,
          count: 2,
          buckets: { boundaries: [5, 10, 30, 60, 120, 300, 600, 1800], counts: [1, 0, 0, 1, 0, 0, 0, 0, 0] },
        },
      ],
      [
        "failed",
        {
          min: 700,
          max: 700,
          sum: 700,
          count: 1,
          buckets: { boundaries: [5, 10, 30, 60, 120, 300, 600, 1800], counts: [0, 0, 0, 0, 0, 0, 0, 1, 0] },
        },
      ],
    ]);
    // One boundaries array for every point, so `/metrics` formats the `le` values once.
    expect(duration.dataPoints[0]?.value.buckets.boundaries).toBe(
      duration.dataPoints[1]?.value.buckets.boundaries as number[],
    );

    series.record([event("prod", { version: 4 })]);
    const second = await metricsOf(view);
    expect(sum(second, "pulumi_update_total").dataPoints.map((p) => [p.attributes.result, p.value])).toEqual([
      ["succeeded", 3],
      ["failed", 1],
    ]);
    expect(sum(second, "pulumi_update_resource_changes").dataPoints.map((p) => p.value)).toEqual([9]);
  });

  test("a delta view reports each interval's increments once, starting where the last collection ended", async () => {
    let now = 1_700_000_000_000;
    const series = new CatalogSeries({ scope: { name: "pulumi-exporter" }, now: () => now });
    const view = series.producer(AggregationTemporality.DELTA);
    series.record([event("prod"), event("dev")]);
    now += 1_500;
    const first = sum(await metricsOf(view), "pulumi_update_total");
    expect(first.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(first.dataPoints.map((p) => [p.attributes.stack, p.value, p.startTime, p.endTime])).toEqual([
      ["prod", 1, [1_700_000_000, 0], [1_700_000_001, 500_000_000]],
      ["dev", 1, [1_700_000_000, 0], [1_700_000_001, 500_000_000]],
    ]);
    now += 1_000;
    expect((await view.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    series.record([event("prod", { version: 2 }), event("prod", { version: 3 })]);
    now += 1_000;
    const third = await metricsOf(view);
    expect(
      sum(third, "pulumi_update_total").dataPoints.map((p) => [p.attributes.stack, p.value, p.startTime]),
    ).toEqual([["prod", 2, [1_700_000_002, 500_000_000]]]);
    expect(histogram(third).dataPoints.map((p) => p.value.count)).toEqual([2]);
  });

  test("every view records every event: the pull reader and the push reader see the same updates", async () => {
    const series = new CatalogSeries({ scope: { name: "pulumi-exporter" } });
    const pull = series.producer(AggregationTemporality.CUMULATIVE);
    const push = series.producer(AggregationTemporality.DELTA);
    series.record([event("prod"), event("prod", { version: 2 })]);
    expect(sum(await metricsOf(push), "pulumi_update_total").dataPoints.map((p) => p.value)).toEqual([2]);
    expect(sum(await metricsOf(pull), "pulumi_update_total").dataPoints.map((p) => p.value)).toEqual([2]);
  });

  test("a stack's series are dropped from every view as soon as the collector no longer retains it", async () => {
    const series = new CatalogSeries({ scope: { name: "pulumi-exporter" } });
    const cumulative = series.producer(AggregationTemporality.CUMULATIVE);
    series.record([event("prod"), event("dev")]);
    const stacksOf = async () =>
      sum(await metricsOf(cumulative), "pulumi_update_total").dataPoints.map((p) => p.attributes.stack);

    series.retain(live("prod", "dev"));
    expect(await stacksOf()).toEqual(["prod", "dev"]);
    series.retain(live("prod"));
    expect(await stacksOf()).toEqual(["prod"]);
    const m = await metricsOf(cumulative);
    expect(histogram(m).dataPoints.map((p) => p.attributes.stack)).toEqual(["prod"]);
    expect(sum(m, "pulumi_update_resource_changes").dataPoints.map((p) => p.attributes.stack)).toEqual([
      "prod",
    ]);

    // Recreated under the same name later: a new series from 0.
    series.record([event("dev", { version: 1 })]);
    expect(await stacksOf()).toEqual(["prod", "dev"]);
    expect(sum(await metricsOf(cumulative), "pulumi_update_total").dataPoints.map((p) => p.value)).toEqual([
      1, 1,
    ]);
  });

  test("an update without a duration is counted but not observed; an empty view reports nothing", async () => {
    const series = new CatalogSeries({ scope: { name: "pulumi-exporter" } });
    const view = series.producer(AggregationTemporality.CUMULATIVE);
    expect((await view.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    series.record([event("prod", { durationSeconds: undefined })]);
    const m = await metricsOf(view);
    expect(sum(m, "pulumi_update_total").dataPoints.map((p) => p.value)).toEqual([1]);
    expect(m.has("pulumi_update_duration_seconds")).toBe(false);
  });
});

describe("gauges", () => {
  const org = { org: "acme" };
  const readings = new Map<MetricId, GaugePoint[]>([
    ["orgMemberCount", [{ attributes: org, value: 7.9 }]],
    ["exporterCollectDuration", [{ attributes: {}, value: 1.25 }]],
    ["orgTeamCount", []],
    [
      "stackResourceCount",
      [
        { attributes: { org: "acme", project: "web", stack: "prod" }, value: 12 },
        { attributes: { org: "acme", project: "web", stack: "dev" }, value: Number.POSITIVE_INFINITY },
      ],
    ],
  ]);

  test("come in catalog order, stamped with the collection time; integer gauges carry integers", () => {
    const metrics = gaugeMetrics(readings, [1_700_000_000, 5]);
    expect(metrics.map((m) => [m.descriptor.name, m.descriptor.valueType, m.dataPointType])).toEqual([
      ["pulumi_stack_resource_count", ValueType.INT, DataPointType.GAUGE],
      ["pulumi_org_member_count", ValueType.INT, DataPointType.GAUGE],
      ["pulumi_exporter_collect_duration_seconds", ValueType.DOUBLE, DataPointType.GAUGE],
    ]);
    expect(
      metrics.map((m) => m.dataPoints.map((p) => [p.attributes, p.value, p.startTime, p.endTime])),
    ).toEqual([
      [[{ org: "acme", project: "web", stack: "prod" }, 12, [1_700_000_000, 5], [1_700_000_000, 5]]],
      [[org, 7, [1_700_000_000, 5], [1_700_000_000, 5]]],
      [[{}, 1.25, [1_700_000_000, 5], [1_700_000_000, 5]]],
    ]);
  });

  test("a view reports the current readings on every collection, cumulative or delta", async () => {
    let current: Map<MetricId, GaugePoint[]> | undefined;
    const series = new CatalogSeries({ scope: { name: "pulumi-exporter" }, readings: () => current });
    const delta = series.producer(AggregationTemporality.DELTA);
    expect((await delta.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    current = new Map([["orgMemberCount", [{ attributes: org, value: 3 }]]]);
    for (let i = 0; i < 2; i++) {
      const m = await metricsOf(delta);
      expect(m.get("pulumi_org_member_count")?.dataPoints.map((p) => p.value)).toEqual([3]);
    }
  });

  test("readings that throw are reported as a collection error and the update series still go out", async () => {
    const series = new CatalogSeries({
      scope: { name: "pulumi-exporter" },
      readings: () => {
        throw new Error("snapshot unreadable");
      },
    });
    const view = series.producer(AggregationTemporality.CUMULATIVE);
    series.record([event("prod")]);
    const { resourceMetrics, errors } = await view.collect();
    expect(errors.map((e) => (e as Error).message)).toEqual(["snapshot unreadable"]);
    expect(resourceMetrics.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name)).toEqual([
      "pulumi_update_total",
      "pulumi_update_duration_seconds",
      "pulumi_update_resource_changes",
    ]);
  });
});
