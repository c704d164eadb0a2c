/**
 * The dashboards' links: every alert of deploy/prometheus/alerts.yaml is linked, with its own runbook_url, from a
 * panel that shows a metric its expression reads, and every link lands on a heading of docs/runbook.md; the fleet's
 * stack tables open the drill-down with its variables filled, and the drill-down links back.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ALERTS, alertLinks } from "../../packaging/grafana/alerts.ts";
import { buildDashboard } from "../../packaging/grafana/dashboard.ts";
import { FLEET_UID, panelJson, STACK_UID } from "../../packaging/grafana/grafana.ts";
import { buildStackDashboard } from "../../packaging/grafana/stack-dashboard.ts";
import { ALERTS_FILE, ROOT, RUNBOOK_BASE } from "../../scripts/alerts.ts";
import { alertRules, ruleGroups } from "../alerts/support.ts";

interface Link {
  title: string;
  url: string;
}
interface Panel {
  type: string;
  title: string;
  description?: string;
  links?: Link[];
  targets?: { expr: string }[];
  fieldConfig?: {
    overrides: { matcher: { id: string; options: string }; properties: { id: string; value: Link[] }[] }[];
  };
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  links: Link[];
  templating: { list: { name: string }[] };
}

const fleet = buildDashboard() as unknown as Dashboard;
const drillDown = buildStackDashboard() as unknown as Dashboard;
const alerts = alertRules(ruleGroups(readFileSync(ALERTS_FILE, "utf8")));

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
const githubAnchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replaceAll(" ", "-");

const runbookAnchors = new Set(
  readFileSync(resolve(ROOT, "docs/runbook.md"), "utf8")
    .split("\n")
    .flatMap((line) => {
      const heading = /^#{1,6} (.+)$/.exec(line)?.[1];
      return heading === undefined ? [] : [githubAnchor(heading)];
    }),
);

/** `[panel, link]` for every panel link of a dashboard. */
const panelLinks = (dashboard: Dashboard) =>
  dashboard.panels.flatMap((panel) => (panel.links ?? []).map((link) => [panel, link] as const));

describe("alert links", () => {
  test("every alert of alerts.yaml is linked from at least one panel of the fleet dashboard", () => {
    const linked = new Set(
      panelLinks(fleet).map(([, link]) => alerts.find((a) => a.annotations.runbook_url === link.url)?.alert),
    );
    expect(alerts.map((a) => a.alert).filter((name) => !linked.has(name))).toEqual([]);
    expect(alerts.length).toBe(21);
  });

  test("every panel link is the runbook_url of the alert it names, landing on a heading of the runbook", () => {
    const links = [...panelLinks(fleet), ...panelLinks(drillDown)];
    // 21 alerts, some shown (and linked) by more than one panel, in either dashboard.
    expect(links.length).toBe(33);
    for (const [panel, link] of links) {
      const name = /^Runbook: (\w+)$/.exec(link.title)?.[1] ?? "";
      const alert = alerts.find((a) => a.alert === name);
      expect(alert?.annotations.runbook_url).toBe(link.url);
      expect(link.url.startsWith(`${RUNBOOK_BASE}#`)).toBe(true);
      expect(runbookAnchors.has(link.url.slice(RUNBOOK_BASE.length + 1))).toBe(true);
      expect(panel.description).toContain(name);
    }
  });

  test("a panel linking an alert queries a metric the alert's expression reads", () => {
    const unrelated: string[] = [];
    for (const [panel, link] of [...panelLinks(fleet), ...panelLinks(drillDown)]) {
      const alert = [...ALERTS.values()].find((a) => a.runbookUrl === link.url);
      const exprs = (panel.targets ?? []).map((t) => t.expr);
      const shown = alert?.metrics.some((metric) => exprs.some((e) => new RegExp(`\\b${metric}\\{`).test(e)));
      if (!shown) unrelated.push(`${panel.title}: ${alert?.name}`);
    }
    expect(unrelated).toEqual([]);
  });

  test("an alert's metrics are read through its recording rules", () => {
    expect(ALERTS.get("PulumiDeploymentsFailing")?.metrics).toEqual(["pulumi_deployments_total"]);
    expect(ALERTS.get("PulumiStackUpdatesFailing")?.metrics).toEqual(["pulumi_update_total"]);
    expect(ALERTS.get("PulumiExporterDown")?.metrics).toEqual(["up"]);
    expect(ALERTS.get("PulumiAgentPoolNoOnlineAgents")?.metrics).toEqual([
      "pulumi_agent_pool_agents",
      "pulumi_agent_pool_up",
    ]);
    expect(ALERTS.get("PulumiDeploymentQueueSlow")?.metrics).toEqual([
      "pulumi_deployment_queue_wait_seconds_bucket",
    ]);
  });

  test("an alert without a runbook_url, or a panel naming an alert the file lacks, is refused", () => {
    const missing = "groups:\n  - name: g\n    rules:\n      - alert: NoRunbook\n        expr: up == 0\n";
    expect(() => alertLinks(missing)).toThrow("alerts.yaml: NoRunbook has no runbook_url");
    const panel = {
      title: "p",
      description: "d",
      type: "stat" as const,
      queries: [],
      width: 4,
      height: 4,
      alerts: ["PulumiNoSuchAlert"],
    };
    expect(() => panelJson(panel, 1, { x: 0, y: 0, w: 4, h: 4 })).toThrow(
      'panel "p": no alert PulumiNoSuchAlert in deploy/prometheus/alerts.yaml',
    );
  });
});

/** The path and the query parameters of a dashboard link. */
function target(url: string): { path: string; params: Map<string, string> } {
  const [path = "", query = ""] = url.split("?");
  return {
    path,
    params: new Map(
      query.split("&").map((pair) => {
        const [key = "", value = ""] = pair.split("=");
        return [key, value] as const;
      }),
    ),
  };
}

const isStackTable = (panel: Panel) =>
  panel.type === "table" && (panel.targets ?? []).some((t) => /by \(org, project, stack\b/.test(t.expr));

describe("links between the dashboards", () => {
  test("the stack column of every stack table of the fleet opens that stack's drill-down", () => {
    const tables = fleet.panels.filter(isStackTable);
    expect(tables.map((p) => p.title)).toEqual([
      "Largest stacks",
      "Least recently updated stacks",
      "Updates by stack in the time range",
      "Drifted stacks",
    ]);
    for (const table of tables) {
      const overrides = table.fieldConfig?.overrides ?? [];
      expect(overrides.map((o) => o.matcher)).toEqual([{ id: "byName", options: "stack" }]);
      const [link] = overrides[0]?.properties[0]?.value ?? [];
      const { path, params } = target(link?.url ?? "");
      expect(path).toBe(`/d/${STACK_UID}/pulumi-cloud-stack`);
      // The row's own org, project and stack, and the fleet's data source, exporter and time range.
      expect([...params]).toEqual([
        [`\${__url_time_range}`, ""],
        [`\${datasource:queryparam}`, ""],
        [`\${job:queryparam}`, ""],
        ["var-org", `\${__data.fields.org}`],
        ["var-project", `\${__data.fields.project}`],
        ["var-stack", `\${__data.fields.stack}`],
      ]);
    }
    // Tables that are not per stack have no such link.
    const others = fleet.panels.filter((p) => !isStackTable(p));
    expect(others.filter((p) => (p.fieldConfig?.overrides ?? []).length > 0).map((p) => p.title)).toEqual([]);
  });

  test("every variable a link fills is a variable of the dashboard it opens", () => {
    const names = (d: Dashboard) => d.templating.list.map((v) => v.name).sort();
    expect(drillDown.uid).toBe(STACK_UID);
    expect(fleet.uid).toBe(FLEET_UID);
    expect(names(drillDown)).toEqual(["datasource", "job", "org", "project", "stack"]);
    expect(names(fleet)).toEqual(["datasource", "job", "org"]);
  });

  test("the drill-down links back to the fleet for its organization, and the fleet to the drill-down", () => {
    expect(
      drillDown.links.map((l) => [l.title, target(l.url).path, target(l.url).params.get("var-org")]),
    ).toEqual([["Fleet", `/d/${FLEET_UID}/pulumi-cloud`, `\${org}`]]);
    expect(fleet.links.map((l) => [l.title, l.url])).toEqual([
      ["Stack drill-down", `/d/${STACK_UID}/pulumi-cloud-stack`],
    ]);
  });
});
