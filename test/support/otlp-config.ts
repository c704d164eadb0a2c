import type { OtlpConfig } from "../../src/config/types.ts";

/** An OtlpConfig for wire tests: plaintext, no compression, cumulative, short timeout. */
export function testOtlpConfig(overrides: Partial<OtlpConfig>): OtlpConfig {
  return {
    enabled: true,
    endpoint: "127.0.0.1:4318",
    metricsEndpoint: undefined,
    protocol: "http/protobuf",
    insecure: true,
    headers: {},
    urlPath: undefined,
    timeoutMs: 2000,
    compression: "none",
    certificateFile: undefined,
    temporality: "cumulative",
    ...overrides,
  };
}
