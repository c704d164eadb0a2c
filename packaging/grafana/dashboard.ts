/**
 * The Grafana dashboard of the fleet, as code: rows of panels laid out on Grafana's 24-column grid
 * (packaging/grafana/grafana.ts), and its per-stack drill-down (packaging/grafana/stack-dashboard.ts).
 *
 *   bun packaging/grafana/dashboard.ts            writes both into deploy/docker-compose/grafana/dashboards/
 *   bun packaging/grafana/dashboard.ts --check    fails when either file differs from what this script writes
 *
 * Queries use the names metrics have in Prometheus (counters end in `_total`, histograms have `_bucket`, `_sum`
 * and `_count`) and only functions Prometheus 2.42 already has.
 */
import { join } from "node:path";
import {
  DATASOURCE_VARIABLE,
  dashboardJson,
  FLEET_UID,
  JOB_VARIABLE,
  type PanelSpec,
  type Query,
  queriesOf,
  type RowSpec,
  render,
  STACK_UID,
  series,
  stat,
  UPDATE_WINDOW,
  variable,
  writeOrCheck,
} from "./grafana.ts";
import { renderStackDashboard, STACK_DASHBOARD_PATH } from "./stack-dashboard.ts";

export type { PanelSpec, Query, RowSpec };

export const DASHBOARD_PATH = join(
  import.meta.dir,
  "../../deploy/docker-compose/grafana/dashboards/pulumi-exporter.json",
);

/** Label matchers of every query: the exporter instance (`job`) and, for organization metrics, `$org`. */
const EXP = 'job=~"$job"';
const SEL = 'job=~"$job", org=~"$org"';

const UP_DOWN = [
  { value: "0", text: "DOWN", color: "red" },
  { value: "1", text: "UP", color: "green" },
];

export const ROWS: readonly RowSpec[] = [
  {
    title: "Stacks",
    panels: [
      stat("Stacks", "Stacks in the selected organizations", `count(pulumi_stack_resource_count{${SEL}})`),
      stat("Resources", "Resources in all selected stacks", `sum(pulumi_stack_resource_count{${SEL}})`),
      stat(
        "Updates in progress",
        "Updates running right now, of any kind",
        `sum(pulumi_stack_update_in_progress{${SEL}})`,
        { alerts: ["PulumiStackUpdateRunningLong"] },
      ),
      stat(
        "Oldest last update",
        "Time since the least recently updated stack's latest update ended",
        `time() - min(pulumi_stack_last_update_timestamp{${SEL}})`,
        { unit: "s" },
      ),
      {
        title: "Updates in progress by kind",
        description: "Running updates (update, preview, refresh, destroy, ...) per kind",
        type: "bargauge",
        queries: [
          {
            expr: `sum by (kind) (pulumi_stack_update_in_progress{${SEL}})`,
            legend: "{{kind}}",
            instant: true,
          },
        ],
        width: 8,
        height: 4,
      },
      {
        title: "Largest stacks",
        description: "The 20 stacks with the most resources",
        type: "table",
        queries: [
          {
            expr: `topk(20, max by (org, project, stack) (pulumi_stack_resource_count{${SEL}}))`,
            instant: true,
          },
        ],
        width: 12,
        height: 9,
        stackLinks: true,
      },
      {
        title: "Least recently updated stacks",
        description: "Days since each stack's latest update ended, most stale first",
        type: "table",
        queries: [
          {
            expr: `topk(20, (time() - max by (org, project, stack) (pulumi_stack_last_update_timestamp{${SEL}})) / 86400)`,
            instant: true,
          },
        ],
        unit: "d",
        width: 12,
        height: 9,
        alerts: ["PulumiStackNotUpdated"],
        stackLinks: true,
      },
    ],
  },
  {
    title: "Updates",
    panels: [
      series(
        "Updates per hour by result and kind",
        "Finished updates, counted once when they reach a terminal result",
        [
          {
            expr: `sum by (result, kind) (rate(pulumi_update_total{${SEL}}[${UPDATE_WINDOW}])) * 3600`,
            legend: "{{kind}} {{result}}",
          },
        ],
        { stacked: true, alerts: ["PulumiStackUpdatesFailing"] },
      ),
      series(
        "Update duration",
        "Quantiles and mean of finished updates' durations",
        [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(pulumi_update_duration_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(pulumi_update_duration_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "p95",
          },
          {
            expr: `sum(rate(pulumi_update_duration_seconds_sum{${SEL}}[${UPDATE_WINDOW}])) / sum(rate(pulumi_update_duration_seconds_count{${SEL}}[${UPDATE_WINDOW}]))`,
            legend: "mean",
          },
        ],
        { unit: "s" },
      ),
      series(
        "p95 update duration by kind",
        "95th percentile of finished updates' durations per kind",
        [
          {
            expr: `histogram_quantile(0.95, sum by (kind, le) (rate(pulumi_update_duration_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "{{kind}}",
          },
        ],
        { unit: "s" },
      ),
      series(
        "Resource changes per hour by operation",
        "Resources created, updated, deleted, replaced, ... by finished updates",
        [
          {
            expr: `sum by (operation) (rate(pulumi_update_resource_changes_total{${SEL}}[${UPDATE_WINDOW}])) * 3600`,
            legend: "{{operation}}",
          },
        ],
        { stacked: true },
      ),
      {
        title: "Updates by stack in the time range",
        description: "Finished updates per stack and result over the dashboard's time range",
        type: "table",
        queries: [
          {
            expr: `sort_desc(sum by (org, project, stack, result) (increase(pulumi_update_total{${SEL}}[$__range])))`,
            instant: true,
          },
        ],
        width: 24,
        height: 8,
        alerts: ["PulumiStackUpdatesFailing"],
        stackLinks: true,
      },
    ],
  },
  {
    title: "Deployments",
    panels: [
      series(
        "Deployments by status",
        "Pulumi Deployments per status; every status is reported, 0 included",
        [{ expr: `sum by (status) (pulumi_deployment_status{${SEL}})`, legend: "{{status}}" }],
        { width: 16 },
      ),
      {
        title: "Deployments now",
        description: "Current number of deployments per status",
        type: "bargauge",
        queries: [
          { expr: `sum by (status) (pulumi_deployment_status{${SEL}})`, legend: "{{status}}", instant: true },
        ],
        width: 8,
        height: 8,
      },
      series(
        "Deployments per hour by result",
        "Deployments that reached a terminal status, counted once each",
        [
          {
            expr: `sum by (result) (rate(pulumi_deployments_total{${SEL}}[${UPDATE_WINDOW}])) * 3600`,
            legend: "{{result}}",
          },
        ],
        { stacked: true, alerts: ["PulumiDeploymentsFailing"] },
      ),
      series(
        "Running deployments and the concurrency limit",
        "Deployments running now against the organizations' concurrency limit",
        [
          { expr: `sum(pulumi_deployment_status{${SEL}, status="running"})`, legend: "running" },
          { expr: `sum(pulumi_org_deployment_concurrency_limit{${SEL}})`, legend: "limit" },
        ],
      ),
      series(
        "Deployment duration",
        "Quantiles of finished deployments' durations (first job start to last job update)",
        [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(pulumi_deployment_duration_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(pulumi_deployment_duration_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "p95",
          },
        ],
        { unit: "s", width: 10 },
      ),
      series(
        "Deployment queue wait",
        "Quantiles of the time from a deployment's creation to its first job's start, by agent pool",
        [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(pulumi_deployment_queue_wait_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (agent_pool, le) (rate(pulumi_deployment_queue_wait_seconds_bucket{${SEL}}[${UPDATE_WINDOW}])))`,
            legend: "p95 {{agent_pool}}",
          },
        ],
        { unit: "s", width: 10, alerts: ["PulumiDeploymentQueueSlow"] },
      ),
      stat(
        "Deployments paused",
        "Organizations whose deployments are paused",
        `sum(pulumi_org_deployments_paused{${SEL}})`,
        {
          thresholds: [
            { value: null, color: "green" },
            { value: 1, color: "orange" },
          ],
          width: 4,
          height: 8,
          alerts: ["PulumiDeploymentsPaused"],
        },
      ),
    ],
  },
  {
    title: "Drift",
    panels: [
      stat(
        "Stacks with drift",
        "Stacks whose latest drift detection found drift",
        `sum(pulumi_stack_drift_detected{${SEL}})`,
        {
          thresholds: [
            { value: null, color: "green" },
            { value: 1, color: "orange" },
          ],
          height: 8,
          alerts: ["PulumiStackDriftDetected"],
        },
      ),
      stat(
        "Stacks checked for drift",
        "Stacks that have had a drift detection run (only those have the drift series)",
        `count(pulumi_stack_drift_detected{${SEL}})`,
        { height: 8 },
      ),
      series(
        "Stacks with drift by organization",
        "Stacks whose latest drift detection found drift, per organization",
        [{ expr: `sum by (org) (pulumi_stack_drift_detected{${SEL}})`, legend: "{{org}}" }],
        { width: 16, alerts: ["PulumiStackDriftDetected"] },
      ),
      {
        title: "Drifted stacks",
        description: "The stacks whose latest drift detection found drift",
        type: "table",
        queries: [
          {
            expr: `max by (org, project, stack) (pulumi_stack_drift_detected{${SEL}}) == 1`,
            instant: true,
          },
        ],
        width: 24,
        height: 8,
        alerts: ["PulumiStackDriftDetected"],
        stackLinks: true,
      },
    ],
  },
  {
    title: "Runners",
    panels: [
      {
        title: "Agent pools",
        description:
          "Each deployment agent pool: up (its status is online), agents online and offline, last seen",
        type: "table",
        queries: [
          { expr: `max by (org, pool) (pulumi_agent_pool_up{${SEL}})`, legend: "up", instant: true },
          {
            expr: `max by (org, pool) (pulumi_agent_pool_agents{${SEL}, status="online"})`,
            legend: "online",
            instant: true,
          },
          {
            expr: `max by (org, pool) (pulumi_agent_pool_agents{${SEL}, status="offline"})`,
            legend: "offline",
            instant: true,
          },
          {
            expr: `time() - max by (org, pool) (pulumi_agent_pool_last_seen_timestamp_seconds{${SEL}})`,
            legend: "seen ago (s)",
            instant: true,
          },
        ],
        width: 12,
        height: 8,
        alerts: ["PulumiAgentPoolDown", "PulumiAgentPoolNoOnlineAgents"],
      },
      series(
        "Online agents by pool",
        "Agents online per pool; a pool at 0 runs no deployment",
        [{ expr: `sum by (pool) (pulumi_agent_pool_agents{${SEL}, status="online"})`, legend: "{{pool}}" }],
        { width: 12, alerts: ["PulumiAgentPoolNoOnlineAgents"] },
      ),
    ],
  },
  {
    title: "Plan and tokens",
    panels: [
      series(
        "Stacks against the plan's limit",
        "The organization's stacks (all, not only those the token sees) and the plan's limit, when it sets one",
        [
          { expr: `sum by (org) (pulumi_org_stacks{${SEL}})`, legend: "{{org}} stacks" },
          { expr: `sum by (org) (pulumi_org_stacks_limit{${SEL}})`, legend: "{{org}} limit" },
        ],
        { width: 8, alerts: ["PulumiOrgStackLimitNear"] },
      ),
      series(
        "Members against the plan's limit",
        "Members and the plan's member limit, when it sets one",
        [
          { expr: `sum by (org) (pulumi_org_member_count{${SEL}})`, legend: "{{org}} members" },
          { expr: `sum by (org) (pulumi_org_members_limit{${SEL}})`, legend: "{{org}} limit" },
        ],
        { width: 8, alerts: ["PulumiOrgMemberLimitNear"] },
      ),
      {
        title: "Plan",
        description: "Product, subscription status and the end of the subscription period, per organization",
        type: "table",
        queries: [
          {
            expr: `max by (org, product, subscription_status) (pulumi_org_info{${SEL}})`,
            legend: "info",
            instant: true,
          },
          {
            expr: `max by (org) (pulumi_org_subscription_period_end_timestamp_seconds{${SEL}}) - time()`,
            legend: "period ends in (s)",
            instant: true,
          },
        ],
        width: 8,
        height: 8,
      },
      series(
        "Organization tokens by expiry",
        "The organization's access tokens by when they expire; every bucket reported, 0 included",
        [{ expr: `sum by (expiry) (pulumi_org_access_tokens{${SEL}})`, legend: "{{expiry}}" }],
        { stacked: true, width: 12, alerts: ["PulumiOrgAccessTokensExpiring"] },
      ),
      series(
        "The exporter's token expires in",
        "Time left on the exporter's own access token (absent for a token that never expires or a personal one)",
        [
          {
            expr: 'min(pulumi_exporter_access_token_expiry_timestamp_seconds{job=~"$job"}) - time()',
            legend: "expires in",
          },
        ],
        { unit: "s", width: 12, alerts: ["PulumiExporterTokenExpiringSoon"] },
      ),
    ],
  },
  {
    title: "Organization and policy",
    panels: [
      stat("Members", "Organization members", `sum(pulumi_org_member_count{${SEL}})`),
      stat("Teams", "Teams", `sum(pulumi_org_team_count{${SEL}})`),
      stat("ESC environments", "Pulumi ESC environments", `sum(pulumi_org_environment_count{${SEL}})`),
      stat("Policy groups", "Policy groups", `sum(pulumi_org_policy_group_count{${SEL}})`),
      stat("Policy packs", "Policy packs", `sum(pulumi_org_policy_pack_count{${SEL}})`),
      stat(
        "Policies with issues",
        "Policies with issues, of all policies",
        `sum(pulumi_org_policy_with_issues{${SEL}})`,
      ),
      series(
        "Policy violations by level and kind",
        "Open policy violations; every known level × kind is reported, 0 included",
        [
          {
            expr: `sum by (level, kind) (pulumi_org_policy_violations{${SEL}})`,
            legend: "{{level}} {{kind}}",
          },
        ],
        { stacked: true, width: 8 },
      ),
      series(
        "Policies",
        "All policies and those with issues",
        [
          { expr: `sum(pulumi_org_policy_total{${SEL}})`, legend: "total" },
          { expr: `sum(pulumi_org_policy_with_issues{${SEL}})`, legend: "with issues" },
        ],
        { width: 8 },
      ),
      series(
        "Governed resources",
        "Resources governed by policies, and those with issues",
        [
          { expr: `sum(pulumi_org_governed_resources_total{${SEL}})`, legend: "total" },
          { expr: `sum(pulumi_org_governed_resources_with_issues{${SEL}})`, legend: "with issues" },
        ],
        { width: 8 },
      ),
    ],
  },
  {
    title: "Neo",
    panels: [
      stat(
        "Tokens this month",
        "Neo tokens used by tasks created in the current calendar month (UTC)",
        `sum(pulumi_org_neo_tokens_used_current_month{${SEL}})`,
        { unit: "short" },
      ),
      stat(
        "Tokens, all time",
        "Neo tokens used by all tasks",
        `sum(pulumi_org_neo_tokens_used_total{${SEL}})`,
        { unit: "short" },
      ),
      stat(
        "Budget used",
        "Share of the current window's Neo token allowance consumed (organizations with a budget)",
        `sum(pulumi_org_neo_token_budget_consumed{${SEL}}) / sum(pulumi_org_neo_token_budget_allowance{${SEL}})`,
        {
          unit: "percentunit",
          thresholds: [
            { value: null, color: "green" },
            { value: 0.8, color: "orange" },
            { value: 1, color: "red" },
          ],
        },
      ),
      stat(
        "Budget exhausted",
        "Organizations whose Neo token budget of the current window is exhausted",
        `sum(pulumi_org_neo_token_budget_exhausted{${SEL}})`,
        {
          thresholds: [
            { value: null, color: "green" },
            { value: 1, color: "red" },
          ],
          alerts: ["PulumiNeoTokenBudgetExhausted"],
        },
      ),
      {
        title: "Tasks by status",
        description: "Neo tasks per status; every known status is reported, 0 included",
        type: "bargauge",
        queries: [
          {
            expr: `sum by (status) (pulumi_org_neo_task_count{${SEL}})`,
            legend: "{{status}}",
            instant: true,
          },
        ],
        width: 8,
        height: 4,
      },
      series(
        "Token budget by organization",
        "Tokens consumed in the current budget window against the window's allowance",
        [
          { expr: `max by (org) (pulumi_org_neo_token_budget_consumed{${SEL}})`, legend: "{{org}} consumed" },
          {
            expr: `max by (org) (pulumi_org_neo_token_budget_allowance{${SEL}})`,
            legend: "{{org}} allowance",
          },
        ],
        { unit: "short" },
      ),
      series(
        "Tokens used by organization",
        "Neo tokens used this month and in total",
        [
          {
            expr: `max by (org) (pulumi_org_neo_tokens_used_current_month{${SEL}})`,
            legend: "{{org}} this month",
          },
          { expr: `max by (org) (pulumi_org_neo_tokens_used_total{${SEL}})`, legend: "{{org}} total" },
        ],
        { unit: "short" },
      ),
    ],
  },
  {
    title: "Exporter",
    panels: [
      stat(
        "Up",
        "Whether the last collection listed the stacks of every organization",
        `min(pulumi_exporter_up{${EXP}})`,
        { mappings: UP_DOWN, alerts: ["PulumiExporterAbsent", "PulumiExporterCollectionFailing"] },
      ),
      stat(
        "Organizations listed",
        "Per organization: whether the last collection listed its stacks (see /readyz?verbose for why not)",
        `min by (org) (pulumi_exporter_org_up{${SEL}})`,
        { mappings: UP_DOWN },
      ),
      stat(
        "Since last success",
        "Time since the last fully successful collection cycle ended",
        `time() - max(pulumi_exporter_last_success_timestamp_seconds{${EXP}})`,
        { unit: "s", alerts: ["PulumiExporterNoSuccessfulCycle"] },
      ),
      stat(
        "Scraped",
        "Whether Prometheus scrapes the exporter's /metrics (`up`); a job pushed over OTLP only has no such series",
        `min(up{${EXP}})`,
        { mappings: UP_DOWN, noValue: "not scraped", alerts: ["PulumiExporterDown"] },
      ),
      {
        title: "Version",
        description: "Version and revision of the running exporters",
        type: "table",
        queries: [
          {
            expr: `max by (job, instance, version, revision) (pulumi_exporter_build_info{${EXP}})`,
            instant: true,
          },
        ],
        width: 8,
        height: 4,
      },
      series(
        "API requests by operation and status",
        "Pulumi Cloud API requests per second (every attempt), by operation and HTTP status code",
        [
          {
            expr: `sum by (operation, code) (rate(pulumi_exporter_api_requests_total{${EXP}}[$__rate_interval]))`,
            legend: "{{operation}} {{code}}",
          },
        ],
        { unit: "reqps", alerts: ["PulumiExporterApiRateLimited", "PulumiExporterApiErrors"] },
      ),
      series(
        "API latency p95 by operation",
        "95th percentile latency of Pulumi Cloud API requests",
        [
          {
            expr: `histogram_quantile(0.95, sum by (operation, le) (rate(pulumi_exporter_api_request_duration_seconds_bucket{${EXP}}[$__rate_interval])))`,
            legend: "{{operation}}",
          },
          {
            expr: `sum(rate(pulumi_exporter_api_request_duration_seconds_sum{${EXP}}[$__rate_interval])) / sum(rate(pulumi_exporter_api_request_duration_seconds_count{${EXP}}[$__rate_interval]))`,
            legend: "mean, all operations",
          },
        ],
        { unit: "s" },
      ),
      series(
        "Retries, dropped items and failed steps",
        "Retried API requests, response items skipped by validation, collection steps that failed after retries, API values outside the spec's lists (reported as other)",
        [
          {
            expr: `sum by (operation) (increase(pulumi_exporter_api_retries_total{${EXP}}[$__rate_interval]))`,
            legend: "retries {{operation}}",
          },
          {
            expr: `sum by (operation) (increase(pulumi_exporter_items_dropped_total{${EXP}}[$__rate_interval]))`,
            legend: "dropped {{operation}}",
          },
          {
            expr: `sum by (operation, org) (increase(pulumi_exporter_collect_errors_total{${EXP}}[$__rate_interval]))`,
            legend: "failed {{operation}} {{org}}",
          },
          {
            expr: `sum by (operation, field) (increase(pulumi_exporter_unknown_values_total{${EXP}}[$__rate_interval]))`,
            legend: "unknown {{operation}} {{field}}",
          },
        ],
      ),
      series(
        "Collection time and failed exports",
        "Wall time of each collection cycle; OTLP exports that failed, and errors collecting their metrics",
        [
          { expr: `max(pulumi_exporter_collect_duration_seconds{${EXP}})`, legend: "collection (s)" },
          {
            expr: `sum(increase(pulumi_exporter_export_failures_total{${EXP}}[$__rate_interval]))`,
            legend: "failed exports",
          },
          {
            expr: `sum(increase(pulumi_exporter_export_collection_errors_total{${EXP}}[$__rate_interval]))`,
            legend: "export collection errors",
          },
        ],
        { alerts: ["PulumiExporterOtlpExportFailing"] },
      ),
      series(
        "Webhooks received",
        "Pulumi Cloud webhook deliveries by outcome: accepted ones trigger reads; bad_signature means the secrets differ (README, Webhooks)",
        [
          {
            expr: `sum by (outcome) (increase(pulumi_exporter_webhooks_received_total{${EXP}}[$__rate_interval]))`,
            legend: "{{outcome}}",
          },
        ],
      ),
    ],
  },
];

/** Every query of the dashboard with the panel it belongs to. */
export function allQueries(rows: readonly RowSpec[] = ROWS): { panel: string; query: Query }[] {
  return queriesOf(rows);
}

export const ORG_VARIABLE = variable(
  "org",
  "Organization",
  'label_values(pulumi_stack_resource_count{job=~"$job"}, org)',
  { multi: true },
);

export function buildDashboard(rows: readonly RowSpec[] = ROWS): Record<string, unknown> {
  return dashboardJson(
    {
      uid: FLEET_UID,
      title: "Pulumi Cloud",
      description:
        "Stacks, updates, deployments, drift, runners, plan, organization, policy and Neo from pulumi-exporter",
      variables: [DATASOURCE_VARIABLE, JOB_VARIABLE, ORG_VARIABLE],
      links: [
        {
          title: "Stack drill-down",
          tooltip: "One stack's updates, durations, deployments and drift (or click a stack in a table)",
          type: "link",
          icon: "dashboard",
          url: `/d/${STACK_UID}/pulumi-cloud-stack`,
          keepTime: true,
          includeVars: true,
          targetBlank: false,
        },
      ],
    },
    rows,
  );
}

export function renderDashboard(rows: readonly RowSpec[] = ROWS): string {
  return render(buildDashboard(rows));
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const fleet = await writeOrCheck(DASHBOARD_PATH, renderDashboard(), check);
  const stack = await writeOrCheck(STACK_DASHBOARD_PATH, renderStackDashboard(), check);
  if (!fleet || !stack) process.exit(1);
}
