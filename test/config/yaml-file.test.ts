import { describe, expect, test } from "bun:test";
import { parseConfigYaml } from "../../src/config/yaml-file.ts";

const PATH = "/etc/pulumi-exporter/config.yaml";

describe("parseConfigYaml", () => {
  test("values with the file, line and key that set them", () => {
    const layer = parseConfigYaml("pulumi:\n  api-url: https://a.example\n\notlp:\n  insecure: true\n", PATH);
    expect(layer.problems).toEqual([]);
    expect(layer.parsed).toBe(true);
    expect(Object.fromEntries(layer.values)).toEqual({
      "pulumi.api-url": { value: "https://a.example", label: `${PATH}:2: pulumi.api-url` },
      "otlp.insecure": { value: true, label: `${PATH}:5: otlp.insecure` },
    });
  });

  test("duplicate keys are a syntax error", () => {
    const layer = parseConfigYaml("log:\n  level: info\n  level: debug\n", PATH);
    expect(layer.parsed).toBe(false);
    expect(layer.problems).toEqual([
      `${PATH}: YAML syntax error at line 3, column 3: Map keys must be unique`,
    ]);
  });

  test("several documents are an error", () => {
    const layer = parseConfigYaml("log:\n  level: info\n---\nlog:\n  level: debug\n", PATH);
    expect(layer.parsed).toBe(false);
    expect(layer.problems).toHaveLength(1);
    expect(layer.problems[0]).toStartWith(
      `${PATH}: YAML syntax error at line 3, column 1: Source contains multiple documents`,
    );
  });

  test("an alias without its anchor is reported, not thrown", () => {
    const layer = parseConfigYaml("log:\n  level: *missing\n", PATH);
    expect(layer.parsed).toBe(false);
    expect(layer.problems).toHaveLength(1);
    expect(layer.problems[0]).toStartWith(`${PATH}: `);
    expect(layer.problems[0]).toContain("missing");
  });

  test("a top level that is not a mapping makes the whole file unusable", () => {
    const layer = parseConfigYaml("- pulumi\n", PATH);
    expect(layer.parsed).toBe(false);
    expect(layer.problems).toEqual([
      `${PATH}: expected a mapping of sections (pulumi, otlp, ...), got a list`,
    ]);
  });

  test("anchors and aliases resolve", () => {
    const layer = parseConfigYaml("pulumi:\n  organizations: &orgs [a, b]\n", PATH);
    expect(layer.values.get("pulumi.organizations")?.value).toEqual(["a", "b"]);
  });

  test("the Go exporter's nested keys are the only ones: no flat dotted keys", () => {
    const layer = parseConfigYaml("pulumi.api-url: https://a.example\n", PATH);
    expect(layer.problems).toEqual([`${PATH}:1: unknown key pulumi.api-url`]);
  });

  test("a bad value marks its option as failed and keeps the others", () => {
    const layer = parseConfigYaml("pulumi:\n  max-concurrency: many\n  api-url: https://a.example\n", PATH);
    expect([...layer.failed]).toEqual(["pulumi.max-concurrency"]);
    expect([...layer.values.keys()]).toEqual(["pulumi.api-url"]);
    expect(layer.problems).toEqual([`${PATH}:2: pulumi.max-concurrency: expected an integer, got a string`]);
  });

  test("header and attribute maps take scalar values as strings; nested values are wrong", () => {
    const ok = parseConfigYaml("otlp:\n  headers:\n    x-org: 7\n    x-flag: true\n", PATH);
    expect(ok.values.get("otlp.headers")?.value).toEqual({ "x-org": "7", "x-flag": "true" });
    const bad = parseConfigYaml("resource:\n  attributes:\n    team: [a]\n", PATH);
    expect(bad.problems).toEqual([`${PATH}:2: resource.attributes: team: expected a string, got a list`]);
  });

  test("otlp.timeout takes a number of milliseconds or a duration", () => {
    expect(parseConfigYaml("otlp:\n  timeout: 2500\n", PATH).values.get("otlp.timeout")?.value).toBe(2_500);
    expect(parseConfigYaml("otlp:\n  timeout: 2.5s\n", PATH).values.get("otlp.timeout")?.value).toBe(2_500);
  });
});
