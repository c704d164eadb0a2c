/** The OTLP/HTTP JSON metric exporter; loaded only when the configured protocol is `http/json` (see exporters.ts). */
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { moduleLoaded } from "../loaded-modules.ts";
import { httpExporterConfig } from "./otlp-http-config.ts";
import type { ProtocolExporterOptions } from "./otlp-protocol.ts";

moduleLoaded("otlp-json");

type HttpExporterConfig = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

export function createJsonExporter(options: ProtocolExporterOptions): OTLPMetricExporter {
  const config = httpExporterConfig(options);
  return new OTLPMetricExporter({
    ...config,
    compression: config.compression as HttpExporterConfig["compression"],
  });
}
