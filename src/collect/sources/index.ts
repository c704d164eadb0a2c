/**
 * The source registry: everything the collector reads, declared as data. The stack listing and the stack histories
 * are run by the stack phase (src/collect/stack-phase.ts); every organization source by the organization phase
 * (src/collect/org-phase.ts). The README's calls table and the bench's per-source calls read these declarations.
 */
import type { Family } from "../../families.ts";
import type { Operation } from "../../pulumi/api.ts";
import type { Cadence, OrgSource } from "../source.ts";
import { agentPoolsSource } from "./agent-pools.ts";
import { deploymentRunsSource } from "./deployments.ts";
import { driftSource } from "./drift.ts";
import { INVENTORY_SOURCES } from "./org-inventory.ts";
import { planSource } from "./plan.ts";
import { tokensSource } from "./tokens.ts";

/** A source the stack phase runs. It runs while any of its families is enabled. */
export interface StackSourceDeclaration {
  readonly name: string;
  readonly scope: "org" | "stack";
  readonly families: readonly [Family, ...Family[]];
  readonly operations: readonly [Operation, ...Operation[]];
  readonly cadence: Cadence;
  readonly feeds: readonly string[];
  /** Its API calls, as the README's calls table states them. */
  readonly calls: string;
}

/**
 * One listing per organization per cycle: what exists, resource counts, and which stacks changed. It runs for the
 * families of every organization source that needs it (`needs.listing`), too.
 */
export const STACK_LIST_SOURCE: StackSourceDeclaration = {
  name: "stack-list",
  scope: "org",
  families: ["stacks", "updates", "drift"],
  operations: ["ListUserStacks"],
  cadence: "cycle",
  feeds: ["pulumi_stack_resource_count"],
  calls: "1 per 500 stacks (the service's page)",
};

/**
 * The update history of each stack whose listing changed (or with an update running), and its resource count when
 * the listing lacks it. Feeds both families: the stack gauges and the update counters come from the same pages.
 */
export const STACK_HISTORY_SOURCE: StackSourceDeclaration = {
  name: "stack-history",
  scope: "stack",
  families: ["stacks", "updates"],
  operations: ["GetStackUpdates", "GetStackResourceCount"],
  cadence: "cycle",
  feeds: [
    "pulumi_stack_resource_count",
    "pulumi_stack_last_update_timestamp",
    "pulumi_stack_update_in_progress",
    "pulumi_update_total",
    "pulumi_update_duration_seconds",
    "pulumi_update_resource_changes",
  ],
  calls:
    "1 per stack that is new or whose `lastUpdate` changed; a stack with an update running again 2 intervals after it was seen running, then each time one interval later up to `--pulumi.running-update-max-gap` (3 at the defaults), or at once when its listed resource count moves (with webhooks: once per `--webhook.reconcile-interval` while running, + 1 per update event); more pages only after a long gap; the resource count is the listing's",
};

export const STACK_SOURCES: readonly StackSourceDeclaration[] = [STACK_LIST_SOURCE, STACK_HISTORY_SOURCE];

/** A source of any state and event types (its methods take them bivariantly, so every source is one). */
export type AnyOrgSource = OrgSource<unknown, unknown>;

/** Every organization source, in the order its calls are queued. */
export const ORG_SOURCES: readonly AnyOrgSource[] = [
  ...INVENTORY_SOURCES,
  deploymentRunsSource,
  driftSource,
  agentPoolsSource,
  planSource,
  tokensSource,
];

/** Whether a stack source runs: while any of its families is enabled. */
export function stackSourceEnabled(source: StackSourceDeclaration, disabled: ReadonlySet<Family>): boolean {
  return source.families.some((family) => !disabled.has(family));
}

export function enabledOrgSources(disabled: ReadonlySet<Family>): readonly AnyOrgSource[] {
  return ORG_SOURCES.filter((source) => !disabled.has(source.family));
}

function cadenceText(cadence: Cadence): string {
  if (cadence === "cycle") return "every cycle";
  if (cadence === "org") return "every `--pulumi.org-interval`";
  const minutes = cadence.everyMs / 60_000;
  return minutes % 60 === 0 ? `every ${minutes / 60} h` : `every ${minutes} min`;
}

/** The README's table of sources: what each reads, how often, and what it costs. */
export function renderSourcesTable(): string {
  const rows = [...STACK_SOURCES, ...ORG_SOURCES].map((source) => {
    const families = "families" in source ? source.families : [source.family];
    const operations = source.operations.map((o) => `\`${o}\``).join(", ");
    const scope = source.scope === "org" ? "organization" : "stack";
    return `| \`${source.name}\` | ${families.join(", ")} | ${scope} | ${cadenceText(source.cadence)} | ${operations} | ${source.calls} |`;
  });
  return [
    "| Source | Families | Scope | Read | Operations | Calls |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
