/** --metrics.disable: families switched off, checked against src/families.ts with a did-you-mean hint. */
import { describe, expect, test } from "bun:test";
import { FAMILIES } from "../../src/families.ts";
import { expectConfig, expectProblems, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];
const LIST = FAMILIES.join(", ");

const disabled = (argv: string[], env: Record<string, string> = {}) => [
  ...expectConfig(load([...BASE, ...argv], env)).metrics.disable,
];

describe("the families", () => {
  test("default: none", () => {
    expect(disabled([])).toEqual([]);
  });

  test("the flag repeats, each occurrence a comma list; duplicates and case collapse", () => {
    expect(
      disabled(["--metrics.disable=stacks, updates", "--metrics.disable", "esc", "--metrics.disable=Stacks"]),
    ).toEqual(["stacks", "updates", "esc"]);
  });

  test("the environment takes a comma list", () => {
    expect(disabled([], { PULUMI_EXPORTER_METRICS_DISABLE: "neo,policy" })).toEqual(["neo", "policy"]);
  });

  test("the file takes a YAML list, its items comma lists as for pulumi.organizations", () => {
    const path = writeTemp(dir, "metrics:\n  disable:\n    - org\n    - deployments, neo\n");
    expect(disabled(["--config.file", path])).toEqual(["org", "deployments", "neo"]);
  });

  test("a plain string in the file is refused as for the other lists", () => {
    const path = writeTemp(dir, "metrics:\n  disable: org\n", 0o600, "scalar.yaml");
    expect(expectProblems(load([...BASE, "--config.file", path]))).toEqual([
      `${path}:2: metrics.disable: expected a list of strings, got a string`,
    ]);
  });

  test("an empty flag disables nothing, overriding the environment", () => {
    expect(disabled(["--metrics.disable="], { PULUMI_EXPORTER_METRICS_DISABLE: "neo" })).toEqual([]);
  });
});

describe("an unknown family", () => {
  test("a near miss gets a did-you-mean and the list of families", () => {
    expect(expectProblems(load([...BASE, "--metrics.disable=stacks,deploymnets"]))).toEqual([
      `--metrics.disable: unknown family "deploymnets" (did you mean "deployments"?); families: ${LIST}`,
    ]);
  });

  test("the list is the catalog's families, in the catalog's order", () => {
    expect(LIST).toBe(
      "stacks, updates, deployments, org, esc, policy, neo, agent-pools, plan, tokens, drift",
    );
  });

  test("nothing close: no hint", () => {
    expect(expectProblems(load([...BASE, "--metrics.disable=kubernetes"]))).toEqual([
      `--metrics.disable: unknown family "kubernetes"; families: ${LIST}`,
    ]);
  });

  test("each unknown name is its own problem, named by its source", () => {
    expect(expectProblems(load(BASE, { PULUMI_EXPORTER_METRICS_DISABLE: "polcy,esc,nep" }))).toEqual([
      `PULUMI_EXPORTER_METRICS_DISABLE: unknown family "polcy" (did you mean "policy"?); families: ${LIST}`,
      `PULUMI_EXPORTER_METRICS_DISABLE: unknown family "nep" (did you mean "neo"?); families: ${LIST}`,
    ]);
    const path = writeTemp(dir, "metrics:\n  disable: [updats]\n", 0o600, "unknown.yaml");
    expect(expectProblems(load([...BASE, "--config.file", path]))).toEqual([
      `${path}:2: metrics.disable: unknown family "updats" (did you mean "updates"?); families: ${LIST}`,
    ]);
  });
});
