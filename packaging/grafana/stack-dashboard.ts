/**
 * The per-stack drill-down dashboard: one stack, chosen by the chained `org`, `project` and `stack` variables
 * (each listing what the ones before it allow), with its update history, durations, resources, running updates,
 * drift, and the deployments of its organization. The fleet dashboard's stack tables link here with the variables
 * filled; this one links back. Written by `bun packaging/grafana/dashboard.ts` with the fleet dashboard.
 */
import { join } from "node:path";
import {
  DATASOURCE_VARIABLE,
  dashboardJson,
  FLEET_LINK_URL,
  JOB_VARIABLE,
  type Query,
  queriesOf,
  type RowSpec,
  render,
  STACK_UID,
  series,
  stat,
  UPDATE_WINDOW,
  variable,
} from "./grafana.ts";

export const STACK_DASHBOARD_PATH = join(
  import.meta.dir,
  "../../deploy/docker-compose/grafana/dashboards/pulumi-exporter-stack.json",
);

/** Label matchers of the stack's series, and of its organization's (deployment series carry no stack). */
const STACK = 'job=~"$job", org="$org", project="$project", stack="$stack"';
const ORG = 'job=~"$job", org="$org"';

/** The metric the variables list their values from: every stack has a resource count. */
const STACK_METRIC = "pulumi_stack_resource_count";

const ORG_WIDE =
  "Deployment series carry no project or stack label: this shows every deployment of the organization $org, not only this stack's";

export const STACK_ROWS: readonly RowSpec[] = [
  {
    title: "Stack",
    panels: [
      stat("Resources", "Resources in the stack", `max(pulumi_stack_resource_count{${STACK}})`),
      stat(
        "Since last update",
        "Time since the stack's latest update ended",
        `time() - max(pulumi_stack_last_update_timestamp{${STACK}})`,
        { unit: "s", alerts: ["PulumiStackNotUpdated"] },
      ),
      stat(
        "Last update ended",
        "When the stack's latest update ended",
        `max(pulumi_stack_last_update_timestamp{${STACK}}) * 1000`,
        { unit: "dateTimeAsIso", width: 6 },
      ),
      stat(
        "Updates in progress",
        "Updates of any kind running on the stack now (a kind's series stays at 0 for 5 minutes after its update ends, then goes)",
        `sum(pulumi_stack_update_in_progress{${STACK}})`,
        {
          noValue: "none",
          thresholds: [
            { value: null, color: "green" },
            { value: 1, color: "orange" },
          ],
          alerts: ["PulumiStackUpdateRunningLong"],
        },
      ),
      stat(
        "Updates in the time range",
        "Updates of the stack that finished within the dashboard's time range",
        `sum(increase(pulumi_update_total{${STACK}}[$__range]))`,
        { unit: "short", width: 6 },
      ),
      series("Resources over time", "The stack's resource count", [
        { expr: `max(pulumi_stack_resource_count{${STACK}})`, legend: "resources" },
      ]),
      series(
        "Running updates by kind",
        "1 while an update of that kind runs on the stack",
        [{ expr: `max by (kind) (pulumi_stack_update_in_progress{${STACK}})`, legend: "{{kind}}" }],
        { alerts: ["PulumiStackUpdateRunningLong"] },
      ),
    ],
  },
  {
    title: "Updates",
    panels: [
      series(
        "Update history by kind and result",
        `Updates of the stack that finished in the ${UPDATE_WINDOW} before each point, by kind and result`,
        [
          {
            expr: `sum by (kind, result) (increase(pulumi_update_total{${STACK}}[${UPDATE_WINDOW}]))`,
            legend: "{{kind}} {{result}}",
          },
        ],
        { stacked: true, width: 16, alerts: ["PulumiStackUpdatesFailing"] },
      ),
      {
        title: "Updates in the time range",
        description: "Finished updates of the stack per kind and result over the dashboard's time range",
        type: "table",
        queries: [
          {
            expr: `sum by (kind, result) (increase(pulumi_update_total{${STACK}}[$__range]))`,
            instant: true,
          },
        ],
        width: 8,
        height: 8,
        alerts: ["PulumiStackUpdatesFailing"],
      },
      series(
        "Update duration",
        `Quantiles and mean of the durations of the stack's updates that finished in the last ${UPDATE_WINDOW}`,
        [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(pulumi_update_duration_seconds_bucket{${STACK}}[${UPDATE_WINDOW}])))`,
            legend: "p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(pulumi_update_duration_seconds_bucket{${STACK}}[${UPDATE_WINDOW}])))`,
            legend: "p95",
          },
          {
            expr: `sum(rate(pulumi_update_duration_seconds_sum{${STACK}}[${UPDATE_WINDOW}])) / sum(rate(pulumi_update_duration_seconds_count{${STACK}}[${UPDATE_WINDOW}]))`,
            legend: "mean",
          },
        ],
        { unit: "s", width: 8 },
      ),
      series(
        "p95 update duration by kind",
        "95th percentile of the durations of the stack's finished updates per kind",
        [
          {
            expr: `histogram_quantile(0.95, sum by (kind, le) (rate(pulumi_update_duration_seconds_bucket{${STACK}}[${UPDATE_WINDOW}])))`,
            legend: "{{kind}}",
          },
        ],
        { unit: "s", width: 8 },
      ),
      series(
        "Resource changes by operation",
        `Resources created, updated, deleted, replaced, ... by the stack's updates that finished in the ${UPDATE_WINDOW} before each point`,
        [
          {
            expr: `sum by (operation) (increase(pulumi_update_resource_changes_total{${STACK}}[${UPDATE_WINDOW}]))`,
            legend: "{{operation}}",
          },
        ],
        { stacked: true, width: 8 },
      ),
    ],
  },
  {
    title: "Drift",
    panels: [
      stat(
        "Drift",
        "Whether the stack's latest drift detection found drift (no value: the stack has had no drift detection run)",
        `max(pulumi_stack_drift_detected{${STACK}})`,
        {
          mappings: [
            { value: "0", text: "no drift", color: "green" },
            { value: "1", text: "drifted", color: "orange" },
          ],
          noValue: "not checked",
          width: 6,
          height: 6,
          alerts: ["PulumiStackDriftDetected"],
        },
      ),
      series(
        "Drift over time",
        "1 while the stack's latest drift detection has found drift",
        [{ expr: `max(pulumi_stack_drift_detected{${STACK}})`, legend: "drift" }],
        { width: 18, height: 6, alerts: ["PulumiStackDriftDetected"] },
      ),
    ],
  },
  {
    title: "Deployments of the organization",
    panels: [
      series(
        "Deployments by status",
        `Pulumi Deployments of the organization per status. ${ORG_WIDE}`,
        [{ expr: `sum by (status) (pulumi_deployment_status{${ORG}})`, legend: "{{status}}" }],
        { width: 8 },
      ),
      series(
        "Deployments per hour by operation and result",
        `Deployments of the organization that reached a terminal status. ${ORG_WIDE}`,
        [
          {
            expr: `sum by (operation, result) (rate(pulumi_deployments_total{${ORG}}[${UPDATE_WINDOW}])) * 3600`,
            legend: "{{operation}} {{result}}",
          },
        ],
        { stacked: true, width: 8, alerts: ["PulumiDeploymentsFailing"] },
      ),
      series(
        "Deployment duration p95 by operation",
        `95th percentile of the durations of the organization's finished deployments. ${ORG_WIDE}`,
        [
          {
            expr: `histogram_quantile(0.95, sum by (operation, le) (rate(pulumi_deployment_duration_seconds_bucket{${ORG}}[${UPDATE_WINDOW}])))`,
            legend: "{{operation}}",
          },
        ],
        { unit: "s", width: 8 },
      ),
    ],
  },
];

/** Every query of the drill-down with the panel it belongs to. */
export function stackQueries(rows: readonly RowSpec[] = STACK_ROWS): { panel: string; query: Query }[] {
  return queriesOf(rows);
}

/** org, then project within the org, then stack within both: each lists only what the ones before allow. */
export const STACK_VARIABLES = [
  variable("org", "Organization", `label_values(${STACK_METRIC}{job=~"$job"}, org)`),
  variable("project", "Project", `label_values(${STACK_METRIC}{job=~"$job", org="$org"}, project)`),
  variable(
    "stack",
    "Stack",
    `label_values(${STACK_METRIC}{job=~"$job", org="$org", project="$project"}, stack)`,
  ),
];

export function buildStackDashboard(rows: readonly RowSpec[] = STACK_ROWS): Record<string, unknown> {
  return dashboardJson(
    {
      uid: STACK_UID,
      title: "Pulumi Cloud stack",
      description:
        "One stack from pulumi-exporter: updates, durations, resources, drift and its organization's deployments",
      variables: [DATASOURCE_VARIABLE, JOB_VARIABLE, ...STACK_VARIABLES],
      links: [
        {
          title: "Fleet",
          tooltip: "Every stack of the organization",
          type: "link",
          icon: "dashboard",
          url: FLEET_LINK_URL,
          keepTime: false,
          includeVars: false,
          targetBlank: false,
        },
      ],
    },
    rows,
  );
}

export function renderStackDashboard(rows: readonly RowSpec[] = STACK_ROWS): string {
  return render(buildStackDashboard(rows));
}
