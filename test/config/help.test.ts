import { describe, expect, test } from "bun:test";
import { renderFlagTable, renderHelp, renderVersion } from "../../src/config/help.ts";
import { OPTIONS } from "../../src/config/options.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../../src/version.ts";
import { load, TOKEN } from "./support.ts";

describe("--help", () => {
  const help = renderHelp();

  test("lists every flag with its environment variables, YAML key and default", () => {
    for (const spec of OPTIONS) {
      const envOnly = "envOnly" in spec && spec.envOnly;
      const usage = envOnly
        ? `env ${spec.env.join(", ")}=`
        : spec.kind === "bool"
          ? `--[no-]${spec.name}`
          : `--${spec.name}=`;
      const at = help.indexOf(`  ${usage}`);
      expect(at).toBeGreaterThan(-1);
      // The flag's own block: up to the next flag.
      const rest = help.slice(at + 2);
      const next = rest.indexOf("\n  -");
      const block = (next < 0 ? rest : rest.slice(0, next)).replaceAll("\n      ", " ");
      for (const variable of spec.env) expect(block).toContain(variable);
      if (spec.yaml !== undefined) expect(block).toContain(`yaml: ${spec.yaml}`);
      if (spec.default !== undefined) expect(block).toContain(`default: ${spec.default}`);
    }
  });

  test("flag blocks, exactly", () => {
    expect(help).toContain(
      [
        "  --pulumi.max-concurrency=N",
        "      Maximum concurrent Pulumi Cloud API requests (1-100).",
        "      env: PULUMI_MAX_CONCURRENCY; yaml: pulumi.max-concurrency; default: 10",
      ].join("\n"),
    );
    expect(help).toContain(
      [
        "  --otlp.protocol=http/protobuf|http/json|grpc",
        "      OTLP transport protocol. One of: http/protobuf, http/json, grpc.",
        "      env: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL; yaml: otlp.protocol;",
        "      default: http/protobuf",
      ].join("\n"),
    );
  });

  test("no line is wider than 100 columns", () => {
    for (const line of help.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
  });

  test("names the commands and the help and version flags", () => {
    expect(help).toStartWith("Usage: pulumi-exporter [run|demo|check] [flags]\n");
    expect(help).toContain("  run     Collect from Pulumi Cloud (the default).");
    expect(help).toContain(
      "  demo    Collect from the embedded Pulumi Cloud simulator: no token, no network.",
    );
    expect(help).toContain(
      "  check   Check the token, the organizations, one OTLP export (when push is on) and the listen\n" +
        "          address once, one line each; exit 0 when all pass, 1 otherwise, 2 for bad configuration.\n",
    );
    expect(help).toContain("  -h, --help\n");
    expect(help).toContain("  --version\n");
  });

  test("never prints the token, even when it is set everywhere", () => {
    const result = load(["--help", `--pulumi.access-token=${TOKEN}`], {
      PULUMI_ACCESS_TOKEN: TOKEN,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=${TOKEN}`,
    });
    expect(result).toEqual({ kind: "help", text: help });
    expect(help).not.toContain(TOKEN);
  });
});

test("--version", () => {
  expect(renderVersion()).toBe(`pulumi-exporter ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`);
});

describe("renderFlagTable", () => {
  const table = renderFlagTable();
  const rows = table.split("\n");

  test("a header, a separator and one row per option", () => {
    expect(rows[0]).toBe("| Flag | Environment variable | YAML key | Default | Description |");
    expect(rows[1]).toBe("| --- | --- | --- | --- | --- |");
    expect(rows).toHaveLength(OPTIONS.length + 2);
    for (const row of rows) expect(row.split(" | ")).toHaveLength(5);
  });

  test("rows, exactly", () => {
    expect(rows).toContain(
      "| `--pulumi.collect-interval` | `PULUMI_COLLECT_INTERVAL` | `pulumi.collect-interval` | `60s` | Time between collection cycles (Go duration: 90s, 5m, 1h30m). |",
    );
    expect(rows).toContain(
      "| `--[no-]otlp.insecure` | `OTEL_EXPORTER_OTLP_METRICS_INSECURE`<br>`OTEL_EXPORTER_OTLP_INSECURE` | `otlp.insecure` | `false` | Use plain HTTP / gRPC without TLS for a host:port endpoint. |",
    );
    expect(rows).toContain(
      "| `--config.file` | `PULUMI_EXPORTER_CONFIG_FILE` |  |  | YAML configuration file (see config.example.yaml). |",
    );
  });

  test("follows the table order", () => {
    // An option set only through the environment has no flag: its row starts with the variable.
    const flags = rows
      .slice(2)
      .map((row) => /^\| (?:`--(?:\[no-\])?([^`]+)`| \| `([A-Z_]+)`)/.exec(row)?.slice(1).join(""));
    expect(flags).toEqual(OPTIONS.map((o) => ("envOnly" in o && o.envOnly ? o.env.join("") : o.name)));
  });
});
