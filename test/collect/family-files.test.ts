/**
 * A family is cheap to add: everything of the agent-pools family (its operations, its family name, its catalog
 * entries and metric names, its source's endpoints and state) is written in these hand-edited files and no others.
 * The client's method table, the validators, the fake API of the tests, the simulator's faults, the readings and
 * the family list are made from these, so a new family does not touch them.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/build.ts";
import { agentPoolsSource } from "../../src/collect/sources/agent-pools.ts";
import { CATALOG } from "../../src/metrics/catalog.ts";

/** Hand-written code and declarations: src without the generated files, and the operations and overlay. */
function handWritten(): string[] {
  const src = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".gen.ts"))
    .map((name) => join("src", name));
  return [...src, "openapi/operations.json", "openapi/overlay.json"];
}

/** The spec's names of what the operations answer, as `Schemas["…"]` names them (the simulator's data). */
function responseSchemas(operations: readonly string[]): string[] {
  const subset = JSON.parse(readFileSync(join(ROOT, "openapi/pulumi-subset.json"), "utf8")) as {
    paths: Record<string, { get?: { operationId?: string; responses?: Record<string, unknown> } }>;
  };
  return Object.values(subset.paths).flatMap(({ get }) => {
    if (!get?.operationId || !operations.includes(get.operationId)) return [];
    const ref = JSON.stringify(get.responses?.["200"] ?? {}).match(/#\/components\/schemas\/(\w+)/)?.[1];
    return ref ? [`Schemas["${ref}"]`] : [];
  });
}

function familyMarkers(): string[] {
  const entries = Object.entries(CATALOG).filter(([, entry]) => entry.family === agentPoolsSource.family);
  return [
    `"${agentPoolsSource.family}"`,
    ...agentPoolsSource.operations.map((operation) => `"${operation}"`),
    ...agentPoolsSource.operations.map((operation) => `${operation}:`),
    ...entries.flatMap(([id, entry]) => [`"${id}"`, entry.name]),
    ...responseSchemas(agentPoolsSource.operations),
    "agentPoolsSource",
    "AgentPoolsState",
    "AGENT_STATUSES",
  ];
}

test("the agent-pools family is written in six files", () => {
  const markers = familyMarkers();
  expect(markers).toContain('"ListOrgAgentPool"');
  expect(markers).toContain("pulumi_agent_pool_up");
  expect(markers).toContain('Schemas["ListAgentPoolsResponse"]');
  const touched = handWritten().filter((path) => {
    const text = readFileSync(join(ROOT, path), "utf8");
    return markers.some((marker) => text.includes(marker));
  });
  expect(touched.sort()).toEqual([
    "openapi/operations.json",
    "src/collect/sources/agent-pools.ts",
    "src/collect/sources/index.ts",
    "src/metrics/catalog.ts",
    "src/sim/estate.ts",
    "src/sim/handlers.ts",
  ]);
});
