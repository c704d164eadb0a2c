/** The counting rules of the organization inventory (src/collect/sources/org-inventory.ts reads the API). */
import type { NeoTaskItem, Violation } from "../pulumi/api.ts";
import type { DeploymentCounts } from "../pulumi/types.ts";
import {
  DEPLOYMENT_STATUS,
  type DeploymentStatusLabel,
  NEO_TASK_STATUS,
  type NeoTaskStatusLabel,
  OTHER,
  type UnknownValues,
  VIOLATION_KIND,
  VIOLATION_LEVEL,
} from "./label-values.ts";
import type { NeoUsage, OrgValues } from "./state.ts";

/** Every label value at 0. */
function zeros<T extends string>(values: readonly T[]): Record<T, number> {
  return Object.fromEntries(values.map((value) => [value, 0])) as Record<T, number>;
}

export function deploymentCountsByStatus(counts: DeploymentCounts): Record<DeploymentStatusLabel, number> {
  return {
    "not-started": counts.notStarted,
    accepted: counts.accepted,
    running: counts.running,
    failed: counts.failed,
    succeeded: counts.succeeded,
    skipped: counts.skipped,
    [OTHER]: 0,
  };
}

/** Counts by status: every known status and `other`, 0 included. */
export function countStatuses(statuses: readonly string[]): Record<DeploymentStatusLabel, number> {
  const counts = zeros(DEPLOYMENT_STATUS.values);
  for (const status of statuses) counts[DEPLOYMENT_STATUS.of(status)]++;
  return counts;
}

export function violationKey(level: string, kind: string): string {
  return `${level}|${kind}`;
}

/** Every level × kind key, `other` included in both. */
const VIOLATION_KEYS: readonly string[] = VIOLATION_LEVEL.values.flatMap((level) =>
  VIOLATION_KIND.values.map((kind) => violationKey(level, kind)),
);

/** Counts by level × kind: every key of VIOLATION_KEYS, 0 included, and nothing else. */
export function countViolations(violations: readonly Violation[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(VIOLATION_KEYS.map((key) => [key, 0]));
  for (const v of violations) {
    const key = violationKey(VIOLATION_LEVEL.of(v.level), VIOLATION_KIND.of(v.kind));
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * Task counts by status (every known status and `other`, 0 included) and token use; "current month" is the
 * calendar month (UTC) of task creation.
 */
export function neoUsage(tasks: readonly NeoTaskItem[], now: Date): NeoUsage {
  const tasksByStatus: Record<NeoTaskStatusLabel, number> = zeros(NEO_TASK_STATUS.values);
  let tokensTotal = 0;
  let tokensCurrentMonth = 0;
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  for (const task of tasks) {
    tasksByStatus[NEO_TASK_STATUS.of(task.status)]++;
    const tokens = task.tokensUsed ?? 0;
    tokensTotal += tokens;
    const created = new Date(task.createdAt);
    if (created.getUTCFullYear() === year && created.getUTCMonth() === month) tokensCurrentMonth += tokens;
  }
  return { tasksByStatus, tokensCurrentMonth, tokensTotal };
}

/**
 * The unknown values in freshly read org values, as the `other` counts show them. Only the deployment list can
 * give an unknown status: the metadata endpoint answers with one field per known status.
 */
export function unknownOrgValues(values: Partial<OrgValues>): UnknownValues[] {
  const out: UnknownValues[] = [];
  if (values.violations) {
    let level = 0;
    let kind = 0;
    for (const [key, count] of Object.entries(values.violations)) {
      if (key.startsWith(`${OTHER}|`)) level += count;
      if (key.endsWith(`|${OTHER}`)) kind += count;
    }
    out.push(
      { operation: "ListPolicyViolationsV2", field: "level", count: level },
      { operation: "ListPolicyViolationsV2", field: "kind", count: kind },
    );
  }
  if (values.neo) {
    out.push({ operation: "ListTasks", field: "status", count: values.neo.tasksByStatus[OTHER] ?? 0 });
  }
  if (values.deployments) {
    out.push({ operation: "ListOrgDeployments", field: "status", count: values.deployments[OTHER] ?? 0 });
  }
  return out.filter((u) => u.count > 0);
}
