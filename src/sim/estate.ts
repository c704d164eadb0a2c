/**
 * Agent pools, the plan and access tokens of a simulated organization. Derived from the model's clock and tick
 * count, so each tick changes them the same way for the same scenario: an agent goes offline and comes back, a
 * pool is deleted and recreated, tokens expire as the clock passes their expiry.
 */
import type { components } from "../pulumi/schema.gen.ts";
import { ApiError } from "./api-error.ts";
import type { SimModel } from "./model.ts";
import { formatIsoTime } from "./time.ts";

type Schemas = components["schemas"];
const DAY = 86_400;
/** How many agents each pool has. */
export const AGENTS_PER_POOL = 3;
/** The second pool is deleted on every tick divisible by this (and exists otherwise). */
export const POOL_GONE_EVERY = 4;

interface SimPool {
  id: string;
  name: string;
  index: number;
}

function pools(model: SimModel, org: string): SimPool[] {
  const all = [
    { id: `${org}-pool-1`, name: "default-runners", index: 0 },
    { id: `${org}-pool-2`, name: "build-runners", index: 1 },
  ];
  return model.ticks % POOL_GONE_EVERY === 0 && model.ticks > 0 ? all.slice(0, 1) : all;
}

/** Agent `i` of pool `index` is offline on one tick in three, at a different tick for each agent. */
function agentOnline(model: SimModel, index: number, i: number): boolean {
  return (model.ticks + index + i) % 3 !== 0 || model.ticks === 0;
}

function agents(model: SimModel, pool: SimPool): Schemas["DeploymentAgentMetadata"][] {
  return Array.from({ length: AGENTS_PER_POOL }, (_, i) => {
    const online = agentOnline(model, pool.index, i);
    return {
      version: "0.9.0",
      platform: "linux",
      hostname: `${pool.name}-${i + 1}`,
      ip: `10.0.${pool.index}.${i + 1}`,
      pid: String(4000 + i),
      lastSeen: online ? model.now : model.now - 600,
      status: online ? "online" : "offline",
    };
  });
}

function requirePool(model: SimModel, org: string, poolId: string | undefined): SimPool {
  const pool = pools(model, org).find((p) => p.id === poolId);
  if (!pool) throw new ApiError(404, `Agent pool '${poolId ?? ""}' not found`);
  return pool;
}

export function listAgentPools(model: SimModel, org: string): Schemas["ListAgentPoolsResponse"] {
  const agentPools = pools(model, org).map((pool): Schemas["AgentPool"] => {
    const list = agents(model, pool);
    const online = list.some((a) => a.status === "online");
    return {
      created: model.options.startTime - 30 * DAY,
      id: pool.id,
      name: pool.name,
      description: `The ${pool.name} pool`,
      isDefault: pool.index === 0,
      lastSeen: Math.max(...list.map((a) => a.lastSeen)),
      status: online ? "online" : "offline",
    };
  });
  return { agentPools };
}

export function getAgentPool(
  model: SimModel,
  org: string,
  poolId: string | undefined,
): Schemas["AgentPoolDetail"] {
  const pool = requirePool(model, org, poolId);
  return {
    agents: agents(model, pool),
    created: model.options.startTime - 30 * DAY,
    description: `The ${pool.name} pool`,
    id: pool.id,
    name: pool.name,
  };
}

/** Every paid feature off but agent pools. */
const FEATURES: Schemas["OrganizationFeatures"] = {
  agentIntegrationCatalogEnabled: false,
  agentPoolRegistrationEnabled: true,
  agentScheduledTasksEnabled: false,
  aiAgentsEnabled: false,
  aiReviewCodeAccessEnabled: false,
  aleEnabled: false,
  approvalsEnabled: false,
  auditLogUIFilteringEnabled: false,
  auditLogsEnabled: false,
  bitbucketVCSEnabled: false,
  bringYourOwnKeyEnabled: false,
  cliIntegrationCatalogEnabled: false,
  crossGuardEnabled: false,
  customRoleCondition: false,
  customRolesEnabled: false,
  customTemplatesEnabled: false,
  customVCSEnabled: false,
  dashboardOnboardingUIEnabled: false,
  dependencyCachingEnabled: false,
  deployEnabled: false,
  discoveredStacksEnabled: false,
  driftDetectionEnabled: false,
  environmentRevisionTagsEnabled: false,
  environmentSecretRotationEnabled: false,
  environmentsEnabled: false,
  environmentsRestoreEnabled: false,
  escEditorRevampEnabled: false,
  escOnboardingAzureOAuthClientEnabled: false,
  escOnboardingEnabled: false,
  escOnboardingGcpOAuthClientEnabled: false,
  escOnboardingV2Enabled: false,
  fixDriftWithNeoEnabled: false,
  getStartedOnboardEnabled: false,
  ghAppDetailedDiffEnabled: false,
  gitHubEnterpriseIntegrationEnabled: false,
  iacCloudImportEnabled: false,
  insightsAutoPolicyPacksEnabled: false,
  insightsMonetizationEnabled: false,
  integrationAssistantEnabled: false,
  legacyDeploymentsOrgToken: false,
  neoPlanModeEnabled: false,
  neoReadOnlyEnabled: false,
  neoServerSideApprovalsEnabled: false,
  neoTaskSharingEnabled: false,
  nlpSearchEnabled: false,
  pangeaAccountsScanPageEnabled: false,
  policyIssueManagementEnabled: false,
  policyManagementV2Enabled: false,
  propertySearchUIEnabled: false,
  resourceExportEnabled: false,
  resourceSearchEnabled: false,
  restoreStacksEnabled: false,
  scimEnabled: false,
  selfHostedDeploymentsEnabled: false,
  selfServeIDPRemoval: false,
  serviceBackedConfigEnabled: false,
  themingEnabled: false,
  webhooksEnabled: false,
};

/** The plan: a Team plan capped at 500 stacks and 25 members, its period ending 30 days after the start. */
export function organizationMetadata(
  model: SimModel,
  org: string,
  counts: { stacks: number; members: number; environments: number },
): Schemas["OrganizationMetadata"] {
  return {
    accountCount: 0,
    aiEnablement: "disabled",
    auditLogsEnabled: false,
    created: formatIsoTime((model.options.startTime - 400 * DAY) * 1000),
    defaultAccountPermission: 1,
    defaultEnvironmentPermission: "read",
    defaultStackPermission: 101,
    environmentCount: counts.environments,
    features: FEATURES,
    id: `${org}-id`,
    insightsTrialUsingPolicy: false,
    kind: "pulumi",
    memberCount: counts.members,
    membersCanCreateAccounts: false,
    membersCanCreateStacks: true,
    membersCanCreateTeams: false,
    membersCanDeleteStacks: false,
    membersCanTransferStacks: false,
    neoApprovalMode: "manual",
    neoEnabled: false,
    neoTaskSharingMode: "none",
    preferredVCS: "github",
    stackCount: counts.stacks,
    userRole: "admin",
    webhooksEnabled: true,
    maxStacks: 500,
    maxMembers: 25,
    product: "team-pro",
    subscriptionStatus: "active",
    subscriptionPeriodEnd: formatIsoTime((model.options.startTime + 30 * DAY) * 1000),
  };
}

/** The name of the organization token the simulated exporter authenticates with (first organization's). */
export const SIM_TOKEN_NAME = "sim-exporter";
/** Its expiry: 60 days after the scenario's start. */
export const SIM_TOKEN_DAYS = 60;

/** GetCurrentUser's `tokenInfo`: the simulator's token is an organization token of the first organization. */
export function simTokenInfo(model: SimModel): Schemas["TokenInfo"] {
  return { name: SIM_TOKEN_NAME, organization: model.orgNames()[0] ?? "", team: "" };
}

/**
 * The organization's tokens, with expiries fixed from the scenario's start: as the clock passes them, one token
 * after another becomes expired (one never expires).
 */
export function orgTokens(model: SimModel, org: string): Schemas["ListAccessTokensResponse"] {
  const start = model.options.startTime;
  const expiries = [0, start + 3600, start + 5 * DAY, start + 20 * DAY, start + 90 * DAY];
  const tokens = expiries.map((expires, i) => token(model, `${org}-ci-${i + 1}`, expires));
  if (org === simTokenInfo(model).organization)
    tokens.push(token(model, SIM_TOKEN_NAME, start + SIM_TOKEN_DAYS * DAY));
  return { tokens };
}

export function teamTokens(model: SimModel, org: string, team: string): Schemas["ListAccessTokensResponse"] {
  return { tokens: [token(model, `${org}-${team}-deploy`, model.options.startTime + 10 * DAY)] };
}

export function personalTokens(model: SimModel, login: string): Schemas["ListAccessTokensResponse"] {
  return { tokens: [token(model, `${login}-laptop`, 0)] };
}

function token(model: SimModel, name: string, expires: number): Schemas["AccessToken"] {
  return {
    id: `tok-${name}`,
    name,
    description: `The ${name} token`,
    created: formatIsoTime((model.options.startTime - 10 * DAY) * 1000),
    lastUsed: model.now - 60,
    expires,
    admin: false,
    createdBy: "sim-operator",
  };
}
