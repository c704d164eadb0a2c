import { describe, expect, test } from "bun:test";
import { type ConfigFs, loadConfig } from "../../src/config/load-config.ts";
import { configSecrets } from "../../src/config/secrets.ts";
import type { Config } from "../../src/config/types.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../../src/version.ts";
import { expectConfig, expectLoaded, expectProblems, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];

test("a full configuration from file, environment and flags", () => {
  const ca = writeTemp(dir, "ca");
  const path = writeTemp(
    dir,
    [
      "pulumi:",
      "  organizations: [acme, globex]",
      "  collect-interval: 2m",
      `  ca-file: ${ca}`,
      "otlp:",
      "  endpoint: https://otlp.example:4318",
      "  headers:",
      "    x-scope-orgid: tenant-1",
      "  timeout: 2500",
      "resource:",
      "  attributes:",
      "    deployment.environment: prod",
      "state:",
      "  file: /var/lib/pulumi-exporter/state.json",
      "",
    ].join("\n"),
  );
  const result = load(["--config.file", path, "--log.format=json", "--no-web.disable-preview"], {
    PULUMI_ACCESS_TOKEN: TOKEN,
    PULUMI_MAX_CONCURRENCY: "20",
    OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
  });
  const expected: Config = {
    pulumi: {
      accessToken: TOKEN,
      accessTokenSource: "env PULUMI_ACCESS_TOKEN",
      apiUrl: "https://api.pulumi.com",
      organizations: ["acme", "globex"],
      collectIntervalMs: 120_000,
      orgIntervalMs: 300_000,
      driftRefreshMs: 3_600_000,
      runningUpdateMaxGapMs: 180_000,
      maxConcurrency: 20,
      requestTimeoutMs: 30_000,
      maxResponseBytes: 67_108_864,
      caFile: ca,
    },
    otlp: {
      enabled: true,
      endpoint: "https://otlp.example:4318",
      metricsEndpoint: undefined,
      protocol: "http/protobuf",
      insecure: false,
      headers: { "x-scope-orgid": "tenant-1" },
      urlPath: undefined,
      timeoutMs: 2_500,
      compression: "gzip",
      certificateFile: undefined,
      temporality: "cumulative",
    },
    web: { listenAddress: ":8080", preview: true },
    log: { level: "info", format: "json" },
    state: { file: "/var/lib/pulumi-exporter/state.json" },
    resource: { serviceName: "pulumi-exporter", attributes: { "deployment.environment": "prod" } },
    metrics: { disable: new Set() },
    webhook: undefined,
    configFile: path,
  };
  expect(result).toEqual({ kind: "config", command: "run", config: expected, warnings: [] });
});

describe("help and version", () => {
  test("--help wins over everything else, even bad input", () => {
    const result = load(["--bogus", "--help", "--pulumi.max-concurrency=0"], { PULUMI_ACCESS_TOKEN: TOKEN });
    expect(result.kind).toBe("help");
    if (result.kind === "help")
      expect(result.text).toStartWith("Usage: pulumi-exporter [run|demo|check] [flags]");
  });

  test("--version", () => {
    expect(load(["--version"])).toEqual({
      kind: "version",
      text: `pulumi-exporter ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`,
    });
  });
});

describe("commands and demo mode", () => {
  test("run is the default command", () => {
    expect(expectLoaded(load(BASE)).command).toBe("run");
  });

  test("argv's command wins over the mode given by the caller", () => {
    expect(expectLoaded(load(["demo"], {}, "run")).command).toBe("demo");
    expect(expectLoaded(load(["run", ...BASE], {}, "demo")).command).toBe("run");
    expect(expectLoaded(load([], {}, "demo")).command).toBe("demo");
  });

  test("demo needs neither token nor organizations, and does not push by default", () => {
    const config = expectConfig(load(["demo"]));
    expect(config.pulumi.accessToken).toBe("");
    expect(config.pulumi.organizations).toEqual([]);
    expect(config.otlp.enabled).toBe(false);
  });

  test("demo pushes when an endpoint is given by flag, environment or file", () => {
    expect(expectConfig(load(["demo", "--otlp.endpoint=127.0.0.1:4318"])).otlp.enabled).toBe(true);
    expect(expectConfig(load(["demo"], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).otlp.enabled).toBe(
      true,
    );
    expect(
      expectConfig(load(["demo"], { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://c:4318/v1/metrics" })).otlp
        .enabled,
    ).toBe(true);
    const path = writeTemp(dir, "otlp:\n  endpoint: c:4318\n");
    expect(expectConfig(load(["demo", "--config.file", path])).otlp.enabled).toBe(true);
  });

  test("an explicit --otlp.enabled wins in demo mode", () => {
    expect(expectConfig(load(["demo", "--otlp.enabled"])).otlp.enabled).toBe(true);
    expect(expectConfig(load(["demo", "--otlp.endpoint=c:4318", "--no-otlp.enabled"])).otlp.enabled).toBe(
      false,
    );
  });

  test("demo still validates what is given", () => {
    expect(
      expectProblems(load(["demo", "--pulumi.organizations=a,,b", "--pulumi.max-concurrency=0"])),
    ).toEqual([
      "--pulumi.organizations: organization 2 of 3 is empty",
      "--pulumi.max-concurrency: must be between 1 and 100 (got 0)",
    ]);
  });

  test("run pushes by default and can be pull-only", () => {
    expect(expectConfig(load(BASE)).otlp.enabled).toBe(true);
    expect(expectConfig(load(BASE, { PULUMI_EXPORTER_OTLP_ENABLED: "false" })).otlp.enabled).toBe(false);
  });
});

describe("OTEL_METRICS_EXPORTER", () => {
  const enabled = (argv: string[], env: Record<string, string>) => expectConfig(load(argv, env)).otlp.enabled;

  test.each([
    ["otlp", true],
    ["none", false],
    ["prometheus", false],
    ["prometheus,otlp", true],
    [" OTLP ", true],
  ])("%p: push is %p", (value, push) => {
    expect(enabled(BASE, { OTEL_METRICS_EXPORTER: value })).toBe(push);
  });

  test("turns push on in demo mode too", () => {
    expect(enabled(["demo"], { OTEL_METRICS_EXPORTER: "otlp" })).toBe(true);
  });

  test("PULUMI_EXPORTER_OTLP_ENABLED and --otlp.enabled beat it; it beats the config file", () => {
    expect(enabled(BASE, { OTEL_METRICS_EXPORTER: "none", PULUMI_EXPORTER_OTLP_ENABLED: "true" })).toBe(true);
    expect(enabled([...BASE, "--otlp.enabled"], { OTEL_METRICS_EXPORTER: "none" })).toBe(true);
    const path = writeTemp(dir, "otlp:\n  enabled: true\n");
    expect(enabled([...BASE, "--config.file", path], { OTEL_METRICS_EXPORTER: "none" })).toBe(false);
  });

  test.each([
    ["console", 'OTEL_METRICS_EXPORTER: "console" is not supported (expected otlp, prometheus or none)'],
    ["otlp,zipkin", 'OTEL_METRICS_EXPORTER: unknown exporter "zipkin" (expected otlp, prometheus or none)'],
    ["none,otlp", 'OTEL_METRICS_EXPORTER: "none" cannot be combined with other exporters'],
    [" , ", "OTEL_METRICS_EXPORTER: lists no exporter (expected otlp, prometheus or none)"],
  ])("%p is a configuration error", (value, problem) => {
    expect(expectProblems(load(BASE, { OTEL_METRICS_EXPORTER: value }))).toEqual([problem]);
  });
});

describe("OTel environment variables", () => {
  const pairs: [string, string, string, (c: Config) => unknown, unknown][] = [
    ["PROTOCOL", "grpc", "http/json", (c) => c.otlp.protocol, "grpc"],
    ["INSECURE", "true", "false", (c) => c.otlp.insecure, true],
    ["HEADERS", "a=metrics", "a=generic,b=2", (c) => c.otlp.headers, { a: "metrics" }],
    ["TIMEOUT", "1500", "9000", (c) => c.otlp.timeoutMs, 1_500],
    ["COMPRESSION", "gzip", "none", (c) => c.otlp.compression, "gzip"],
  ];
  for (const [suffix, specific, generic, read, expected] of pairs) {
    test(`OTEL_EXPORTER_OTLP_METRICS_${suffix} beats OTEL_EXPORTER_OTLP_${suffix}`, () => {
      const env = {
        [`OTEL_EXPORTER_OTLP_METRICS_${suffix}`]: specific,
        [`OTEL_EXPORTER_OTLP_${suffix}`]: generic,
      };
      expect(read(expectConfig(load(BASE, env)))).toEqual(expected);
    });
  }

  test("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE beats OTEL_EXPORTER_OTLP_CERTIFICATE", () => {
    const specific = writeTemp(dir, "metrics ca");
    const generic = writeTemp(dir, "generic ca");
    const env = { OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: specific, OTEL_EXPORTER_OTLP_CERTIFICATE: generic };
    expect(expectConfig(load(BASE, env)).otlp.certificateFile).toBe(specific);
  });

  test("an unreadable certificate is reported now, not at the first export", () => {
    const path = `${dir}/missing-ca.pem`;
    expect(expectProblems(load(BASE, { OTEL_EXPORTER_OTLP_CERTIFICATE: path }))).toEqual([
      `OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read ${path}: no such file`,
    ]);
  });

  test("an empty signal-specific variable falls back to the generic one", () => {
    const env = { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" };
    expect(expectConfig(load(BASE, env)).otlp.protocol).toBe("grpc");
  });

  test("temporality preference is case-insensitive", () => {
    const env = { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "Delta" };
    expect(expectConfig(load(BASE, env)).otlp.temporality).toBe("delta");
  });

  test("headers: percent-decoded, trimmed, split at the first '='", () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: " Authorization = Basic%20dXNlcjpwYXNz== , x-tenant=a%2Cb ," };
    expect(expectConfig(load(BASE, env)).otlp.headers).toEqual({
      Authorization: "Basic dXNlcjpwYXNz==",
      "x-tenant": "a,b",
    });
  });

  test("repeated --otlp.headers flags merge; the flag replaces the variable", () => {
    const config = expectConfig(
      load([...BASE, "--otlp.headers=a=1", "--otlp.headers", "b=2,a=3"], {
        OTEL_EXPORTER_OTLP_HEADERS: "c=4",
      }),
    );
    expect(config.otlp.headers).toEqual({ a: "3", b: "2" });
  });

  test("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is, next to the generic endpoint", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://generic:4318",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://metrics:9090/api/v1/otlp/v1/metrics",
    };
    const loaded = expectLoaded(load(BASE, env));
    expect(loaded.config.otlp.metricsEndpoint).toBe("http://metrics:9090/api/v1/otlp/v1/metrics");
    expect(loaded.config.otlp.endpoint).toBe("http://generic:4318");
    expect(loaded.warnings).toEqual([]);
  });

  test("--otlp.endpoint beats OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, with a warning", () => {
    const env = { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://metrics:4318/v1/metrics" };
    const loaded = expectLoaded(load([...BASE, "--otlp.endpoint=flag:4318"], env));
    expect(loaded.config.otlp.metricsEndpoint).toBeUndefined();
    expect(loaded.config.otlp.endpoint).toBe("flag:4318");
    expect(loaded.warnings).toEqual([
      "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is ignored: --otlp.endpoint is set and takes precedence",
    ]);
  });

  test("OTEL_RESOURCE_ATTRIBUTES: percent-decoded; its service.name becomes the service name", () => {
    const env = {
      OTEL_RESOURCE_ATTRIBUTES: "service.name=pe-prod,team=platform%20eng,k8s.namespace.name=obs",
    };
    const config = expectConfig(load(BASE, env));
    expect(config.resource).toEqual({
      serviceName: "pe-prod",
      attributes: { team: "platform eng", "k8s.namespace.name": "obs" },
    });
  });

  test("OTEL_SERVICE_NAME beats service.name in OTEL_RESOURCE_ATTRIBUTES", () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attributes", OTEL_SERVICE_NAME: "from-name" };
    expect(expectConfig(load(BASE, env)).resource).toEqual({ serviceName: "from-name", attributes: {} });
  });
});

describe("access token", () => {
  test("a token file: only the trailing newline is trimmed", () => {
    const path = writeTemp(dir, `${TOKEN}\r\n\n`);
    const config = expectConfig(load(["--pulumi.organizations=a"], { PULUMI_ACCESS_TOKEN_FILE: path }));
    expect(config.pulumi.accessToken).toBe(TOKEN);
    expect(config.pulumi.accessTokenSource).toBe(`file ${path} (PULUMI_ACCESS_TOKEN_FILE)`);
  });

  test("a token file at a higher level beats an inline token", () => {
    const path = writeTemp(dir, "pul-from-file-0000\n");
    const config = expectConfig(
      load(["--pulumi.organizations=a", "--pulumi.access-token-file", path], { PULUMI_ACCESS_TOKEN: TOKEN }),
    );
    expect(config.pulumi.accessToken).toBe("pul-from-file-0000");
    expect(config.pulumi.accessTokenSource).toBe(`file ${path} (--pulumi.access-token-file)`);
  });

  test("an inline token at a higher level beats a token file, which is then not read", () => {
    const config = expectConfig(
      load(["--pulumi.organizations=a", `--pulumi.access-token=${TOKEN}`], {
        PULUMI_ACCESS_TOKEN_FILE: `${dir}/never-read`,
      }),
    );
    expect(config.pulumi.accessToken).toBe(TOKEN);
    expect(config.pulumi.accessTokenSource).toBe("flag --pulumi.access-token");
  });

  test('a mistyped command is the only problem: no "required" beside it', () => {
    expect(load(["rn"], {})).toEqual({
      kind: "error",
      problems: ['unknown command "rn"; commands: run, demo, check (did you mean run?)'],
      warnings: [],
    });
  });

  test("check requires a token and organizations, as run does, and pushes by default", () => {
    const result = load(["check"], {});
    expect(result.kind).toBe("error");
    const config = expectConfig(load(["check", "--pulumi.organizations=a"], { PULUMI_ACCESS_TOKEN: TOKEN }));
    expect(config.otlp.enabled).toBe(true);
  });
});

describe("warnings", () => {
  const withToken = `pulumi:\n  access-token: ${TOKEN}\n  organizations: [acme]\n`;

  for (const mode of [0o644, 0o640, 0o604]) {
    test(`a token in a file with mode ${mode.toString(8)} asks for chmod 600`, () => {
      const path = writeTemp(dir, withToken, mode);
      const loaded = expectLoaded(load(["--config.file", path]));
      expect(loaded.warnings).toEqual([
        `${path} contains pulumi.access-token and is readable by group or others (mode 0${mode.toString(8)}); run: chmod 600 ${path}`,
      ]);
      expect(loaded.warnings[0]).not.toContain(TOKEN);
    });
  }

  test("no warning for mode 600", () => {
    const path = writeTemp(dir, withToken, 0o600);
    expect(expectLoaded(load(["--config.file", path])).warnings).toEqual([]);
  });

  test("no warning for a readable file without a token", () => {
    const path = writeTemp(dir, "pulumi:\n  organizations: [acme]\n", 0o644);
    expect(expectLoaded(load(["--config.file", path], { PULUMI_ACCESS_TOKEN: TOKEN })).warnings).toEqual([]);
  });

  test("duplicate organizations are dropped with a warning", () => {
    const loaded = expectLoaded(load([`--pulumi.access-token=${TOKEN}`], { PULUMI_ORGANIZATIONS: "a,b,a" }));
    expect(loaded.config.pulumi.organizations).toEqual(["a", "b"]);
    expect(loaded.warnings).toEqual(["PULUMI_ORGANIZATIONS: duplicate organizations ignored"]);
  });
});

describe("setting and clearing", () => {
  test("empty environment variables count as unset", () => {
    const config = expectConfig(load(BASE, { PULUMI_API_URL: "", OTEL_EXPORTER_OTLP_ENDPOINT: "" }));
    expect(config.pulumi.apiUrl).toBe("https://api.pulumi.com");
    expect(config.otlp.endpoint).toBe("localhost:4318");
  });

  test("an empty flag clears an optional value set by the environment", () => {
    const env = { OTEL_EXPORTER_OTLP_METRICS_URL_PATH: "/x", PULUMI_EXPORTER_STATE_FILE: "/var/state.json" };
    const config = expectConfig(load([...BASE, "--otlp.url-path=", "--state.file="], env));
    expect(config.otlp.urlPath).toBeUndefined();
    expect(config.state.file).toBeUndefined();
  });

  test("a repeated scalar flag: the last one wins", () => {
    expect(expectConfig(load([...BASE, "--log.level=debug", "--log.level=warn"])).log.level).toBe("warn");
  });

  test("organizations: repeated and comma-separated flags accumulate", () => {
    const config = expectConfig(
      load([`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations", "a, b", "--pulumi.organizations=c"]),
    );
    expect(config.pulumi.organizations).toEqual(["a", "b", "c"]);
  });

  test("YAML organizations may hold comma-separated entries, like the Go exporter", () => {
    const path = writeTemp(dir, "pulumi:\n  organizations: ['a,b', c, 2024]\n");
    expect(
      expectConfig(load(["--config.file", path], { PULUMI_ACCESS_TOKEN: TOKEN })).pulumi.organizations,
    ).toEqual(["a", "b", "c", "2024"]);
  });

  test("YAML keys without a value leave the option unset", () => {
    const path = writeTemp(dir, "pulumi:\n  organizations: [acme]\n  api-url:\notlp:\nweb:\n");
    const config = expectConfig(load(["--config.file", path], { PULUMI_ACCESS_TOKEN: TOKEN }));
    expect(config.pulumi.apiUrl).toBe("https://api.pulumi.com");
  });

  test("an empty config file sets nothing", () => {
    const path = writeTemp(dir, "");
    expect(expectConfig(load([...BASE, "--config.file", path])).log.level).toBe("info");
  });

  test("web.disable-preview switches the preview off", () => {
    expect(expectConfig(load([...BASE, "--web.disable-preview"])).web.preview).toBe(false);
    expect(expectConfig(load(BASE)).web.preview).toBe(true);
  });
});

describe("injected file access", () => {
  test("reads the config and token files through ConfigFs", () => {
    const reads: string[] = [];
    const files: Record<string, string> = {
      "/etc/pe/config.yaml": "pulumi:\n  access-token-file: /run/secrets/token\n  organizations: [acme]\n",
      "/run/secrets/token": `${TOKEN}\n`,
    };
    const fs: ConfigFs = {
      readFile(path) {
        reads.push(path);
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
        return text;
      },
      mode: () => 0o644,
    };
    const result = loadConfig({ argv: ["--config.file=/etc/pe/config.yaml"], env: {}, fs });
    expect(expectConfig(result).pulumi.accessToken).toBe(TOKEN);
    expect(reads).toEqual(["/etc/pe/config.yaml", "/run/secrets/token"]);
    // The file names a token file, not a token: nothing to warn about.
    expect(expectLoaded(result).warnings).toEqual([]);
  });
});

describe("configSecrets", () => {
  test("the token and credential-like header values", () => {
    const config = expectConfig(
      load(BASE, {
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc123,x-scope-orgid=1,DD-API-KEY=k9",
      }),
    );
    expect(configSecrets(config)).toEqual([TOKEN, "Bearer abc123", "abc123", "k9"]);
  });
});

describe("the demo's listen address", () => {
  test("demo listens on loopback unless told otherwise; run keeps every interface", () => {
    expect(expectConfig(load(["demo"])).web.listenAddress).toBe("127.0.0.1:8080");
    expect(expectConfig(load(BASE)).web.listenAddress).toBe(":8080");
  });

  test("an explicit flag, variable or file value wins in demo mode", () => {
    expect(expectConfig(load(["demo", "--web.listen-address=:0"])).web.listenAddress).toBe(":0");
    expect(expectConfig(load(["demo"], { PULUMI_EXPORTER_LISTEN_ADDRESS: ":9100" })).web.listenAddress).toBe(
      ":9100",
    );
    const path = writeTemp(dir, 'web:\n  listen-address: ":8080"\n');
    expect(expectConfig(load(["demo", "--config.file", path])).web.listenAddress).toBe(":8080");
  });
});
