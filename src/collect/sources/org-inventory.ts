/**
 * The organization inventory: one source per endpoint, each producing part of the organization's values
 * (`OrgValues`). Everything but the deployment counts changes rarely and is read on the organization cadence.
 */
import {
  countStatuses,
  countViolations,
  deploymentCountsByStatus,
  neoUsage,
  unknownOrgValues,
} from "../orgs.ts";
import type { OrgSourceInput, OrgSourceOutput, OrgValuesSource } from "../source.ts";
import type { OrgValues } from "../state.ts";

type Read = (input: OrgSourceInput<Partial<OrgValues>>) => Promise<Partial<OrgValues>>;

/** An inventory source whose values are all fresh from one read; the unknown values are counted on every read. */
function inventory(
  source: Omit<OrgValuesSource, "scope" | "persist" | "run"> & { read: Read },
): OrgValuesSource {
  const { read, ...declared } = source;
  return {
    ...declared,
    scope: "org",
    persist: "org-values",
    async run(input): Promise<OrgSourceOutput<Partial<OrgValues>, never>> {
      const state = await read(input);
      return { state, unknown: unknownOrgValues(state) };
    },
  };
}

export const deploymentCountsSource = inventory({
  name: "deployment-counts",
  family: "deployments",
  operations: ["OrgDeploymentsMetadata", "ListOrgDeployments"],
  cadence: "cycle",
  feeds: [
    "pulumi_deployment_status",
    "pulumi_org_deployment_concurrency_limit",
    "pulumi_org_deployments_paused",
  ],
  calls: "1 per org (on failure: every page of the deployment list)",
  async read({ api, org }) {
    try {
      const metadata = await api.getOrgDeploymentsMetadata(org);
      return {
        deployments: deploymentCountsByStatus(metadata.deploymentCounts),
        deploymentConcurrency: metadata.concurrency,
        deploymentsPaused: metadata.paused,
      };
    } catch (metadataError) {
      // The metadata endpoint is one call; walking every deployment page is the slower fallback for the counts
      // (the concurrency limit and the pause keep their last values).
      try {
        const deployments = await api.listOrgDeployments(org);
        return { deployments: countStatuses(deployments.map((d) => d.status)) };
      } catch {
        throw metadataError;
      }
    }
  },
});

export const INVENTORY_SOURCES: readonly OrgValuesSource[] = [
  deploymentCountsSource,
  inventory({
    name: "members",
    family: "org",
    operations: ["ListOrganizationMembers"],
    cadence: "org",
    feeds: ["pulumi_org_member_count"],
    calls: "1 per org, + 1 per further page",
    read: async ({ api, org }) => ({ members: (await api.listMembers(org)).length }),
  }),
  inventory({
    name: "teams",
    family: "org",
    operations: ["ListTeams"],
    cadence: "org",
    feeds: ["pulumi_org_team_count"],
    calls: "1 per org",
    read: async ({ api, org }) => ({ teams: (await api.listTeams(org)).length }),
  }),
  inventory({
    name: "environments",
    family: "esc",
    operations: ["ListOrgEnvironments_esc"],
    cadence: "org",
    feeds: ["pulumi_org_environment_count"],
    calls: "1 per org, + 1 per further page",
    read: async ({ api, org }) => ({ environments: (await api.listEnvironments(org)).length }),
  }),
  inventory({
    name: "policy-groups",
    family: "policy",
    operations: ["ListPolicyGroups"],
    cadence: "org",
    feeds: ["pulumi_org_policy_group_count"],
    calls: "1 per org",
    read: async ({ api, org }) => ({ policyGroups: (await api.listPolicyGroups(org)).length }),
  }),
  inventory({
    name: "policy-packs",
    family: "policy",
    operations: ["ListPolicyPacks_orgs"],
    cadence: "org",
    feeds: ["pulumi_org_policy_pack_count"],
    calls: "1 per org",
    read: async ({ api, org }) => ({ policyPacks: (await api.listPolicyPacks(org)).length }),
  }),
  inventory({
    name: "policy-violations",
    family: "policy",
    operations: ["ListPolicyViolationsV2"],
    cadence: "org",
    feeds: ["pulumi_org_policy_violations"],
    calls: "1 per org, + 1 per further page",
    read: async ({ api, org }) => ({ violations: countViolations(await api.listPolicyViolations(org)) }),
  }),
  inventory({
    name: "policy-results",
    family: "policy",
    operations: ["GetPolicyResultsMetadata"],
    cadence: "org",
    feeds: [
      "pulumi_org_policy_total",
      "pulumi_org_policy_with_issues",
      "pulumi_org_governed_resources_total",
      "pulumi_org_governed_resources_with_issues",
    ],
    calls: "1 per org",
    async read({ api, org }) {
      const m = await api.getPolicyResultsMetadata(org);
      return {
        policyResults: {
          policyTotal: m.policyTotalCount,
          policyWithIssues: m.policyWithIssuesCount,
          resourcesTotal: m.resourcesTotalCount,
          resourcesWithIssues: m.resourcesWithIssuesCount,
        },
      };
    },
  }),
  inventory({
    name: "neo-tasks",
    family: "neo",
    operations: ["ListTasks"],
    cadence: "org",
    feeds: [
      "pulumi_org_neo_task_count",
      "pulumi_org_neo_tokens_used_current_month",
      "pulumi_org_neo_tokens_used_total",
    ],
    calls: "1 per org, + 1 per further page",
    read: async ({ api, org, now }) => ({ neo: neoUsage(await api.listNeoTasks(org), now) }),
  }),
  inventory({
    name: "neo-budget",
    family: "neo",
    operations: ["GetOrgNeoTokenBudget"],
    cadence: "org",
    feeds: [
      "pulumi_org_neo_token_budget_consumed",
      "pulumi_org_neo_token_budget_allowance",
      "pulumi_org_neo_token_budget_exhausted",
    ],
    calls: "1 per org",
    async read({ api, org }) {
      const budget = await api.getNeoTokenBudget(org);
      return {
        neoBudget: budget
          ? {
              consumed: budget.consumedTokens,
              allowance: budget.effectiveAllowanceTokens,
              exhausted: budget.exhausted,
            }
          : null,
      };
    },
  }),
];
