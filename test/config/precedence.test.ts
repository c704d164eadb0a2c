/**
 * Precedence, proven for every option of the table: default only; file only; environment beats file; flag beats
 * environment. Every environment variable of an option is exercised.
 */
import { describe, expect, test } from "bun:test";
import { stringify } from "yaml";
import { OPTIONS, type OptionName } from "../../src/config/options.ts";
import { expectConfig, expectProblems, fieldValue, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const file = (text: string) => writeTemp(dir, text);

interface Fixture {
  flag: string;
  env: string;
  /** The text for a variable with a format of its own (`envFormats`), giving the same value as `env`. */
  envByVariable?: Record<string, string>;
  yaml: unknown;
  /** Expected field values per winning source; `default` may instead be the start of the expected problem. */
  expect: { flag: unknown; env: unknown; yaml: unknown; default: unknown | { problem: string } };
}

const tokenFiles = {
  flag: file("pul-token-from-flag-file\n"),
  env: file("pul-token-from-env-file\r\n"),
  yaml: file("pul-token-from-yaml-file"),
};
const caFiles = { flag: file("flag ca"), env: file("env ca"), yaml: file("yaml ca") };
const certFiles = { flag: file("flag cert"), env: file("env cert"), yaml: file("yaml cert") };
const webhookSecretFiles = {
  flag: file("webhook-secret-from-flag-file\n"),
  env: file("webhook-secret-from-env-file"),
  yaml: file("webhook-secret-from-yaml-file\r\n"),
};
/** The options that only apply once webhooks are on (a secret is set). */
const WEBHOOK_SETTINGS: ReadonlySet<OptionName> = new Set([
  "webhook.listen-address",
  "webhook.reconcile-interval",
]);

const FIXTURES: Record<Exclude<OptionName, "config.file">, Fixture> = {
  "pulumi.access-token": {
    flag: "pul-flag-token",
    env: "pul-env-token",
    yaml: "pul-yaml-token",
    expect: {
      flag: "pul-flag-token",
      env: "pul-env-token",
      yaml: "pul-yaml-token",
      default: { problem: "--pulumi.access-token: is required; set" },
    },
  },
  "pulumi.access-token-file": {
    flag: tokenFiles.flag,
    env: tokenFiles.env,
    yaml: tokenFiles.yaml,
    expect: {
      flag: "pul-token-from-flag-file",
      env: "pul-token-from-env-file",
      yaml: "pul-token-from-yaml-file",
      default: { problem: "--pulumi.access-token: is required; set" },
    },
  },
  "pulumi.api-url": {
    flag: "https://flag.example",
    env: "https://env.example",
    yaml: "http://yaml.example:8080",
    expect: {
      flag: "https://flag.example",
      env: "https://env.example",
      yaml: "http://yaml.example:8080",
      default: "https://api.pulumi.com",
    },
  },
  "pulumi.organizations": {
    flag: "flag-a, flag-b",
    env: "env-a",
    yaml: ["yaml-a", "yaml-b"],
    expect: {
      flag: ["flag-a", "flag-b"],
      env: ["env-a"],
      yaml: ["yaml-a", "yaml-b"],
      default: { problem: "--pulumi.organizations: at least one organization is required; set" },
    },
  },
  "pulumi.collect-interval": {
    flag: "90s",
    env: "5m",
    yaml: "1h30m",
    expect: { flag: 90_000, env: 300_000, yaml: 5_400_000, default: 60_000 },
  },
  "pulumi.org-interval": {
    flag: "10m",
    env: "15m",
    yaml: "1h",
    expect: { flag: 600_000, env: 900_000, yaml: 3_600_000, default: 300_000 },
  },
  "pulumi.drift-refresh": {
    flag: "2h",
    env: "3h",
    yaml: "30m",
    expect: { flag: 7_200_000, env: 10_800_000, yaml: 1_800_000, default: 3_600_000 },
  },
  "pulumi.running-update-max-gap": {
    flag: "4m",
    env: "5m",
    yaml: "10m",
    expect: { flag: 240_000, env: 300_000, yaml: 600_000, default: 180_000 },
  },
  "pulumi.max-concurrency": {
    flag: "7",
    env: "8",
    yaml: 9,
    expect: { flag: 7, env: 8, yaml: 9, default: 10 },
  },
  "pulumi.request-timeout": {
    flag: "5s",
    env: "500ms",
    yaml: "1m",
    expect: { flag: 5_000, env: 500, yaml: 60_000, default: 30_000 },
  },
  "pulumi.max-response-bytes": {
    flag: "1KiB",
    env: "2048",
    yaml: 4096,
    expect: { flag: 1024, env: 2048, yaml: 4096, default: 67_108_864 },
  },
  "pulumi.ca-file": {
    flag: caFiles.flag,
    env: caFiles.env,
    yaml: caFiles.yaml,
    expect: { flag: caFiles.flag, env: caFiles.env, yaml: caFiles.yaml, default: undefined },
  },
  "otlp.enabled": {
    flag: "false",
    env: "true",
    envByVariable: { OTEL_METRICS_EXPORTER: "prometheus,otlp" },
    yaml: false,
    expect: { flag: false, env: true, yaml: false, default: true },
  },
  "otlp.endpoint": {
    flag: "flag.example:4318",
    env: "https://env.example:4318",
    yaml: "yaml.example:4317",
    expect: {
      flag: "flag.example:4318",
      env: "https://env.example:4318",
      yaml: "yaml.example:4317",
      default: "localhost:4318",
    },
  },
  "otlp.metrics-endpoint": {
    flag: "http://flag.example/v1/metrics",
    env: "http://env.example/v1/metrics",
    yaml: "https://yaml.example/otlp/v1/metrics",
    expect: {
      flag: "http://flag.example/v1/metrics",
      env: "http://env.example/v1/metrics",
      yaml: "https://yaml.example/otlp/v1/metrics",
      default: undefined,
    },
  },
  "otlp.protocol": {
    flag: "grpc",
    env: "http/json",
    yaml: "grpc",
    expect: { flag: "grpc", env: "http/json", yaml: "grpc", default: "http/protobuf" },
  },
  "otlp.insecure": {
    flag: "true",
    env: "false",
    yaml: true,
    expect: { flag: true, env: false, yaml: true, default: false },
  },
  "otlp.headers": {
    flag: "a=1,b=x%20y",
    env: "e=2",
    yaml: { f: "3", "x-scope-orgid": 42 },
    expect: {
      flag: { a: "1", b: "x y" },
      env: { e: "2" },
      yaml: { f: "3", "x-scope-orgid": "42" },
      default: {},
    },
  },
  "otlp.url-path": {
    flag: "/flag/v1/metrics",
    env: "/env/v1/metrics",
    yaml: "/api/v1/otlp/v1/metrics",
    expect: {
      flag: "/flag/v1/metrics",
      env: "/env/v1/metrics",
      yaml: "/api/v1/otlp/v1/metrics",
      default: undefined,
    },
  },
  "otlp.timeout": {
    flag: "2s",
    env: "3000",
    yaml: "4s",
    expect: { flag: 2_000, env: 3_000, yaml: 4_000, default: 10_000 },
  },
  "otlp.compression": {
    flag: "gzip",
    env: "none",
    yaml: "gzip",
    expect: { flag: "gzip", env: "none", yaml: "gzip", default: "none" },
  },
  "otlp.certificate": {
    flag: certFiles.flag,
    env: certFiles.env,
    yaml: certFiles.yaml,
    expect: { flag: certFiles.flag, env: certFiles.env, yaml: certFiles.yaml, default: undefined },
  },
  "otlp.temporality": {
    flag: "delta",
    env: "LowMemory",
    yaml: "DELTA",
    expect: { flag: "delta", env: "lowmemory", yaml: "delta", default: "cumulative" },
  },
  "resource.service-name": {
    flag: "flag-svc",
    env: "env-svc",
    yaml: "yaml-svc",
    expect: { flag: "flag-svc", env: "env-svc", yaml: "yaml-svc", default: "pulumi-exporter" },
  },
  "resource.attributes": {
    flag: "k=flag",
    env: "k=env%2Cx,deployment.environment=prod",
    yaml: { k: "yaml" },
    expect: {
      flag: { k: "flag" },
      env: { k: "env,x", "deployment.environment": "prod" },
      yaml: { k: "yaml" },
      default: {},
    },
  },
  "metrics.disable": {
    flag: "stacks, Updates",
    env: "esc",
    yaml: ["neo", "policy"],
    expect: {
      flag: new Set(["stacks", "updates"]),
      env: new Set(["esc"]),
      yaml: new Set(["neo", "policy"]),
      default: new Set(),
    },
  },
  "web.listen-address": {
    flag: ":1001",
    env: "127.0.0.1:1002",
    yaml: "[::1]:1003",
    expect: { flag: ":1001", env: "127.0.0.1:1002", yaml: "[::1]:1003", default: ":8080" },
  },
  "web.disable-preview": {
    flag: "true",
    env: "false",
    yaml: true,
    expect: { flag: false, env: true, yaml: false, default: true },
  },
  "log.level": {
    flag: "debug",
    env: "WARN",
    yaml: "error",
    expect: { flag: "debug", env: "warn", yaml: "error", default: "info" },
  },
  "webhook.secret": {
    flag: "",
    env: "env-webhook-secret",
    yaml: undefined,
    expect: { flag: undefined, env: "env-webhook-secret", yaml: undefined, default: undefined },
  },
  "webhook.secret-file": {
    flag: webhookSecretFiles.flag,
    env: webhookSecretFiles.env,
    yaml: webhookSecretFiles.yaml,
    expect: {
      flag: "webhook-secret-from-flag-file",
      env: "webhook-secret-from-env-file",
      yaml: "webhook-secret-from-yaml-file",
      default: undefined,
    },
  },
  "webhook.listen-address": {
    flag: "127.0.0.1:9101",
    env: "127.0.0.1:9102",
    yaml: ":9103",
    expect: { flag: "127.0.0.1:9101", env: "127.0.0.1:9102", yaml: ":9103", default: undefined },
  },
  "webhook.reconcile-interval": {
    flag: "10m",
    env: "15m",
    yaml: "1h",
    expect: { flag: 600_000, env: 900_000, yaml: 3_600_000, default: 300_000 },
  },
  "log.format": {
    flag: "json",
    env: "logfmt",
    yaml: "json",
    expect: { flag: "json", env: "logfmt", yaml: "json", default: "logfmt" },
  },
  "state.file": {
    flag: "/var/lib/flag.json",
    env: "/var/lib/env.json",
    yaml: "/var/lib/yaml.json",
    expect: {
      flag: "/var/lib/flag.json",
      env: "/var/lib/env.json",
      yaml: "/var/lib/yaml.json",
      default: undefined,
    },
  },
};

function isProblem(value: unknown): value is { problem: string } {
  return (
    typeof value === "object" && value !== null && "problem" in value && typeof value.problem === "string"
  );
}

/** Token and organizations for every option but those: `run` requires them. */
function baseArgs(name: OptionName): string[] {
  const args: string[] = [];
  if (name !== "pulumi.access-token" && name !== "pulumi.access-token-file")
    args.push(`--pulumi.access-token=${TOKEN}`);
  if (name !== "pulumi.organizations") args.push("--pulumi.organizations=base-org");
  if (WEBHOOK_SETTINGS.has(name)) args.push(`--webhook.secret-file=${webhookSecretFiles.flag}`);
  return args;
}

function yamlFile(yamlKey: string, value: unknown): string {
  const [section, key] = yamlKey.split(".");
  return file(stringify({ [section ?? ""]: { [key ?? ""]: value } }));
}

function flagArgs(name: string, kind: string, value: string): string[] {
  if (kind === "bool") return [value === "true" ? `--${name}` : `--no-${name}`];
  // Exercise both flag forms: `--flag value` for odd-length names, `--flag=value` otherwise.
  return name.length % 2 === 1 ? [`--${name}`, value] : [`--${name}=${value}`];
}

test("every option has a precedence fixture", () => {
  const names = OPTIONS.map((o) => o.name).filter((n) => n !== "config.file");
  expect(Object.keys(FIXTURES).sort()).toEqual(names.sort());
});

for (const spec of OPTIONS) {
  if (spec.name === "config.file") continue;
  const fixture = FIXTURES[spec.name];
  const yamlKey = spec.yaml;
  describe(`--${spec.name}`, () => {
    test("default only", () => {
      const result = load(baseArgs(spec.name));
      const expected = fixture.expect.default;
      if (isProblem(expected)) {
        const problems = expectProblems(result);
        expect(problems).toHaveLength(1);
        expect(problems[0]?.startsWith(expected.problem)).toBe(true);
      } else {
        expect(fieldValue(expectConfig(result), spec.field)).toEqual(expected);
      }
    });

    // An option set only through the environment has no file key and no flag.
    const envOnly = "envOnly" in spec && spec.envOnly === true;
    if (yamlKey !== undefined)
      test("file only", () => {
        const path = yamlFile(yamlKey, fixture.yaml);
        const config = expectConfig(load([...baseArgs(spec.name), "--config.file", path]));
        expect(fieldValue(config, spec.field)).toEqual(fixture.expect.yaml);
        expect(config.configFile).toBe(path);
      });

    for (const variable of spec.env) {
      const envText = fixture.envByVariable?.[variable] ?? fixture.env;
      test(`${variable} beats the file`, () => {
        const path = yamlFile(yamlKey ?? "log.level", fixture.yaml ?? "info");
        const config = expectConfig(
          load([...baseArgs(spec.name), "--config.file", path], { [variable]: envText }),
        );
        expect(fieldValue(config, spec.field)).toEqual(fixture.expect.env);
      });

      if (!envOnly)
        test(`the flag beats ${variable}`, () => {
          const path = yamlFile(yamlKey ?? "", fixture.yaml);
          const argv = [
            ...baseArgs(spec.name),
            "--config.file",
            path,
            ...flagArgs(spec.name, spec.kind, fixture.flag),
          ];
          const config = expectConfig(load(argv, { [variable]: envText }));
          expect(fieldValue(config, spec.field)).toEqual(fixture.expect.flag);
        });
    }
  });
}

describe("--config.file", () => {
  const base = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=o"];
  const envFile = file("log:\n  level: debug\n");
  const flagFile = file("log:\n  level: error\n");

  test("default only: no file", () => {
    const config = expectConfig(load(base));
    expect(config.configFile).toBeUndefined();
    expect(config.log.level).toBe("info");
  });

  test("PULUMI_EXPORTER_CONFIG_FILE names the file", () => {
    const config = expectConfig(load(base, { PULUMI_EXPORTER_CONFIG_FILE: envFile }));
    expect(config.configFile).toBe(envFile);
    expect(config.log.level).toBe("debug");
  });

  test("the flag beats PULUMI_EXPORTER_CONFIG_FILE", () => {
    const config = expectConfig(
      load([...base, "--config.file", flagFile], { PULUMI_EXPORTER_CONFIG_FILE: envFile }),
    );
    expect(config.configFile).toBe(flagFile);
    expect(config.log.level).toBe("error");
  });
});
