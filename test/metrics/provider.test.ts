import { afterEach, describe, expect, test } from "bun:test";
import type { UpdateEvent } from "../../src/collect/updates.ts";
import type { Temporality } from "../../src/config/types.ts";
import { silentLogger } from "../../src/log/logger.ts";
import type { MetricId } from "../../src/metrics/catalog.ts";
import { createMetricExporter } from "../../src/metrics/exporters.ts";
import type { GaugePoint, GaugeReadings } from "../../src/metrics/points.ts";
import { createMetricsPipeline, type MetricsPipeline } from "../../src/metrics/provider.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { metricShape, points } from "../support/otlp-points.ts";

const CUMULATIVE = 2;
const DELTA = 1;

let receiver: OtlpHttpReceiver | undefined;
let pipeline: MetricsPipeline | undefined;

afterEach(async () => {
  await pipeline?.shutdown();
  await receiver?.stop();
  pipeline = undefined;
  receiver = undefined;
});

function finished(stack: string, version: number, result = "succeeded"): UpdateEvent {
  return {
    org: "acme",
    project: "web",
    stack,
    kind: "update",
    result,
    version,
    durationSeconds: 20,
    resourceChanges: { create: 2 },
  };
}

async function start(
  temporality: Temporality,
  readings: () => GaugeReadings | undefined = () => undefined,
  timeoutMs = 2000,
): Promise<{ receiver: OtlpHttpReceiver; pipeline: MetricsPipeline }> {
  receiver = startOtlpHttpReceiver({ format: "protobuf" });
  const config = testOtlpConfig({ endpoint: receiver.url, temporality, timeoutMs });
  pipeline = createMetricsPipeline({
    config: { otlp: config, resource: { serviceName: "pulumi-exporter", attributes: {} } },
    readings,
    logger: silentLogger,
    exporter: await createMetricExporter(config),
  });
  return { receiver, pipeline };
}

const liveStacks = (...stacks: string[]) => new Set(stacks.map((s) => `acme/web/${s}`));

describe("the update series through the whole pipeline", () => {
  test("delta over OTLP sends each export's increments while /metrics keeps the running totals", async () => {
    const { receiver, pipeline } = await start("delta");
    pipeline.instruments.recordUpdates([
      finished("prod", 1),
      finished("prod", 2),
      finished("dev", 1, "failed"),
    ]);
    expect(await pipeline.push()).toBe(true);
    pipeline.instruments.recordUpdates([finished("prod", 3)]);
    expect(await pipeline.push()).toBe(true);

    const [first, second] = await receiver.waitForExports(2);
    expect(metricShape(first?.body ?? [], "pulumi_update_total")).toMatchObject({
      type: "sum",
      temporality: DELTA,
      monotonic: true,
    });
    const totals = (body: typeof first) =>
      points(body?.body ?? [], "pulumi_update_total").map((p) => [p.attributes.stack, p.kind, p.value]);
    expect(totals(first)).toEqual([
      ["prod", "int", 2],
      ["dev", "int", 1],
    ]);
    expect(totals(second)).toEqual([["prod", "int", 1]]);
    expect(points(second?.body ?? [], "pulumi_update_duration_seconds").map((p) => [p.count, p.sum])).toEqual(
      [[1, 20]],
    );

    const text = await pipeline.scrape();
    expect(text).toContain(
      'pulumi_update_total{org="acme",project="web",stack="prod",kind="update",result="succeeded"} 3\n',
    );
    expect(text).toContain(
      'pulumi_update_resource_changes_total{org="acme",project="web",stack="prod",kind="update",operation="create"} 6\n',
    );
  });

  test("cumulative over OTLP: a deleted stack's series leave the export and /metrics together", async () => {
    const { receiver, pipeline } = await start("cumulative");
    pipeline.instruments.recordUpdates([finished("prod", 1), finished("dev", 1), finished("dev", 2)]);
    expect(await pipeline.push()).toBe(true);
    pipeline.instruments.retainStacks(liveStacks("prod"));
    expect(await pipeline.push()).toBe(true);

    const [before, after] = await receiver.waitForExports(2);
    expect(metricShape(before?.body ?? [], "pulumi_update_total").temporality).toBe(CUMULATIVE);
    const stacks = (body: typeof before, name: string) =>
      points(body?.body ?? [], name).map((p) => [
        p.attributes.stack,
        name.endsWith("seconds") ? p.count : p.value,
      ]);
    expect(stacks(before, "pulumi_update_total")).toEqual([
      ["prod", 1],
      ["dev", 2],
    ]);
    for (const name of ["pulumi_update_total", "pulumi_update_duration_seconds"]) {
      expect(stacks(after, name)).toEqual([["prod", 1]]);
    }
    expect(stacks(after, "pulumi_update_resource_changes")).toEqual([["prod", 2]]);
    const lines = (await pipeline.scrape()).split("\n").filter((l) => l.startsWith("pulumi_update_total"));
    expect(lines).toEqual([
      'pulumi_update_total{org="acme",project="web",stack="prod",kind="update",result="succeeded"} 1',
    ]);
  });

  test("10,000 stacks all arrive, over OTLP and on /metrics, with no overflow series", async () => {
    const stackNames = Array.from({ length: 10_000 }, (_, i) => `stack-${i}`);
    const readings = new Map<MetricId, GaugePoint[]>([
      [
        "stackResourceCount",
        stackNames.map((stack, i) => ({ attributes: { org: "acme", project: "web", stack }, value: i })),
      ],
    ]);
    // A generous export timeout: encoding 20,000 series takes a while on a busy machine.
    const { receiver, pipeline } = await start("cumulative", () => readings, 20_000);
    pipeline.instruments.recordUpdates(stackNames.map((stack) => finished(stack, 1)));
    expect(await pipeline.push()).toBe(true);

    const [exported] = await receiver.waitForExports(1, 20_000);
    const body = exported?.body ?? [];
    const counts = points(body, "pulumi_stack_resource_count");
    expect(counts).toHaveLength(10_000);
    expect(counts[9_999]).toMatchObject({ attributes: { stack: "stack-9999" }, kind: "int", value: 9_999 });
    const totals = points(body, "pulumi_update_total");
    expect(new Set(totals.map((p) => p.attributes.stack)).size).toBe(10_000);
    expect(totals.every((p) => p.value === 1)).toBe(true);

    const text = await pipeline.scrape();
    const countOf = (prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix)).length;
    expect(countOf("pulumi_stack_resource_count{")).toBe(10_000);
    expect(countOf("pulumi_update_total{")).toBe(10_000);
    expect(text).toContain('pulumi_stack_resource_count{org="acme",project="web",stack="stack-9999"} 9999\n');
    expect(text).not.toContain("otel_metric_overflow");
  });
});
