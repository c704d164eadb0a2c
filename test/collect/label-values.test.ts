/** The known label values are exactly the spec's enums; the generated types check most of them at compile time. */
import { describe, expect, test } from "bun:test";
import {
  DEPLOYMENT_OPERATION,
  DEPLOYMENT_STATUS,
  labelValues,
  NEO_TASK_STATUS,
  RESOURCE_OPERATION,
  UPDATE_KIND,
  VIOLATION_KIND,
  VIOLATION_LEVEL,
} from "../../src/collect/label-values.ts";
import { SPEC_PATH } from "../sim/spec.ts";

interface Schema {
  enum?: string[];
  properties?: Record<string, Schema>;
  allOf?: Schema[];
}

const spec = (await Bun.file(SPEC_PATH).json()) as { components: { schemas: Record<string, Schema> } };

function specEnum(schema: string, property: string): string[] {
  const root = spec.components.schemas[schema];
  // A schema built with allOf (ListDeploymentSnapshot) declares its own properties in one of the parts.
  const parts = [root, ...(root?.allOf ?? [])];
  const values = parts.map((part) => part?.properties?.[property]?.enum).find((e) => e !== undefined);
  if (!values) throw new Error(`${schema}.${property} has no enum in the spec`);
  return values;
}

describe("known label values", () => {
  test.each([
    ["violation level", "InsightsPolicyViolation", "enforcementLevel", VIOLATION_LEVEL],
    ["violation kind", "PolicyViolationV2", "kind", VIOLATION_KIND],
    ["Neo task status", "AgentTask", "status", NEO_TASK_STATUS],
    ["deployment status", "ListDeploymentResponse", "status", DEPLOYMENT_STATUS],
    ["deployment operation", "ListDeploymentSnapshot", "pulumiOperation", DEPLOYMENT_OPERATION],
    ["update kind", "AppUpdateInfo", "kind", UPDATE_KIND],
    ["resource operation", "AppStepEventMetadata", "op", RESOURCE_OPERATION],
  ] as const)("%s: the spec's %s.%s enum, then other", (_name, schema, property, labels) => {
    expect([...labels.values] as string[]).toEqual([...specEnum(schema, property), "other"]);
  });

  test("the policy level enum is the one every enforcement level of the spec uses", () => {
    expect(specEnum("AppPolicy", "enforcementLevel")).toEqual(
      specEnum("InsightsPolicyViolation", "enforcementLevel"),
    );
  });

  test("anything else is other, Object.prototype's names included", () => {
    const labels = labelValues(["running", "idle"]);
    expect(
      ["running", "idle", "other", "", "Running", "constructor", "__proto__", "toString"].map(labels.of),
    ).toEqual(["running", "idle", "other", "other", "other", "other", "other", "other"]);
    expect(labels.isKnown("other")).toBe(false);
  });
});
