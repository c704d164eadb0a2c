/** A complete Config for tests that start the exporter in-process. */
import type { Config } from "../../src/config/types.ts";
import { testOtlpConfig } from "./otlp-config.ts";

/** Webhooks on, with a test secret and the default reconcile interval, unless overridden. */
function testWebhookConfig(
  overrides: Partial<NonNullable<Config["webhook"]>>,
): NonNullable<Config["webhook"]> {
  return {
    secret: "whsec-test-0123456789",
    listenAddress: undefined,
    reconcileIntervalMs: 300_000,
    ...overrides,
  };
}

type Overrides = {
  [K in keyof Config]?: Partial<Config[K]>;
};

export function testConfig(overrides: Overrides = {}): Config {
  return {
    pulumi: {
      accessToken: "pul-test-token-0123456789",
      apiUrl: "http://127.0.0.1:1",
      organizations: ["acme"],
      collectIntervalMs: 60_000,
      orgIntervalMs: 300_000,
      driftRefreshMs: 3_600_000,
      runningUpdateMaxGapMs: 180_000,
      maxConcurrency: 4,
      requestTimeoutMs: 2_000,
      maxResponseBytes: 64 * 1024 * 1024,
      caFile: undefined,
      ...overrides.pulumi,
    },
    otlp: { ...testOtlpConfig({ enabled: false }), ...overrides.otlp },
    web: { listenAddress: "127.0.0.1:0", preview: true, ...overrides.web },
    log: { level: "error", format: "logfmt", ...overrides.log },
    state: { file: undefined, ...overrides.state },
    resource: { serviceName: "pulumi-exporter", attributes: {}, ...overrides.resource },
    metrics: { disable: new Set(), ...overrides.metrics },
    webhook: overrides.webhook === undefined ? undefined : testWebhookConfig(overrides.webhook),
    configFile: undefined,
  };
}
