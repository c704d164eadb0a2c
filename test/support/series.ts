/** Metric series as flat `name{label="value",...}` keys, the shape truth helpers and tests compare. */

/** Series by key `name{label="value",...}` (labels sorted). */
export type Series = Record<string, number>;

export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`);
  return `${name}{${parts.join(",")}}`;
}

/** The family of a series key: the name before `{`. */
export function familyOf(key: string): string {
  return key.slice(0, key.indexOf("{"));
}

export const STACK_GAUGES = [
  "pulumi_stack_resource_count",
  "pulumi_stack_last_update_timestamp",
  "pulumi_stack_update_in_progress",
] as const;

export const ORG_GAUGES = [
  "pulumi_deployment_status",
  "pulumi_org_member_count",
  "pulumi_org_team_count",
  "pulumi_org_environment_count",
  "pulumi_org_policy_group_count",
  "pulumi_org_policy_pack_count",
  "pulumi_org_policy_violations",
  "pulumi_org_policy_total",
  "pulumi_org_policy_with_issues",
  "pulumi_org_governed_resources_total",
  "pulumi_org_governed_resources_with_issues",
  "pulumi_org_neo_task_count",
  "pulumi_org_neo_tokens_used_current_month",
  "pulumi_org_neo_tokens_used_total",
  "pulumi_org_neo_token_budget_consumed",
  "pulumi_org_neo_token_budget_allowance",
  "pulumi_org_neo_token_budget_exhausted",
] as const;

/**
 * Without the update-in-progress series held at 0 after their update ended: the model's current state has only
 * running updates. `test/app/ended-states.test.ts` checks the held zeros themselves.
 */
export function withoutEndedStates(series: Series): Series {
  return Object.fromEntries(
    Object.entries(series).filter(
      ([key, value]) => !(value === 0 && familyOf(key) === "pulumi_stack_update_in_progress"),
    ),
  );
}
