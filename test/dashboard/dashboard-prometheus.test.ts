/**
 * The Grafana dashboards against real data: every panel query runs on a real Prometheus that scrapes the compiled
 * binary in demo mode, and must parse and return at least one series. The fleet dashboard's variables are set to
 * "everything"; the drill-down's to a real stack of the demo, found through its own chained variable queries.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { e2eBinary } from "../support/e2e-binary.ts";
import { type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";

const DASHBOARDS = resolve(import.meta.dir, "../../deploy/docker-compose/grafana/dashboards");

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; definition?: string }> };
}

const load = (file: string) => JSON.parse(readFileSync(resolve(DASHBOARDS, file), "utf8")) as Dashboard;

/** Grafana's substitution: its interval macros and the dashboard's variables, `$name` and `${name}`. */
function substitute(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
}

const INTERVALS = { __rate_interval: "1m", __range: "1h" };

/** Every panel query, with the variables substituted. */
function panelQueries(
  dashboard: Dashboard,
  values: Readonly<Record<string, string>>,
): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (!target.expr) continue;
        out.push({
          panel: panel.title ?? "(untitled)",
          expr: substitute(target.expr, { ...INTERVALS, ...values }),
        });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The values a `label_values(selector, label)` variable offers, as Grafana asks Prometheus for them. */
async function variableValues(
  server: RunningPrometheus,
  dashboard: Dashboard,
  name: string,
  values: Readonly<Record<string, string>>,
): Promise<string[]> {
  const definition = dashboard.templating.list.find((v) => v.name === name)?.definition ?? "";
  const match = /^label_values\((.+), (\w+)\)$/.exec(substitute(definition, values));
  if (!match) throw new Error(`variable ${name}: not a label_values query: ${definition}`);
  const [, selector, label = ""] = match;
  const samples = await server.query(`group by (${label}) (${selector})`, at);
  return samples.map((s) => s.metric[label] ?? "").sort();
}

/** Empty results of the queries, as `panel: query`. */
async function emptyQueries(queries: Array<{ panel: string; expr: string }>): Promise<string[]> {
  const empty: string[] = [];
  for (const { panel, expr } of queries) {
    const result = await prometheus?.query(expr, at);
    if (!result || result.length === 0) empty.push(`${panel}: ${expr}`);
  }
  return empty;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}

/** Stacks with every series the drill-down reads, two scrapes of each counter, sorted by their labels. */
const STACK_WITH_DATA = `
  group by (org, project, stack) (pulumi_stack_update_in_progress)
    and on (org, project, stack) group by (org, project, stack) (count_over_time(pulumi_update_duration_seconds_count[1h]) >= 2)
    and on (org, project, stack) group by (org, project, stack) (count_over_time(pulumi_update_resource_changes_total[1h]) >= 2)
    and on (org) group by (org) (count_over_time(pulumi_deployment_duration_seconds_count[1h]) >= 2)
    and on (org) group by (org) (count_over_time(pulumi_deployments_total[1h]) >= 2)
    and on (org, project, stack) group by (org, project, stack) (pulumi_stack_drift_detected)`;

/** What the fleet dashboard needs before each of its panels has data: counted updates and a drifted stack. */
const FLEET_WITH_DATA = `
  group(count_over_time(pulumi_update_duration_seconds_count[1h]) >= 2)
    and group(pulumi_stack_drift_detected == 1)`;

let stacksWithData: Array<{ org: string; project: string; stack: string }> = [];
/**
 * The one time (Unix seconds) every query is evaluated at: data that has been there since goes on being there
 * (drift, for one, is cleared by a remediation), and 2 s in the past, every scrape that started by then is stored.
 */
let at = 0;
let exporter: Bun.Subprocess | undefined;
let prometheus: RunningPrometheus | undefined;

beforeAll(async () => {
  const { path: binary } = await e2eBinary();
  const port = await freePort();
  exporter = Bun.spawn(
    [
      binary,
      "demo",
      `--web.listen-address=127.0.0.1:${port}`,
      "--pulumi.collect-interval=2s",
      "--log.level=warn",
    ],
    // With a webhook secret the demo's simulator posts webhooks too: the webhook panel has data.
    {
      stdout: "ignore",
      stderr: "pipe",
      env: { PATH: process.env.PATH ?? "", PULUMI_EXPORTER_WEBHOOK_SECRET: "whsec-dashboard-test" },
    },
  );
  prometheus = await startPrometheus([`127.0.0.1:${port}`]);
  // Update counters need finished updates and two scrapes of them before rate() has a value; the drill-down needs
  // a stack that has them all.
  for (let i = 0; i < 240; i++) {
    at = Math.floor(Date.now() / 1000) - 2;
    const ready = await prometheus.query(FLEET_WITH_DATA, at);
    stacksWithData = (await prometheus.query(STACK_WITH_DATA, at)).map(({ metric }) => ({
      org: metric.org ?? "",
      project: metric.project ?? "",
      stack: metric.stack ?? "",
    }));
    if (ready.length > 0 && stacksWithData.length > 0) return;
    await Bun.sleep(500);
  }
  throw new Error("the demo did not count an update and report a drifted stack within 120 s");
}, 180_000);

afterAll(async () => {
  exporter?.kill();
  await prometheus?.stop();
});

describe("the fleet dashboard", () => {
  const dashboard = load("pulumi-exporter.json");
  const queries = panelQueries(dashboard, { job: ".+", org: ".*" });

  test("has a query for every panel target", () => {
    expect(queries.length).toBeGreaterThanOrEqual(40);
  });

  test("every panel query parses and returns at least one series", async () => {
    expect(await emptyQueries(queries)).toEqual([]);
  });
});

describe("the stack drill-down dashboard", () => {
  const dashboard = load("pulumi-exporter-stack.json");

  test("its chained variables offer the demo's stacks, and every panel query returns data for one of them", async () => {
    const server = prometheus as RunningPrometheus;
    const [job = ""] = await variableValues(server, dashboard, "job", {});
    expect(job).toBe("pulumi-exporter");
    const orgs = await variableValues(server, dashboard, "org", { job });
    expect(orgs).toEqual(["org-1", "org-2", "org-3"]);
    // The stack to show: the first with the series every panel reads (a finished update, resource changes, a
    // running or just finished update, drift detected or not, deployments in its organization), as the demo has them.
    const stack = stacksWithData[0];
    if (stack === undefined) throw new Error("no stack of the demo has every series the drill-down reads");
    expect(orgs).toContain(stack.org);
    const projects = await variableValues(server, dashboard, "project", { job, org: stack.org });
    expect(projects).toContain(stack.project);
    const stacks = await variableValues(server, dashboard, "stack", {
      job,
      org: stack.org,
      project: stack.project,
    });
    expect(stacks).toContain(stack.stack);
    // Chained: the org's stacks narrowed to the project, fewer than the org has (every demo org has several projects).
    const orgStacks = await server.query(
      `group by (project, stack) (pulumi_stack_resource_count{org="${stack.org}"})`,
      at,
    );
    expect(projects.length).toBeGreaterThan(1);
    expect(stacks).toEqual(
      orgStacks
        .filter((s) => s.metric.project === stack.project)
        .map((s) => s.metric.stack ?? "")
        .sort(),
    );
    expect(stacks.length).toBeLessThan(orgStacks.length);

    const queries = panelQueries(dashboard, { job, ...stack });
    expect(queries.length).toBeGreaterThanOrEqual(15);
    expect(await emptyQueries(queries)).toEqual([]);
  });
});
