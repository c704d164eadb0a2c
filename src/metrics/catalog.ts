/**
 * Every metric the exporter emits, defined once. Instruments, the Prometheus endpoint, the preview page and the
 * README's metrics table all read this catalog.
 */
import { TOKEN_EXPIRY } from "../collect/label-values.ts";
import { AGENT_STATUSES, type AgentPoolsState } from "../collect/sources/agent-pools.ts";
import type { DriftState } from "../collect/sources/drift.ts";
import type { PlanState } from "../collect/sources/plan.ts";
import type { TokensState } from "../collect/sources/tokens.ts";
import type { GaugeRecorder } from "./recorder.ts";

export type MetricKind = "gauge" | "counter" | "histogram";

export interface MetricDefinition {
  readonly name: string;
  readonly kind: MetricKind;
  /** Integer metrics are exported as OTLP `asInt`, the rest as `asDouble`. */
  readonly valueType: "int" | "double";
  /** UCUM unit. Only where Prometheus' OTLP translation would not add a suffix the name lacks. */
  readonly unit?: string;
  readonly description: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
  /**
   * What `--metrics.disable` switches off with it; the exporter's own metrics cannot be. The families are the
   * names used here (src/families.ts).
   */
  readonly family: string;
  /**
   * A state gauge (1 while a state lasts): when its series ends it is reported as 0 for a while before it is
   * dropped, because push backends keep a vanished series' last value for minutes (see `ENDED_STATE_HOLD_MS`).
   */
  readonly endsAtZero?: true;
}

const STACK = ["org", "project", "stack"] as const;
const ORG = ["org"] as const;

/** Update durations in seconds: a refresh takes seconds, a large update half an hour. */
export const UPDATE_DURATION_BUCKETS = [5, 10, 30, 60, 120, 300, 600, 1800] as const;

/** Deployment durations in seconds: a preview takes under a minute, a large update an hour. */
export const DEPLOYMENT_DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600] as const;
/** Deployment queue waits in seconds: a free runner picks a deployment up in seconds, a saturated pool in minutes. */
export const DEPLOYMENT_QUEUE_WAIT_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800] as const;

export const CATALOG = {
  stackResourceCount: {
    name: "pulumi_stack_resource_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of resources in a Pulumi stack",
    labels: STACK,
    family: "stacks",
  },
  stackLastUpdateTimestamp: {
    name: "pulumi_stack_last_update_timestamp",
    kind: "gauge",
    valueType: "double",
    description:
      "Unix time (seconds) at which the latest completed update of the stack ended; the start of the latest update while none has completed",
    labels: STACK,
    family: "stacks",
  },
  stackUpdateInProgress: {
    name: "pulumi_stack_update_in_progress",
    kind: "gauge",
    valueType: "int",
    description:
      "1 while an update of this kind is running on the stack; 0 for 5 minutes after it ends, then the series is dropped",
    labels: [...STACK, "kind"],
    family: "stacks",
    endsAtZero: true,
  },
  updateTotal: {
    name: "pulumi_update_total",
    kind: "counter",
    valueType: "int",
    description: "Pulumi stack updates that reached a terminal result, counted once when they finish",
    labels: [...STACK, "kind", "result"],
    family: "updates",
  },
  updateDuration: {
    name: "pulumi_update_duration_seconds",
    kind: "histogram",
    valueType: "double",
    unit: "s",
    description: "Duration of finished Pulumi stack updates in seconds",
    labels: [...STACK, "kind", "result"],
    buckets: UPDATE_DURATION_BUCKETS,
    family: "updates",
  },
  updateResourceChanges: {
    name: "pulumi_update_resource_changes",
    kind: "counter",
    valueType: "int",
    description: "Resource changes of finished Pulumi updates, by operation",
    labels: [...STACK, "kind", "operation"],
    family: "updates",
  },
  deploymentStatus: {
    name: "pulumi_deployment_status",
    kind: "gauge",
    valueType: "int",
    description: "Number of Pulumi Deployments by status (every status reported, 0 included)",
    labels: ["org", "status"],
    family: "deployments",
  },
  deploymentsTotal: {
    name: "pulumi_deployments_total",
    kind: "counter",
    valueType: "int",
    description:
      "Deployments that reached a terminal status (`succeeded`, `failed`, `skipped`), counted once each",
    labels: ["org", "operation", "result", "agent_pool"],
    family: "deployments",
  },
  deploymentDuration: {
    name: "pulumi_deployment_duration_seconds",
    kind: "histogram",
    valueType: "double",
    unit: "s",
    description:
      "First job `started` to last job `lastUpdated`, observed once at the terminal status (no observation for a deployment without jobs)",
    labels: ["org", "operation", "result", "agent_pool"],
    buckets: DEPLOYMENT_DURATION_BUCKETS,
    family: "deployments",
  },
  deploymentQueueWait: {
    name: "pulumi_deployment_queue_wait_seconds",
    kind: "histogram",
    valueType: "double",
    unit: "s",
    description: "`created` to the first job's `started`, observed once, when the first job is seen started",
    labels: ["org", "operation", "agent_pool"],
    buckets: DEPLOYMENT_QUEUE_WAIT_BUCKETS,
    family: "deployments",
  },
  orgDeploymentConcurrencyLimit: {
    name: "pulumi_org_deployment_concurrency_limit",
    kind: "gauge",
    valueType: "int",
    description: "`concurrency` of the deployments metadata",
    labels: ORG,
    family: "deployments",
  },
  orgDeploymentsPaused: {
    name: "pulumi_org_deployments_paused",
    kind: "gauge",
    valueType: "int",
    description: "1 when deployments are paused for the organization, else 0",
    labels: ORG,
    family: "deployments",
  },
  orgMemberCount: {
    name: "pulumi_org_member_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of members in a Pulumi organization",
    labels: ORG,
    family: "org",
  },
  orgTeamCount: {
    name: "pulumi_org_team_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of teams in a Pulumi organization",
    labels: ORG,
    family: "org",
  },
  orgEnvironmentCount: {
    name: "pulumi_org_environment_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of ESC environments in a Pulumi organization",
    labels: ORG,
    family: "esc",
  },
  orgPolicyGroupCount: {
    name: "pulumi_org_policy_group_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of policy groups in a Pulumi organization",
    labels: ORG,
    family: "policy",
  },
  orgPolicyPackCount: {
    name: "pulumi_org_policy_pack_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of policy packs in a Pulumi organization",
    labels: ORG,
    family: "policy",
  },
  orgPolicyViolations: {
    name: "pulumi_org_policy_violations",
    kind: "gauge",
    valueType: "int",
    description:
      "Number of policy violations by level and kind (every known combination reported, 0 included)",
    labels: ["org", "level", "kind"],
    family: "policy",
  },
  orgPolicyTotal: {
    name: "pulumi_org_policy_total",
    kind: "gauge",
    valueType: "int",
    description: "Total number of policies in a Pulumi organization",
    labels: ORG,
    family: "policy",
  },
  orgPolicyWithIssues: {
    name: "pulumi_org_policy_with_issues",
    kind: "gauge",
    valueType: "int",
    description: "Number of policies with issues in a Pulumi organization",
    labels: ORG,
    family: "policy",
  },
  orgGovernedResourcesTotal: {
    name: "pulumi_org_governed_resources_total",
    kind: "gauge",
    valueType: "int",
    description: "Total number of resources governed by policies in a Pulumi organization",
    labels: ORG,
    family: "policy",
  },
  orgGovernedResourcesWithIssues: {
    name: "pulumi_org_governed_resources_with_issues",
    kind: "gauge",
    valueType: "int",
    description: "Number of governed resources with issues in a Pulumi organization",
    labels: ORG,
    family: "policy",
  },
  orgNeoTaskCount: {
    name: "pulumi_org_neo_task_count",
    kind: "gauge",
    valueType: "int",
    description: "Number of Pulumi Neo tasks by status (every known status reported, 0 included)",
    labels: ["org", "status"],
    family: "neo",
  },
  orgNeoTokensUsedCurrentMonth: {
    name: "pulumi_org_neo_tokens_used_current_month",
    kind: "gauge",
    valueType: "int",
    description: "Neo tokens used by tasks created in the current calendar month (UTC)",
    labels: ORG,
    family: "neo",
  },
  orgNeoTokensUsedTotal: {
    name: "pulumi_org_neo_tokens_used_total",
    kind: "gauge",
    valueType: "int",
    description: "Neo tokens used by all tasks of the organization (lifetime)",
    labels: ORG,
    family: "neo",
  },
  orgNeoTokenBudgetConsumed: {
    name: "pulumi_org_neo_token_budget_consumed",
    kind: "gauge",
    valueType: "int",
    description: "Neo tokens consumed in the current budget window (absent when the org has no budget)",
    labels: ORG,
    family: "neo",
  },
  orgNeoTokenBudgetAllowance: {
    name: "pulumi_org_neo_token_budget_allowance",
    kind: "gauge",
    valueType: "int",
    description: "Effective Neo token allowance of the current budget window (base plus any active bonus)",
    labels: ORG,
    family: "neo",
  },
  orgNeoTokenBudgetExhausted: {
    name: "pulumi_org_neo_token_budget_exhausted",
    kind: "gauge",
    valueType: "int",
    description:
      "1 when the Neo token budget of the current window is exhausted, else 0; 0 for 5 minutes after the budget goes away, then the series is dropped",
    labels: ORG,
    family: "neo",
    endsAtZero: true,
  },
  agentPoolUp: {
    name: "pulumi_agent_pool_up",
    kind: "gauge",
    valueType: "int",
    description: "1 when the self-hosted deployment agent pool's status is online, else 0",
    labels: ["org", "pool"],
    family: "agent-pools",
  },
  agentPoolAgents: {
    name: "pulumi_agent_pool_agents",
    kind: "gauge",
    valueType: "int",
    description: "Agents of the pool by status (online, offline), 0 included",
    labels: ["org", "pool", "status"],
    family: "agent-pools",
  },
  agentPoolLastSeen: {
    name: "pulumi_agent_pool_last_seen_timestamp_seconds",
    kind: "gauge",
    valueType: "double",
    description: "Unix time (seconds) at which an agent of the pool last reported a heartbeat",
    labels: ["org", "pool"],
    family: "agent-pools",
  },
  orgStacks: {
    name: "pulumi_org_stacks",
    kind: "gauge",
    valueType: "int",
    description: "Stacks of the organization (all of them, not only those the token sees)",
    labels: ORG,
    family: "plan",
  },
  orgStacksLimit: {
    name: "pulumi_org_stacks_limit",
    kind: "gauge",
    valueType: "int",
    description: "Most stacks the organization's plan allows; absent when it sets no limit",
    labels: ORG,
    family: "plan",
  },
  orgMembersLimit: {
    name: "pulumi_org_members_limit",
    kind: "gauge",
    valueType: "int",
    description: "Most members the organization's plan allows; absent when it sets no limit",
    labels: ORG,
    family: "plan",
  },
  orgSubscriptionPeriodEnd: {
    name: "pulumi_org_subscription_period_end_timestamp_seconds",
    kind: "gauge",
    valueType: "double",
    description:
      "Unix time (seconds) at which the current subscription or license period ends; absent when unset",
    labels: ORG,
    family: "plan",
  },
  orgInfo: {
    name: "pulumi_org_info",
    kind: "gauge",
    valueType: "int",
    description: "Always 1: the organization's product and subscription status (empty where unset)",
    labels: ["org", "product", "subscription_status"],
    family: "plan",
  },
  orgAccessTokens: {
    name: "pulumi_org_access_tokens",
    kind: "gauge",
    valueType: "int",
    description:
      "Organization access tokens by expiry (never, expired, within_7d, within_30d, later), 0 included, as of the hourly read",
    labels: ["org", "expiry"],
    family: "tokens",
  },
  exporterAccessTokenExpiry: {
    name: "pulumi_exporter_access_token_expiry_timestamp_seconds",
    kind: "gauge",
    valueType: "double",
    description:
      "Unix time (seconds) at which the exporter's own access token expires; absent when it never expires or cannot be seen",
    labels: [],
    family: "tokens",
  },
  stackDriftDetected: {
    name: "pulumi_stack_drift_detected",
    kind: "gauge",
    valueType: "int",
    description:
      "1 when the stack's latest drift detection found drift, 0 when it found none; only stacks that have had a drift run",
    labels: STACK,
    family: "drift",
  },
  exporterUp: {
    name: "pulumi_exporter_up",
    kind: "gauge",
    valueType: "int",
    description: "1 when the last collection cycle listed the stacks of every configured organization",
    labels: [],
    family: "exporter",
  },
  exporterOrgUp: {
    name: "pulumi_exporter_org_up",
    kind: "gauge",
    valueType: "int",
    description:
      "1 when the last collection cycle listed the organization's stacks, else 0; one series per configured organization",
    labels: ORG,
    family: "exporter",
  },
  exporterCollectDuration: {
    name: "pulumi_exporter_collect_duration_seconds",
    kind: "gauge",
    valueType: "double",
    description: "Wall time of the last collection cycle in seconds",
    labels: [],
    family: "exporter",
  },
  exporterLastSuccess: {
    name: "pulumi_exporter_last_success_timestamp_seconds",
    kind: "gauge",
    valueType: "double",
    description: "Unix time (seconds) at which the last fully successful collection cycle ended",
    labels: [],
    family: "exporter",
  },
  exporterApiRequests: {
    name: "pulumi_exporter_api_requests_total",
    kind: "counter",
    valueType: "int",
    description:
      "Pulumi Cloud API requests (each attempt) by operation and HTTP status code (error/timeout without one)",
    labels: ["operation", "code"],
    family: "exporter",
  },
  exporterApiRequestDuration: {
    name: "pulumi_exporter_api_request_duration_seconds",
    kind: "histogram",
    valueType: "double",
    unit: "s",
    description: "Latency of Pulumi Cloud API requests in seconds",
    labels: ["operation"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    family: "exporter",
  },
  exporterApiRetries: {
    name: "pulumi_exporter_api_retries_total",
    kind: "counter",
    valueType: "int",
    description: "Retried Pulumi Cloud API requests by operation",
    labels: ["operation"],
    family: "exporter",
  },
  exporterItemsDropped: {
    name: "pulumi_exporter_items_dropped_total",
    kind: "counter",
    valueType: "int",
    description: "Items of Pulumi Cloud API responses skipped because they failed validation, by operation",
    labels: ["operation"],
    family: "exporter",
  },
  exporterCollectErrors: {
    name: "pulumi_exporter_collect_errors_total",
    kind: "counter",
    valueType: "int",
    description:
      "Failed collection steps (after retries) by operation and organization; the previous values are kept",
    labels: ["operation", "org"],
    family: "exporter",
  },
  exporterUnknownValues: {
    name: "pulumi_exporter_unknown_values_total",
    kind: "counter",
    valueType: "int",
    description:
      "API values the spec does not list (violation level or kind, Neo task or deployment status, update kind, resource operation), reported as `other`; by operation and API field, on every read of an org endpoint and once per counted update",
    labels: ["operation", "field"],
    family: "exporter",
  },
  exporterExportFailures: {
    name: "pulumi_exporter_export_failures_total",
    kind: "counter",
    valueType: "int",
    description: "Failed OTLP exports",
    labels: [],
    family: "exporter",
  },
  exporterExportCollectionErrors: {
    name: "pulumi_exporter_export_collection_errors_total",
    kind: "counter",
    valueType: "int",
    description:
      "Errors raised while collecting the metrics of an OTLP export (a failing metric producer or callback), logged once per streak; the export carries what was collected, nothing when collecting failed as a whole",
    labels: [],
    family: "exporter",
  },
  exporterWebhooksReceived: {
    name: "pulumi_exporter_webhooks_received_total",
    kind: "counter",
    valueType: "int",
    description:
      "Pulumi Cloud webhook deliveries by event kind (stack, stack_update, stack_preview, deployment, drift_detection, drift_remediation, other) and outcome (accepted, duplicate, bad_signature, malformed, unsupported, too_large); an event of an organization that is not configured is accepted and triggers no read",
    labels: ["kind", "outcome"],
    family: "exporter",
  },
  exporterBuildInfo: {
    name: "pulumi_exporter_build_info",
    kind: "gauge",
    valueType: "int",
    description: "Always 1; labels carry the exporter's version and revision",
    labels: ["version", "revision"],
    family: "exporter",
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricId = keyof typeof CATALOG;

/** The label names of a metric, as the catalog declares them. */
export type LabelName<Id extends MetricId> = (typeof CATALOG)[Id]["labels"][number];

/**
 * A point's labels: exactly the catalog's label names, each a string. A recording with a label missing does not
 * compile, nor one that names a label the catalog does not declare.
 */
export type LabelsOf<Id extends MetricId> = { readonly [K in LabelName<Id>]: string };

export const METRICS: readonly MetricDefinition[] = Object.values(CATALOG);

/**
 * The gauges of the organization sources whose state is their values (src/collect/sources/), beside the entries
 * above: for each source by name, its points from every organization's state of it. A new family's readings are
 * one entry here, through the typed recorder (a point with a missing or extra label does not compile).
 */
export const SOURCE_READINGS: { readonly [source: string]: SourceReading } = {
  "agent-pools": reading<AgentPoolsState>((add, states) => {
    for (const [org, { pools }] of states) {
      for (const pool of pools) {
        const attrs = { org, pool: pool.name };
        add("agentPoolUp", attrs, pool.online ? 1 : 0);
        for (const status of AGENT_STATUSES)
          add("agentPoolAgents", { ...attrs, status }, pool.agents[status]);
        add("agentPoolLastSeen", attrs, pool.lastSeen);
      }
    }
  }),
  plan: reading<PlanState>((add, states) => {
    for (const [org, plan] of states) {
      add("orgStacks", { org }, plan.stacks);
      add("orgStacksLimit", { org }, plan.stacksLimit);
      add("orgMembersLimit", { org }, plan.membersLimit);
      add("orgSubscriptionPeriodEnd", { org }, plan.periodEnd);
      add("orgInfo", { org, product: plan.product, subscription_status: plan.subscriptionStatus }, 1);
    }
  }),
  tokens: reading<TokensState>((add, states) => {
    // One token, one series: the first organization (by name) whose read found it.
    let exporterExpires: number | undefined;
    for (const [org, read] of [...states].sort(([a], [b]) => a.localeCompare(b))) {
      if ("offUntilMs" in read) continue;
      for (const expiry of TOKEN_EXPIRY) add("orgAccessTokens", { org, expiry }, read.counts[expiry]);
      exporterExpires ??= read.exporterExpires;
    }
    add("exporterAccessTokenExpiry", {}, exporterExpires);
  }),
  drift: reading<DriftState>((add, states) => {
    for (const [org, { stacks }] of states) {
      for (const s of stacks.values()) {
        if (s.drifted !== undefined)
          add("stackDriftDetected", { org, project: s.project, stack: s.stack }, s.drifted ? 1 : 0);
      }
    }
  }),
};

/** A source's readings: its state in each organization (the source sets its type), recorded with `add`. */
export type SourceReading = (add: GaugeRecorder["add"], states: ReadonlyMap<string, unknown>) => void;

function reading<S>(
  read: (add: GaugeRecorder["add"], states: ReadonlyMap<string, S>) => void,
): SourceReading {
  // The collector keeps each source's state as that source made it: `S` is its type.
  return read as SourceReading;
}

/**
 * The name a metric gets in Prometheus, the same whether it arrives through Prometheus' OTLP translation or our
 * own `/metrics`: counters end in `_total`; units are already part of the names above.
 */
export function prometheusName(definition: MetricDefinition): string {
  if (definition.kind === "counter" && !definition.name.endsWith("_total")) return `${definition.name}_total`;
  return definition.name;
}

/** The README's metrics table. */
export function renderMetricsTable(): string {
  const rows = METRICS.map((m) => {
    const type = m.kind === "histogram" ? `histogram (${m.buckets?.join(", ")})` : m.kind;
    const labels = m.labels.length > 0 ? m.labels.map((l) => `\`${l}\``).join(", ") : "—";
    const prom = prometheusName(m) === m.name ? "" : ` (Prometheus: \`${prometheusName(m)}\`)`;
    return `| \`${m.name}\`${prom} | ${type} | ${m.unit ?? ""} | ${labels} | ${m.description} |`;
  });
  return ["| Metric | Type | Unit | Labels | Description |", "|---|---|---|---|---|", ...rows].join("\n");
}
