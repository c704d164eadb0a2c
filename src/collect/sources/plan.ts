/** The organization's plan and its limits (`GetOrganizationMetadata`), on the organization cadence. */

import type { OrgMetadata } from "../../pulumi/api.ts";
import { PLAN_PRODUCT, SUBSCRIPTION_STATUS, type UnknownValues } from "../label-values.ts";
import type { OrgSource, StateCodec } from "../source.ts";
import { type DropTally, describeValue, isCount, isRecord, type Raw } from "../state-check.ts";

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

/** An optional count: absent stays absent; a bad value is dropped alone (noted). */
function optionalCount(raw: Raw, field: string, where: string, tally: DropTally): number | undefined {
  const value = raw[field];
  if (value === undefined || isCount(value)) return value;
  tally.note("values", `${where}.${field} must be a non-negative safe integer (was ${describeValue(value)})`);
  return undefined;
}

/** A bounded label value, or "" (unset); anything else is dropped to "" (noted). */
function boundedLabel(raw: Raw, field: string, known: readonly string[], where: string, tally: DropTally) {
  const value = raw[field];
  if (value === "" || (typeof value === "string" && known.includes(value))) return value;
  tally.note("values", `${where}.${field} must be one of the bounded label values`);
  return "";
}

/** The plan crosses a restart with its organization cadence, so a restart does not read it again at once. */
export const planCodec: StateCodec<PlanState> = {
  save: (state) => ({ ...state }),
  load(raw, where, tally) {
    if (!isRecord(raw) || !isCount(raw.stacks)) {
      tally.note("orgs", `${where}.stacks must be a non-negative safe integer`);
      return undefined;
    }
    return {
      stacks: raw.stacks,
      stacksLimit: optionalCount(raw, "stacksLimit", where, tally),
      membersLimit: optionalCount(raw, "membersLimit", where, tally),
      periodEnd: optionalCount(raw, "periodEnd", where, tally),
      product: boundedLabel(raw, "product", PLAN_PRODUCT.values, where, tally),
      subscriptionStatus: boundedLabel(raw, "subscriptionStatus", SUBSCRIPTION_STATUS.values, where, tally),
    };
  },
};

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
  persist: planCodec,
  run: async ({ api, org }) => planState(await api.getOrgMetadata(org)),
};
