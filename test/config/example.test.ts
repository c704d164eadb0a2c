/** config.example.yaml documents every YAML key of the option table and loads cleanly. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { OPTIONS, type OptionSpec, yamlKeys } from "../../src/config/options.ts";
import { parseConfigYaml } from "../../src/config/yaml-file.ts";
import { expectLoaded, load, TOKEN } from "./support.ts";

const path = join(import.meta.dir, "../../config.example.yaml");
const text = readFileSync(path, "utf8");

function keysOf(document: unknown): string[] {
  if (typeof document !== "object" || document === null) return [];
  return Object.entries(document).flatMap(([section, body]) =>
    typeof body === "object" && body !== null
      ? Object.keys(body).map((key) => `${section}.${key}`)
      : [section],
  );
}

test("parses with no problems", () => {
  expect(parseConfigYaml(text, path).problems).toEqual([]);
});

test("covers every YAML key of the option table, in table order, and nothing else", () => {
  expect(keysOf(parse(text))).toEqual(yamlKeys());
});

test("every key's comment names its environment variable", () => {
  const lines = text.split("\n");
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    if (spec.yaml === undefined) continue;
    const [section, key] = spec.yaml.split(".");
    const sectionAt = lines.indexOf(`${section}:`);
    const at = lines.findIndex((line, i) => i > sectionAt && line.startsWith(`  ${key}:`));
    expect(sectionAt).toBeGreaterThanOrEqual(0);
    expect(at).toBeGreaterThan(sectionAt);
    // The comment block right above the key.
    let start = at;
    while (lines[start - 1]?.trimStart().startsWith("#")) start--;
    const comment = lines.slice(start, at).join("\n");
    const variable = spec.env.at(-1) ?? "";
    const both = variable.replace("OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_[METRICS_]");
    expect(comment.includes(variable) || comment.includes(both)).toBe(true);
  }
});

test("loads for `run` with the organizations and the token from the environment", () => {
  const loaded = expectLoaded(
    load(["--config.file", path], { PULUMI_ACCESS_TOKEN: TOKEN, PULUMI_ORGANIZATIONS: "my-org" }),
  );
  expect(loaded.config.pulumi.organizations).toEqual(["my-org"]);
  expect(loaded.config.pulumi.collectIntervalMs).toBe(60_000);
  expect(loaded.config.otlp.enabled).toBe(true);
  expect(loaded.config.otlp.endpoint).toBe("localhost:4318");
  expect(loaded.config.otlp.headers).toEqual({});
  expect(loaded.config.resource.attributes).toEqual({ "deployment.environment": "production" });
  expect(loaded.config.pulumi.caFile).toBeUndefined();
  expect(loaded.config.web.listenAddress).toBe(":8080");
  expect(loaded.warnings).toEqual([]);
});

test("loads for `demo` as it is: no organization of its own, no push, loopback only", () => {
  const loaded = expectLoaded(load(["demo", "--config.file", path]));
  expect(loaded.config.pulumi.organizations).toEqual([]);
  expect(loaded.config.otlp.enabled).toBe(false);
  expect(loaded.config.otlp.headers).toEqual({});
  expect(loaded.config.web.listenAddress).toBe("127.0.0.1:8080");
  expect(loaded.warnings).toEqual([]);
});

test("the values it shows are the defaults", () => {
  const defaults = new Map<string | undefined, string | undefined>(OPTIONS.map((o) => [o.yaml, o.default]));
  const document = parse(text) as Record<string, Record<string, unknown>>;
  for (const key of yamlKeys()) {
    const [section, name] = key.split(".");
    const value = document[section ?? ""]?.[name ?? ""];
    const fallback = defaults.get(key);
    if (fallback === undefined || typeof value === "object") continue;
    expect(`${key}=${String(value)}`).toBe(`${key}=${fallback}`);
  }
});
