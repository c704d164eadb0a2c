/** What the per-protocol exporter modules (otlp-grpc.ts, otlp-json.ts, otlp-proto.ts) share. */
import type { OtlpConfig, Temporality } from "../config/types.ts";
import type { OtlpTarget } from "./otlp-endpoint.ts";

export interface ProtocolExporterOptions {
  readonly config: OtlpConfig;
  readonly target: OtlpTarget;
  /** The CA certificates of `target.caFile`, already read. */
  readonly ca?: Buffer;
  readonly userAgent?: string;
}

/** AggregationTemporalityPreference of @opentelemetry/exporter-metrics-otlp-http, by value. */
const TEMPORALITY_PREFERENCE: Record<Temporality, 0 | 1 | 2> = { delta: 0, cumulative: 1, lowmemory: 2 };

/** The settings every protocol's exporter takes alike. */
export function sharedExporterConfig(options: ProtocolExporterOptions) {
  return {
    url: options.target.url,
    timeoutMillis: options.config.timeoutMs,
    temporalityPreference: TEMPORALITY_PREFERENCE[options.config.temporality],
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
  };
}
