import { describe, expect, test } from "bun:test";
import { ValueType } from "@opentelemetry/api";
import { AggregationTemporality, DataPointType, type MetricData } from "@opentelemetry/sdk-metrics";
import { DeploymentSeries } from "../../src/metrics/deployment-series.ts";
import { finished, started } from "../support/deployment-events.ts";

/** A clock the test moves: milliseconds since the epoch. */
function clock(startMs: number) {
  let now = startMs;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
  };
}

function byName(metrics: MetricData[]): Record<string, MetricData> {
  return Object.fromEntries(metrics.map((m) => [m.descriptor.name, m]));
}

/** The value of a histogram's first point. */
function firstHistogram(metric: MetricData | undefined): { count: number; buckets: { counts: number[] } } {
  const point = metric?.dataPointType === DataPointType.HISTOGRAM ? metric.dataPoints[0] : undefined;
  if (!point) throw new Error("no histogram point");
  return { count: point.value.count, buckets: { counts: point.value.buckets.counts } };
}

const HOSTED_UPDATE_SUCCEEDED = {
  org: "acme",
  operation: "update",
  agent_pool: "pulumi-hosted",
  result: "succeeded",
};

describe("deployment series", () => {
  test("cumulative: counts per org, operation, result and agent pool; durations and queue waits in their buckets", () => {
    const time = clock(1_000_000);
    const series = new DeploymentSeries(AggregationTemporality.CUMULATIVE, time.now);
    series.record([
      started(3),
      finished({ result: "succeeded", durationSeconds: 45 }),
      started(700, { operation: "destroy", agentPool: "gpu" }),
      finished({ result: "failed", operation: "destroy", agentPool: "gpu", durationSeconds: 4000 }),
      finished({ result: "skipped" }),
    ]);
    time.set(1_005_000);
    series.record([finished({ result: "succeeded", durationSeconds: 10 }), started(1)]);
    const metrics = byName(series.collect([1010, 0]));
    expect(Object.keys(metrics)).toEqual([
      "pulumi_deployments_total",
      "pulumi_deployment_duration_seconds",
      "pulumi_deployment_queue_wait_seconds",
    ]);

    const total = metrics.pulumi_deployments_total;
    expect(total).toEqual({
      descriptor: {
        name: "pulumi_deployments_total",
        description:
          "Deployments that reached a terminal status (`succeeded`, `failed`, `skipped`), counted once each",
        unit: "",
        valueType: ValueType.INT,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: [
        { attributes: HOSTED_UPDATE_SUCCEEDED, startTime: [1000, 0], endTime: [1010, 0], value: 2 },
        {
          attributes: { org: "acme", operation: "destroy", agent_pool: "gpu", result: "failed" },
          startTime: [1000, 0],
          endTime: [1010, 0],
          value: 1,
        },
        {
          attributes: { org: "acme", operation: "update", agent_pool: "pulumi-hosted", result: "skipped" },
          startTime: [1000, 0],
          endTime: [1010, 0],
          value: 1,
        },
      ],
    } as MetricData);

    const duration = metrics.pulumi_deployment_duration_seconds;
    expect(duration?.descriptor).toEqual({
      name: "pulumi_deployment_duration_seconds",
      description:
        "First job `started` to last job `lastUpdated`, observed once at the terminal status (no observation for a deployment without jobs)",
      unit: "s",
      valueType: ValueType.DOUBLE,
    });
    expect(duration?.dataPoints).toEqual([
      {
        attributes: HOSTED_UPDATE_SUCCEEDED,
        startTime: [1000, 0],
        endTime: [1010, 0],
        value: {
          min: 10,
          max: 45,
          sum: 55,
          count: 2,
          buckets: {
            boundaries: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
            counts: [1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
          },
        },
      },
      {
        attributes: { org: "acme", operation: "destroy", agent_pool: "gpu", result: "failed" },
        startTime: [1000, 0],
        endTime: [1010, 0],
        value: {
          min: 4000,
          max: 4000,
          sum: 4000,
          count: 1,
          buckets: {
            boundaries: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
            counts: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
          },
        },
      },
    ]);

    const wait = metrics.pulumi_deployment_queue_wait_seconds;
    expect(wait?.descriptor.unit).toBe("s");
    expect(wait?.dataPoints).toEqual([
      {
        attributes: { org: "acme", operation: "update", agent_pool: "pulumi-hosted" },
        startTime: [1000, 0],
        endTime: [1010, 0],
        value: {
          min: 1,
          max: 3,
          sum: 4,
          count: 2,
          buckets: {
            boundaries: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
            counts: [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
          },
        },
      },
      {
        attributes: { org: "acme", operation: "destroy", agent_pool: "gpu" },
        startTime: [1000, 0],
        endTime: [1010, 0],
        value: {
          min: 700,
          max: 700,
          sum: 700,
          count: 1,
          buckets: {
            boundaries: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
            counts: [0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
          },
        },
      },
    ]);

    // Cumulative totals keep counting across collections.
    series.record([finished({ result: "succeeded" })]);
    const again = byName(series.collect([1020, 0]));
    expect(again.pulumi_deployments_total?.dataPoints[0]).toEqual({
      attributes: HOSTED_UPDATE_SUCCEEDED,
      startTime: [1000, 0],
      endTime: [1020, 0],
      value: 3,
    });
    // No duration for the one without: the histogram still holds two.
    expect(firstHistogram(again.pulumi_deployment_duration_seconds).count).toBe(2);
  });

  test("delta: each collection reports what changed since the last one, starting where it ended", () => {
    const time = clock(2_000_000);
    const series = new DeploymentSeries(AggregationTemporality.DELTA, time.now);
    expect(series.collect([2000, 0])).toEqual([]);
    series.record([finished({ result: "succeeded", durationSeconds: 30 })]);
    const first = byName(series.collect([2010, 0]));
    expect(first.pulumi_deployments_total?.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(first.pulumi_deployments_total?.dataPoints).toEqual([
      { attributes: HOSTED_UPDATE_SUCCEEDED, startTime: [2000, 0], endTime: [2010, 0], value: 1 },
    ]);
    expect(Object.keys(first)).toEqual(["pulumi_deployments_total", "pulumi_deployment_duration_seconds"]);
    expect(series.collect([2020, 0])).toEqual([]);
    series.record([finished({ result: "succeeded" }), started(12)]);
    const third = byName(series.collect([2030, 0]));
    expect(third.pulumi_deployments_total?.dataPoints).toEqual([
      { attributes: HOSTED_UPDATE_SUCCEEDED, startTime: [2020, 0], endTime: [2030, 0], value: 1 },
    ]);
    expect(Object.keys(third)).toEqual(["pulumi_deployments_total", "pulumi_deployment_queue_wait_seconds"]);
  });

  test("a value on a bound falls in that bound's bucket", () => {
    const series = new DeploymentSeries(AggregationTemporality.CUMULATIVE, () => 0);
    series.record([started(1), started(5), started(1800), started(1800.5)]);
    const wait = byName(series.collect([1, 0])).pulumi_deployment_queue_wait_seconds;
    expect(firstHistogram(wait).buckets.counts).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
  });
});
