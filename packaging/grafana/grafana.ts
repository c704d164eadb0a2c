/**
 * Grafana dashboards as code: panel specifications, their layout on Grafana's 24-column grid, the links between
 * the fleet dashboard and the per-stack drill-down, and each alert's runbook link on the panels that show it.
 * packaging/grafana/dashboard.ts (the fleet) and packaging/grafana/stack-dashboard.ts (one stack) are built on it.
 */
import { ALERTS, type AlertLink } from "./alerts.ts";

/** Grafana's uids of the two dashboards: the links between them name these. */
export const FLEET_UID = "pulumi-exporter";
export const STACK_UID = "pulumi-exporter-stack";

/** Updates are rare: a one-hour window gives rates and quantiles that do not vanish between updates. */
export const UPDATE_WINDOW = "1h";

type PanelType = "stat" | "timeseries" | "table" | "bargauge";

export interface Query {
  expr: string;
  legend?: string;
  /** One value per series (tables, stats of "now"), not a range. */
  instant?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  type: PanelType;
  queries: Query[];
  unit?: string;
  width: number;
  height: number;
  /** Stat colors and texts for 0/1 gauges. */
  mappings?: { value: string; text: string; color: string }[];
  /** What a stat shows when its query returns no series. */
  noValue?: string;
  thresholds?: { value: number | null; color: string }[];
  stacked?: boolean;
  /**
   * Alerts of deploy/prometheus/alerts.yaml whose expression's metric this panel shows: the description names
   * them and the panel links to each one's runbook section (its `runbook_url`).
   */
  alerts?: readonly string[];
  /** A table of stacks (`org`, `project` and `stack` columns): each stack links to its drill-down dashboard. */
  stackLinks?: true;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export const stat = (
  title: string,
  description: string,
  expr: string,
  extra: Partial<PanelSpec> = {},
): PanelSpec => ({
  title,
  description,
  type: "stat",
  queries: [{ expr }],
  width: 4,
  height: 4,
  ...extra,
});

export const series = (
  title: string,
  description: string,
  queries: Query[],
  extra: Partial<PanelSpec> = {},
): PanelSpec => ({ title, description, type: "timeseries", queries, width: 12, height: 8, ...extra });

/** `${name}`: a Grafana variable or macro in a URL, spelled so that it is not read as a template literal. */
export const grafanaVar = (name: string): string => `\${${name}}`;

// The data source variable of every panel and query.
const DATASOURCE = { type: "prometheus", uid: grafanaVar("datasource") };

/** Carries the data source, the exporter and the time range over to the linked dashboard. */
const CARRIED = [
  grafanaVar("__url_time_range"),
  grafanaVar("datasource:queryparam"),
  grafanaVar("job:queryparam"),
].join("&");

/** The drill-down of the stack in a table row: its org, project and stack columns fill the variables. */
export const STACK_LINK_URL = `/d/${STACK_UID}/pulumi-cloud-stack?${CARRIED}${["org", "project", "stack"]
  .map((label) => `&var-${label}=${grafanaVar(`__data.fields.${label}`)}`)
  .join("")}`;

/** The fleet dashboard, for the drill-down's organization. */
export const FLEET_LINK_URL = `/d/${FLEET_UID}/pulumi-cloud?${CARRIED}&var-org=${grafanaVar("org")}`;

export function variable(
  name: string,
  label: string,
  query: string,
  options: { multi?: boolean; description?: string } = {},
): Record<string, unknown> {
  return {
    name,
    label,
    ...(options.description ? { description: options.description } : {}),
    type: "query",
    datasource: DATASOURCE,
    query: { query, refId: name },
    definition: query,
    refresh: 2,
    sort: 1,
    multi: options.multi ?? false,
    includeAll: options.multi ?? false,
    ...(options.multi ? { allValue: ".*" } : {}),
    current: {},
    hide: 0,
  };
}

export const DATASOURCE_VARIABLE = {
  name: "datasource",
  label: "Data source",
  type: "datasource",
  query: "prometheus",
  current: {},
  hide: 0,
  refresh: 1,
};

export const JOB_VARIABLE = variable("job", "Exporter", "label_values(pulumi_exporter_up, job)", {
  description: "The exporter's job: its service name when pushed over OTLP, the scrape job when scraped",
});

/** The alerts a panel shows, from alerts.yaml; a name the file lacks is an error, not a dead link. */
function panelAlerts(panel: PanelSpec, alerts: ReadonlyMap<string, AlertLink>): AlertLink[] {
  return (panel.alerts ?? []).map((name) => {
    const alert = alerts.get(name);
    if (!alert) throw new Error(`panel "${panel.title}": no alert ${name} in deploy/prometheus/alerts.yaml`);
    return alert;
  });
}

function describe(panel: PanelSpec, alerts: readonly AlertLink[]): string {
  if (alerts.length === 0) return panel.description;
  const names = alerts.map((a) => a.name).join(", ");
  return `${panel.description}. ${alerts.length === 1 ? "Alert" : "Alerts"}: ${names} (runbook in the panel's links)`;
}

function fieldDefaults(panel: PanelSpec): Record<string, unknown> {
  const defaults: Record<string, unknown> = {
    unit: panel.unit ?? "none",
    thresholds: {
      mode: "absolute",
      steps: panel.thresholds ?? [{ value: null, color: "green" }],
    },
  };
  if (panel.noValue !== undefined) defaults.noValue = panel.noValue;
  if (panel.mappings) {
    defaults.mappings = [
      {
        type: "value",
        options: Object.fromEntries(
          panel.mappings.map((m, index) => [m.value, { text: m.text, color: m.color, index }]),
        ),
      },
    ];
    defaults.color = { mode: "thresholds" };
  }
  if (panel.type === "timeseries") {
    defaults.custom = {
      drawStyle: "line",
      lineWidth: 1,
      fillOpacity: panel.stacked ? 30 : 10,
      stacking: { mode: panel.stacked ? "normal" : "none", group: "A" },
      spanNulls: false,
    };
  }
  return defaults;
}

function panelOptions(type: PanelType): Record<string, unknown> {
  switch (type) {
    case "stat":
      return {
        reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
        colorMode: "value",
        graphMode: "none",
        textMode: "auto",
      };
    case "bargauge":
      return {
        reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
        orientation: "horizontal",
        displayMode: "basic",
      };
    case "table":
      return { showHeader: true };
    case "timeseries":
      return {
        legend: { displayMode: "list", placement: "bottom", showLegend: true },
        tooltip: { mode: "multi", sort: "desc" },
      };
  }
}

/** The `stack` column of a stack table links to that stack's drill-down. */
const STACK_COLUMN_LINK = {
  matcher: { id: "byName", options: "stack" },
  properties: [{ id: "links", value: [{ title: "Open the stack's dashboard", url: STACK_LINK_URL }] }],
};

export function panelJson(
  panel: PanelSpec,
  id: number,
  gridPos: { x: number; y: number; w: number; h: number },
  alertLinks: ReadonlyMap<string, AlertLink> = ALERTS,
): Record<string, unknown> {
  const alerts = panelAlerts(panel, alertLinks);
  const json: Record<string, unknown> = {
    id,
    type: panel.type,
    title: panel.title,
    description: describe(panel, alerts),
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults: fieldDefaults(panel), overrides: panel.stackLinks ? [STACK_COLUMN_LINK] : [] },
    options: panelOptions(panel.type),
    targets: panel.queries.map((q, index) => ({
      refId: String.fromCharCode(65 + index),
      datasource: DATASOURCE,
      expr: q.expr,
      legendFormat: q.legend ?? "",
      ...(q.instant ? { instant: true, range: false, format: "table" } : { range: true }),
    })),
  };
  if (alerts.length > 0) {
    json.links = alerts.map((a) => ({ title: `Runbook: ${a.name}`, url: a.runbookUrl, targetBlank: true }));
  }
  if (panel.type === "table") {
    // One row per series: the labels as columns, the value last, the time column hidden.
    json.transformations = [{ id: "organize", options: { excludeByName: { Time: true } } }];
  }
  return json;
}

/** Lays the rows out on the 24-column grid: a full-width row header, then panels left to right, wrapping. */
export function layoutPanels(rows: readonly RowSpec[]): Record<string, unknown>[] {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const panel of row.panels) {
      if (panel.width > 24) throw new Error(`panel "${panel.title}" is wider than the grid`);
      if (x + panel.width > 24) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      panels.push(panelJson(panel, id++, { x, y, w: panel.width, h: panel.height }));
      x += panel.width;
      lineHeight = Math.max(lineHeight, panel.height);
    }
    y += lineHeight;
  }
  return panels;
}

export interface DashboardMeta {
  uid: string;
  title: string;
  description: string;
  variables: readonly Record<string, unknown>[];
  links: readonly Record<string, unknown>[];
}

export function dashboardJson(meta: DashboardMeta, rows: readonly RowSpec[]): Record<string, unknown> {
  return {
    uid: meta.uid,
    title: meta.title,
    description: meta.description,
    tags: ["pulumi", "pulumi-exporter"],
    timezone: "browser",
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: "1m",
    time: { from: "now-24h", to: "now" },
    templating: { list: meta.variables },
    annotations: { list: [] },
    links: meta.links,
    panels: layoutPanels(rows),
  };
}

/** Every query of some rows with the panel it belongs to. */
export function queriesOf(rows: readonly RowSpec[]): { panel: string; query: Query }[] {
  return rows.flatMap((row) =>
    row.panels.flatMap((panel) => panel.queries.map((query) => ({ panel: panel.title, query }))),
  );
}

export const render = (dashboard: Record<string, unknown>): string =>
  `${JSON.stringify(dashboard, null, 2)}\n`;

/** Writes `text` to `path`, or with `--check` fails when the file differs. */
export async function writeOrCheck(path: string, text: string, check: boolean): Promise<boolean> {
  if (!check) {
    await Bun.write(path, text);
    console.error(`wrote ${path}`);
    return true;
  }
  const current = await Bun.file(path)
    .text()
    .catch(() => "");
  if (current === text) return true;
  console.error(`${path} is out of date: run bun packaging/grafana/dashboard.ts`);
  return false;
}
