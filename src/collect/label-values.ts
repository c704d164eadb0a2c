/**
 * The values the Pulumi API puts into metric labels, bounded. Each field keeps the values the spec lists; anything
 * else becomes `other` (and is counted), so a misbehaving or newer API cannot grow the number of series: 200,000
 * distinct violation levels are still 15 violation series per organization.
 */
import type { Operation } from "../pulumi/api.ts";
import type { components } from "../pulumi/schema.gen.ts";
import type { DeploymentStatus, NeoTask, PolicyViolation } from "../pulumi/types.ts";

type Schemas = components["schemas"];

/** The label value of every value the spec does not list. */
export const OTHER = "other";
export type Other = typeof OTHER;

/**
 * `values`, checked at compile time to list every member of `T` and nothing else: when the regenerated spec types
 * gain a value, the list fails to compile until it is added.
 */
export function everyValueOf<T extends string>() {
  return <const V extends readonly T[]>(
    values: V & ([Exclude<T, V[number]>] extends [never] ? unknown : { missing: Exclude<T, V[number]> }),
  ): V => values;
}

/**
 * The spec's `AppEnforcementLevel`. `PolicyViolationV2.level` is a plain string in the spec, so the generated types
 * cannot check this list; test/collect/label-values.test.ts compares it with the spec.
 */
export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const;
/**
 * The spec's `OpType` (`AppStepEventMetadata.op`): the operations of resource steps, the keys of an update's
 * `resourceChanges`. Not in the generated subset; test/collect/label-values.test.ts compares it with the spec.
 */
export const RESOURCE_OPERATIONS = [
  "same",
  "create",
  "update",
  "delete",
  "replace",
  "create-replacement",
  "delete-replaced",
  "read",
  "read-replacement",
  "refresh",
  "discard",
  "discard-replaced",
  "remove-pending-replace",
  "import",
  "import-replacement",
] as const;

/** One API field's label values: the known ones, then `other`. */
export interface LabelValues<T extends string> {
  /** Every value reported, 0 included: the known ones in the spec's order, then `other`. */
  readonly values: readonly (T | Other)[];
  /** The label value of `value`: itself when the spec lists it, else `other`. */
  of(value: string): T | Other;
  isKnown(value: string): value is T;
}

export function labelValues<T extends string>(known: readonly T[]): LabelValues<T> {
  // A Set, not `value in record`: "constructor" or "__proto__" from the API must not match Object.prototype.
  const set: ReadonlySet<string> = new Set(known);
  const isKnown = (value: string): value is T => set.has(value);
  return { values: [...known, OTHER], of: (value) => (isKnown(value) ? value : OTHER), isKnown };
}

export const VIOLATION_LEVEL = labelValues(ENFORCEMENT_LEVELS);
export const VIOLATION_KIND = labelValues(everyValueOf<PolicyViolation["kind"]>()(["audit", "preventative"]));
export const NEO_TASK_STATUS = labelValues(everyValueOf<NeoTask["status"]>()(["running", "idle"]));
export const DEPLOYMENT_STATUS = labelValues(
  everyValueOf<DeploymentStatus>()(["not-started", "accepted", "running", "failed", "succeeded", "skipped"]),
);
type DeploymentOperation = Schemas["ListDeploymentSnapshot"]["pulumiOperation"];
/** A deployment's `pulumiOperation`: the `operation` label of the deployment series. */
export const DEPLOYMENT_OPERATION = labelValues(
  everyValueOf<DeploymentOperation>()([
    "update",
    "preview",
    "destroy",
    "refresh",
    "detect-drift",
    "remediate-drift",
  ]),
);
/** The update history's `kind` is a plain string in the overlay; the spec's enum is the same on every update type. */
export const UPDATE_KIND = labelValues(
  everyValueOf<Schemas["DeploymentNestedUpdate"]["kind"]>()([
    "update",
    "preview",
    "refresh",
    "rename",
    "destroy",
    "import",
    "Pupdate",
    "Prefresh",
    "Pdestroy",
    "Pimport",
    "Prename",
  ]),
);
export const RESOURCE_OPERATION = labelValues(RESOURCE_OPERATIONS);

export type ViolationLevelLabel = (typeof VIOLATION_LEVEL.values)[number];
export type ViolationKindLabel = (typeof VIOLATION_KIND.values)[number];
export type NeoTaskStatusLabel = (typeof NEO_TASK_STATUS.values)[number];
export type DeploymentStatusLabel = (typeof DEPLOYMENT_STATUS.values)[number];
export type DeploymentOperationLabel = (typeof DEPLOYMENT_OPERATION.values)[number];

/** How many values of one API field were not among the known ones, in what one read returned. */
/** The spec's `OrganizationMetadata.product`. */
export const PLAN_PRODUCT = labelValues(
  everyValueOf<NonNullable<Schemas["OrganizationMetadata"]["product"]>>()([
    "team-per-stack",
    "community",
    "individual",
    "team-starter",
    "team-pro",
    "enterprise",
    "team-growth",
    "enterprise-growth",
    "business-critical",
  ]),
);
/** `subscriptionStatus` is a plain string in the spec: Stripe's subscription statuses. */
export const SUBSCRIPTION_STATUS = labelValues([
  "active",
  "trialing",
  "past_due",
  "canceled",
  "unpaid",
  "incomplete",
  "incomplete_expired",
  "paused",
] as const);
/** The expiry buckets of `pulumi_org_access_tokens`. */
export const TOKEN_EXPIRY = ["never", "expired", "within_7d", "within_30d", "later"] as const;

export interface UnknownValues {
  readonly operation: Operation;
  /** The API field, as the spec names it. */
  readonly field: string;
  readonly count: number;
}

/** Every field whose unknown values are counted: the counter starts at 0 for each. */
export const UNKNOWN_VALUE_FIELDS: readonly Omit<UnknownValues, "count">[] = [
  { operation: "ListPolicyViolationsV2", field: "level" },
  { operation: "ListPolicyViolationsV2", field: "kind" },
  { operation: "ListTasks", field: "status" },
  { operation: "ListOrgDeployments", field: "status" },
  { operation: "ListOrgDeployments", field: "pulumiOperation" },
  { operation: "GetStackUpdates", field: "kind" },
  { operation: "GetStackUpdates", field: "resourceChanges" },
  { operation: "GetOrganizationMetadata", field: "product" },
  { operation: "GetOrganizationMetadata", field: "subscriptionStatus" },
];
