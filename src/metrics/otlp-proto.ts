/**
 * The OTLP/HTTP protobuf metric exporter; loaded only when the configured protocol is `http/protobuf` (see
 * exporters.ts).
 */
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { moduleLoaded } from "../loaded-modules.ts";
import { httpExporterConfig } from "./otlp-http-config.ts";
import type { ProtocolExporterOptions } from "./otlp-protocol.ts";

moduleLoaded("otlp-proto");

type ProtoExporterConfig = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

export function createProtoExporter(options: ProtocolExporterOptions): OTLPMetricExporter {
  const config = httpExporterConfig(options);
  return new OTLPMetricExporter({
    ...config,
    compression: config.compression as ProtoExporterConfig["compression"],
  });
}
