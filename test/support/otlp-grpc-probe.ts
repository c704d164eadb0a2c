/**
 * A tiny program compiled into a binary by the build tests: exports one gauge over OTLP/gRPC to the endpoint given
 * as its argument and prints the export outcome and the embedded build information as one JSON line.
 */
import { ValueType } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { createMetricExporter, type ExportFailure, instrumentExporter } from "../../src/metrics/exporters.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../../src/version.ts";

const endpoint = process.argv[2];
if (endpoint === undefined) {
  console.error("usage: otlp-grpc-probe <grpc endpoint>");
  process.exit(2);
}

const outcomes: { ok: boolean; failure: ExportFailure | undefined }[] = [];
const exporter = instrumentExporter(
  await createMetricExporter({
    enabled: true,
    endpoint,
    metricsEndpoint: undefined,
    protocol: "grpc",
    insecure: true,
    headers: { "x-probe": "compiled" },
    urlPath: undefined,
    timeoutMs: 5000,
    compression: "none",
    certificateFile: undefined,
    temporality: "cumulative",
  }),
  { onResult: (ok, failure) => outcomes.push({ ok, failure }) },
);
const provider = new MeterProvider({
  resource: resourceFromAttributes({ "service.name": "otlp-grpc-probe" }),
  readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
});
provider
  .getMeter("probe")
  .createGauge("probe_value", { valueType: ValueType.INT })
  .record(7, { probe: "grpc" });
await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ outcomes, version: VERSION, commit: COMMIT, buildDate: BUILD_DATE }));
// forceFlush and shutdown each export once.
process.exit(outcomes.length > 0 && outcomes.every((o) => o.ok) ? 0 : 1);
