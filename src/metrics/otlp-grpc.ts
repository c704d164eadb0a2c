/** The OTLP/gRPC metric exporter; loaded only when the configured protocol is `grpc` (see exporters.ts). */
import * as grpc from "@grpc/grpc-js";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { moduleLoaded } from "../loaded-modules.ts";
import { createGrpcTlsCredentials } from "./grpc-credentials.ts";
import { type ProtocolExporterOptions, sharedExporterConfig } from "./otlp-protocol.ts";

moduleLoaded("otlp-grpc");

type GrpcExporterConfig = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

export function createGrpcExporter(options: ProtocolExporterOptions): OTLPMetricExporter {
  const { config, target } = options;
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(target.headers)) metadata.set(key, value);
  return new OTLPMetricExporter({
    ...sharedExporterConfig(options),
    // A host:port without scheme would make the exporter guess TLS; the target says it explicitly.
    credentials: target.tls
      ? createGrpcTlsCredentials(options.ca ?? null)
      : grpc.credentials.createInsecure(),
    metadata,
    compression: config.compression as GrpcExporterConfig["compression"],
  });
}
