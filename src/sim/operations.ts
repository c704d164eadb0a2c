/** The Pulumi Cloud operations the simulator serves, with their paths as the OpenAPI spec writes them. */
import type { Operation } from "../pulumi/api.ts";

export interface Route {
  operation: Operation;
  path: string;
}

export const ROUTES: readonly Route[] = [
  { operation: "ListUserStacks", path: "/api/user/stacks" },
  {
    operation: "GetStackResourceCount",
    path: "/api/stacks/{orgName}/{projectName}/{stackName}/resources/count",
  },
  { operation: "GetStackUpdates", path: "/api/stacks/{orgName}/{projectName}/{stackName}/updates" },
  {
    operation: "ListStackDeploymentsHandlerV2",
    path: "/api/stacks/{orgName}/{projectName}/{stackName}/deployments",
  },
  { operation: "ListOrgDeployments", path: "/api/orgs/{orgName}/deployments" },
  { operation: "OrgDeploymentsMetadata", path: "/api/orgs/{orgName}/deployments/metadata" },
  { operation: "ListOrganizationMembers", path: "/api/orgs/{orgName}/members" },
  { operation: "ListTeams", path: "/api/orgs/{orgName}/teams" },
  { operation: "ListOrgEnvironments_esc", path: "/api/esc/environments/{orgName}" },
  { operation: "ListPolicyGroups", path: "/api/orgs/{orgName}/policygroups" },
  { operation: "ListPolicyPacks_orgs", path: "/api/orgs/{orgName}/policypacks" },
  { operation: "ListPolicyViolationsV2", path: "/api/orgs/{orgName}/policyresults/violationsv2" },
  { operation: "GetPolicyResultsMetadata", path: "/api/orgs/{orgName}/policyresults/metadata" },
  { operation: "ListTasks", path: "/api/preview/agents/{orgName}/tasks" },
  { operation: "GetOrgNeoTokenBudget", path: "/api/orgs/{orgName}/neo/token-budget" },
  { operation: "GetCurrentUser", path: "/api/user" },
  { operation: "ListOrgAgentPool", path: "/api/orgs/{orgName}/agent-pools" },
  { operation: "GetAgentPool", path: "/api/orgs/{orgName}/agent-pools/{poolId}" },
  { operation: "GetOrganizationMetadata", path: "/api/orgs/{orgName}/metadata" },
  { operation: "ListOrgTokens", path: "/api/orgs/{orgName}/tokens" },
  { operation: "ListPersonalTokens", path: "/api/user/tokens" },
  { operation: "ListTeamTokens", path: "/api/orgs/{orgName}/teams/{teamName}/tokens" },
  {
    operation: "StackDeploymentsMetadata",
    path: "/api/stacks/{orgName}/{projectName}/{stackName}/deployments/metadata",
  },
];

export const OPERATIONS: readonly Operation[] = ROUTES.map((r) => r.operation);

export function isOperation(name: string): name is Operation {
  return (OPERATIONS as readonly string[]).includes(name);
}

/** `/api/stacks/{orgName}` → `/api/stacks/:orgName` (hono's syntax). */
export function honoPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ":$1");
}
