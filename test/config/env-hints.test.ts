/** Near-miss environment variables get one "did you mean" warning; other tools' variables get none. */
import { describe, expect, test } from "bun:test";
import { envHints } from "../../src/config/env-hints.ts";
import { expectLoaded, load, TOKEN } from "./support.ts";

const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];
const SECRET_VALUE = "pul-near-miss-value-0123456789";

describe("envHints", () => {
  test("a typo of an option's variable names the variable it meant, once each, in name order", () => {
    expect(
      envHints({
        PULUMI_ORGANISATIONS: "acme",
        PULUMI_EXPORTER_LOG_LVL: "debug",
        OTEL_EXPORTER_OTLP_ENDPIONT: "http://c:4318",
        PULUMI_ACCES_TOKEN: SECRET_VALUE,
        OTEL_EXPORTER_OTLP_METRICS_HEADER: "a=b",
      }),
    ).toEqual([
      "environment variable OTEL_EXPORTER_OTLP_ENDPIONT is not used; did you mean OTEL_EXPORTER_OTLP_ENDPOINT?",
      "environment variable OTEL_EXPORTER_OTLP_METRICS_HEADER is not used; did you mean OTEL_EXPORTER_OTLP_METRICS_HEADERS?",
      "environment variable PULUMI_ACCES_TOKEN is not used; did you mean PULUMI_ACCESS_TOKEN?",
      "environment variable PULUMI_EXPORTER_LOG_LVL is not used; did you mean PULUMI_EXPORTER_LOG_LEVEL?",
      "environment variable PULUMI_ORGANISATIONS is not used; did you mean PULUMI_ORGANIZATIONS?",
    ]);
  });

  test("the Pulumi CLI's and other OTel signals' variables, and the option's own, give nothing", () => {
    expect(
      envHints({
        PULUMI_HOME: "/home/me/.pulumi",
        PULUMI_BACKEND_URL: "s3://bucket",
        PULUMI_CONFIG_PASSPHRASE: "hunter2",
        PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_CI: "true",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces",
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: "a=b",
        OTEL_EXPORTER_OTLP_TRACES_INSECURE: "true",
        OTEL_EXPORTER_OTLP_CLIENT_KEY: "/k.pem",
        PULUMI_ORGANIZATIONS: "acme",
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "grpc",
        HOME: "/home/me",
      }),
    ).toEqual([]);
  });
});

describe("loadConfig", () => {
  test("the hints are warnings, beside the loaded configuration, and never show a value", () => {
    const loaded = expectLoaded(load(BASE, { PULUMI_ACCES_TOKEN: SECRET_VALUE, PULUMI_HOME: "/h" }));
    expect(loaded.warnings).toEqual([
      "environment variable PULUMI_ACCES_TOKEN is not used; did you mean PULUMI_ACCESS_TOKEN?",
    ]);
    expect(JSON.stringify(loaded)).not.toContain(SECRET_VALUE);
  });

  test("a configuration error carries the hint too: the typo may be why a value is missing", () => {
    const result = load(["run", `--pulumi.access-token=${TOKEN}`], { PULUMI_ORGANISATIONS: "acme" });
    expect(result).toEqual({
      kind: "error",
      problems: [
        "--pulumi.organizations: at least one organization is required; set --pulumi.organizations, PULUMI_ORGANIZATIONS or pulumi.organizations in the config file",
      ],
      warnings: ["environment variable PULUMI_ORGANISATIONS is not used; did you mean PULUMI_ORGANIZATIONS?"],
    });
  });
});
