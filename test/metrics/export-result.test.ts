/**
 * One reading of an export result and one cardinality limit: the push reader, the export hooks and `check` agree
 * on what a success is, and a scrape and a push fold series at the same count.
 */
import { expect, test } from "bun:test";
import { ExportResultCode } from "@opentelemetry/core";
import { InstrumentType, MeterProvider, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { EXPORT_SUCCESS, exportSucceeded } from "../../src/metrics/export-result.ts";
import { instrumentExporter } from "../../src/metrics/exporters.ts";
import { PushReader } from "../../src/metrics/provider.ts";
import { PrometheusPullReader } from "../../src/metrics/pull-reader.ts";
import { CARDINALITY_LIMIT } from "../../src/metrics/temporality.ts";

test("the success code is the SDK's", () => {
  expect(EXPORT_SUCCESS).toBe(ExportResultCode.SUCCESS);
  expect(exportSucceeded({ code: ExportResultCode.SUCCESS })).toBe(true);
  expect(exportSucceeded({ code: ExportResultCode.FAILED })).toBe(false);
});

/** An exporter that answers every export with `code`. */
function answering(code: number): PushMetricExporter {
  return {
    export: (_metrics, done) => done({ code }),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

test.each([
  [ExportResultCode.SUCCESS, true],
  [ExportResultCode.FAILED, false],
])("code %p: the push reader and the export hooks both read it as ok = %p", async (code, ok) => {
  const hooks: boolean[] = [];
  const exporter = instrumentExporter(answering(code), { onResult: (result) => hooks.push(result) });
  const reader = new PushReader({ exporter, timeoutMs: 1_000, temporality: "cumulative" });
  const provider = new MeterProvider({ readers: [reader] });
  expect(await reader.push()).toBe(ok);
  expect(hooks).toEqual([ok]);
  await provider.shutdown();
});

test("a scrape and a push fold series at the same limit", () => {
  const push = new PushReader({
    exporter: answering(ExportResultCode.SUCCESS),
    timeoutMs: 1_000,
    temporality: "cumulative",
  });
  const pull = new PrometheusPullReader();
  for (const type of [InstrumentType.COUNTER, InstrumentType.HISTOGRAM, InstrumentType.OBSERVABLE_GAUGE]) {
    expect({ push: push.selectCardinalityLimit(type), pull: pull.selectCardinalityLimit(type) }).toEqual({
      push: CARDINALITY_LIMIT,
      pull: CARDINALITY_LIMIT,
    });
  }
  expect(CARDINALITY_LIMIT).toBe(200_000);
});
