/** Names for the generated Pulumi Cloud schemas the exporter reads. */
import type { components } from "./schema.gen.ts";

type Schemas = components["schemas"];

/** `id` is optional: the stack list does not always carry it. */
export type StackSummary = Omit<Schemas["AppStackSummary"], "id"> & { id?: string };
export type StackUpdate = Schemas["StackUpdateInfo"];
export type StackUpdatesPage = Schemas["ListStackUpdatesResponse"];
export type DeploymentCounts = Schemas["DeploymentCounts"];
export type DeploymentStatus = Schemas["ListDeploymentResponse"]["status"];
export type DeploymentSummary = Pick<Schemas["ListDeploymentResponse"], "id" | "created" | "modified"> & {
  /** Any string: a status Pulumi adds later is not a malformed item. */
  status: string;
};
export type OrganizationMember = Schemas["OrganizationMember"];
export type Team = Schemas["Team"];
export type OrgEnvironment = Schemas["OrgEnvironment"];
export type PolicyGroup = Schemas["AppPolicyGroupSummary"];
export type PolicyPack = Schemas["AppPolicyPackWithVersions"];
export type PolicyViolation = Schemas["PolicyViolationV2"];
export type NeoTask = Schemas["AgentTask"];
export type PolicyResultsMetadata = Schemas["PolicyResultsMetadata"];
export type NeoTokenBudget = Schemas["NeoTokenBudget"];

/** Every deployment status Pulumi Cloud reports, in its own order. */
export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  "not-started",
  "accepted",
  "running",
  "failed",
  "succeeded",
  "skipped",
];
