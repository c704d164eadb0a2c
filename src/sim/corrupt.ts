/** Breaks one item of a response so it no longer matches the schema: the `invalid-item` fault. */
import type { Operation } from "../pulumi/api.ts";

/** Per operation: the array holding the items (or none for a single object) and the required field to drop. */
const TARGETS: Record<Operation, { list: string | undefined; field: string }> = {
  ListUserStacks: { list: "stacks", field: "stackName" },
  GetStackResourceCount: { list: undefined, field: "resourceCount" },
  GetStackUpdates: { list: "updates", field: "startTime" },
  ListStackDeploymentsHandlerV2: { list: "deployments", field: "status" },
  ListOrgDeployments: { list: "deployments", field: "status" },
  OrgDeploymentsMetadata: { list: undefined, field: "deploymentCounts" },
  ListOrganizationMembers: { list: "members", field: "role" },
  ListTeams: { list: "teams", field: "name" },
  ListOrgEnvironments_esc: { list: "environments", field: "name" },
  ListPolicyGroups: { list: "policyGroups", field: "name" },
  ListPolicyPacks_orgs: { list: "policyPacks", field: "name" },
  ListPolicyViolationsV2: { list: "policyViolations", field: "level" },
  GetPolicyResultsMetadata: { list: undefined, field: "policyTotalCount" },
  ListTasks: { list: "tasks", field: "status" },
  GetOrgNeoTokenBudget: { list: undefined, field: "consumedTokens" },
  GetCurrentUser: { list: undefined, field: "githubLogin" },
  ListOrgAgentPool: { list: "agentPools", field: "status" },
  GetAgentPool: { list: "agents", field: "status" },
  GetOrganizationMetadata: { list: undefined, field: "stackCount" },
  ListOrgTokens: { list: "tokens", field: "expires" },
  ListPersonalTokens: { list: "tokens", field: "expires" },
  ListTeamTokens: { list: "tokens", field: "expires" },
  StackDeploymentsMetadata: { list: undefined, field: "paused" },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface Corruption {
  /** Index of the broken item in its page; undefined for a single-object response. */
  index: number | undefined;
  field: string;
}

/**
 * Returns a copy of `body` with one required field removed: from the middle item of the page, or from the
 * object itself. Undefined when there is nothing to break (an empty page).
 */
export function corruptBody(
  operation: Operation,
  body: unknown,
): { body: unknown; corruption: Corruption } | undefined {
  const target = TARGETS[operation];
  if (!isRecord(body)) return undefined;
  if (target.list === undefined) {
    const { [target.field]: _dropped, ...rest } = body;
    return { body: rest, corruption: { index: undefined, field: target.field } };
  }
  const items = body[target.list];
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const index = Math.floor(items.length / 2);
  const broken = items.map((item: unknown, i) => {
    if (i !== index || !isRecord(item)) return item;
    const { [target.field]: _dropped, ...rest } = item;
    return rest;
  });
  return { body: { ...body, [target.list]: broken }, corruption: { index, field: target.field } };
}
