/** The settings both OTLP/HTTP exporters (JSON and protobuf) take. */
import { type ProtocolExporterOptions, sharedExporterConfig } from "./otlp-protocol.ts";

export function httpExporterConfig(options: ProtocolExporterOptions) {
  const { ca } = options;
  return {
    ...sharedExporterConfig(options),
    headers: { ...options.target.headers },
    compression: options.config.compression,
    httpAgentOptions: ca === undefined ? { keepAlive: true } : { keepAlive: true, ca },
  };
}
