/** Organization-level collection: one task per endpoint, each producing part of the org's values. */
import type { NeoTaskItem, Operation, PulumiApi, Violation } from "../pulumi/api.ts";
import { DEPLOYMENT_STATUSES, type DeploymentCounts, type DeploymentStatus } from "../pulumi/types.ts";
import type { NeoUsage, OrgValues } from "./state.ts";

export const KNOWN_VIOLATION_LEVELS = ["advisory", "mandatory", "remediate"] as const;
export const KNOWN_VIOLATION_KINDS = ["audit", "preventative"] as const;
export const KNOWN_NEO_STATUSES = ["running", "idle"] as const;

export interface OrgTask {
  /** The operation that answers it, for logs and error counts. */
  readonly operation: Operation;
  /** Reads the API and returns the new values, given the previous ones. */
  run(api: PulumiApi, org: string, previous: OrgValues, now: Date): Promise<Partial<OrgValues>>;
}

export function deploymentCountsByStatus(counts: DeploymentCounts): Record<DeploymentStatus, number> {
  return {
    "not-started": counts.notStarted,
    accepted: counts.accepted,
    running: counts.running,
    failed: counts.failed,
    succeeded: counts.succeeded,
    skipped: counts.skipped,
  };
}

export function countStatuses(statuses: readonly string[]): Record<DeploymentStatus, number> {
  const counts = Object.fromEntries(DEPLOYMENT_STATUSES.map((s) => [s, 0])) as Record<
    DeploymentStatus,
    number
  >;
  for (const status of statuses) {
    if (status in counts) counts[status as DeploymentStatus]++;
  }
  return counts;
}

export function violationKey(level: string, kind: string): string {
  return `${level}|${kind}`;
}

/** Counts by level×kind: every known and previously seen combination is present, 0 included. */
export function countViolations(
  violations: readonly Violation[],
  previous: Readonly<Record<string, number>> | undefined,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const level of KNOWN_VIOLATION_LEVELS) {
    for (const kind of KNOWN_VIOLATION_KINDS) counts[violationKey(level, kind)] = 0;
  }
  for (const key of Object.keys(previous ?? {})) counts[key] = 0;
  for (const v of violations) {
    const key = violationKey(v.level || "unknown", v.kind || "unknown");
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Task counts by status and token use; "current month" is the calendar month (UTC) of task creation. */
export function neoUsage(tasks: readonly NeoTaskItem[], previous: NeoUsage | undefined, now: Date): NeoUsage {
  const tasksByStatus: Record<string, number> = {};
  for (const status of KNOWN_NEO_STATUSES) tasksByStatus[status] = 0;
  for (const status of Object.keys(previous?.tasksByStatus ?? {})) tasksByStatus[status] = 0;
  let tokensTotal = 0;
  let tokensCurrentMonth = 0;
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  for (const task of tasks) {
    const status = task.status || "unknown";
    tasksByStatus[status] = (tasksByStatus[status] ?? 0) + 1;
    const tokens = task.tokensUsed ?? 0;
    tokensTotal += tokens;
    const created = new Date(task.createdAt);
    if (created.getUTCFullYear() === year && created.getUTCMonth() === month) tokensCurrentMonth += tokens;
  }
  return { tasksByStatus, tokensCurrentMonth, tokensTotal };
}

export const ORG_TASKS: readonly OrgTask[] = [
  {
    operation: "OrgDeploymentsMetadata",
    async run(api, org) {
      try {
        return { deployments: deploymentCountsByStatus(await api.getOrgDeploymentCounts(org)) };
      } catch (metadataError) {
        // The metadata endpoint is one call; walking every deployment page is the slower fallback.
        try {
          const deployments = await api.listOrgDeployments(org);
          return { deployments: countStatuses(deployments.map((d) => d.status)) };
        } catch {
          throw metadataError;
        }
      }
    },
  },
  {
    operation: "ListOrganizationMembers",
    run: async (api, org) => ({ members: (await api.listMembers(org)).length }),
  },
  { operation: "ListTeams", run: async (api, org) => ({ teams: (await api.listTeams(org)).length }) },
  {
    operation: "ListOrgEnvironments_esc",
    run: async (api, org) => ({ environments: (await api.listEnvironments(org)).length }),
  },
  {
    operation: "ListPolicyGroups",
    run: async (api, org) => ({ policyGroups: (await api.listPolicyGroups(org)).length }),
  },
  {
    operation: "ListPolicyPacks_orgs",
    run: async (api, org) => ({ policyPacks: (await api.listPolicyPacks(org)).length }),
  },
  {
    operation: "ListPolicyViolationsV2",
    run: async (api, org, previous) => ({
      violations: countViolations(await api.listPolicyViolations(org), previous.violations),
    }),
  },
  {
    operation: "GetPolicyResultsMetadata",
    async run(api, org) {
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
  },
  {
    operation: "ListTasks",
    run: async (api, org, previous, now) => ({
      neo: neoUsage(await api.listNeoTasks(org), previous.neo, now),
    }),
  },
  {
    operation: "GetOrgNeoTokenBudget",
    async run(api, org) {
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
  },
];
