/** The organization's plan and its limits (`GetOrganizationMetadata`), on the organization cadence. */

import type { OrgMetadata } from "../../pulumi/api.ts";
import { PLAN_PRODUCT, SUBSCRIPTION_STATUS, type UnknownValues } from "../label-values.ts";
import type { OrgSource } from "../source.ts";

export interface PlanState {
  readonly stacks: number;
  readonly stacksLimit: number | undefined;
  readonly membersLimit: number | undefined;
  /** Unix seconds; undefined when unset or not a date. */
  readonly periodEnd: number | undefined;
  /** Bounded label values; "" when unset. */
  readonly product: string;
  readonly subscriptionStatus: string;
}

function unixSeconds(rfc3339: string | undefined): number | undefined {
  if (rfc3339 === undefined) return undefined;
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function planState(m: OrgMetadata): { state: PlanState; unknown: UnknownValues[] } {
  const unknown: UnknownValues[] = [];
  const bounded = (field: string, value: string | undefined, of: (v: string) => string): string => {
    if (value === undefined || value === "") return "";
    const label = of(value);
    if (label !== value) unknown.push({ operation: "GetOrganizationMetadata", field, count: 1 });
    return label;
  };
  return {
    state: {
      stacks: m.stackCount,
      stacksLimit: m.maxStacks,
      membersLimit: m.maxMembers,
      periodEnd: unixSeconds(m.subscriptionPeriodEnd),
      product: bounded("product", m.product, PLAN_PRODUCT.of),
      subscriptionStatus: bounded("subscriptionStatus", m.subscriptionStatus, SUBSCRIPTION_STATUS.of),
    },
    unknown,
  };
}

export const planSource: OrgSource<PlanState, never> = {
  name: "plan",
  scope: "org",
  family: "plan",
  operations: ["GetOrganizationMetadata"],
  cadence: "org",
  calls: "1 per org",
  feeds: [
    "pulumi_org_stacks",
    "pulumi_org_stacks_limit",
    "pulumi_org_members_limit",
    "pulumi_org_subscription_period_end_timestamp_seconds",
    "pulumi_org_info",
  ],
  run: async ({ api, org }) => planState(await api.getOrgMetadata(org)),
};
