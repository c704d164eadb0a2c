import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  allQueries,
  buildDashboard,
  DASHBOARD_PATH,
  type RowSpec,
  renderDashboard,
} from "../../packaging/grafana/dashboard.ts";
import {
  buildStackDashboard,
  renderStackDashboard,
  STACK_DASHBOARD_PATH,
  stackQueries,
} from "../../packaging/grafana/stack-dashboard.ts";
import { METRICS, prometheusName } from "../../src/metrics/catalog.ts";

const queries = allQueries();
const exprs = queries.map((q) => q.query.expr);
const stackExprs = stackQueries().map((q) => q.query.expr);

/** The names under which Prometheus stores each catalog metric. */
function seriesNames(): Map<string, string[]> {
  return new Map(
    METRICS.map((m) => {
      const name = prometheusName(m);
      return [m.name, m.kind === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]];
    }),
  );
}

/** What Grafana puts in place of its variables, so Prometheus can parse the query. */
function expandVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "4m")
    .replaceAll("$__range", "24h")
    .replaceAll("$job", "pulumi-exporter")
    .replaceAll("$org", "acme|globex")
    .replaceAll("$project", "billing")
    .replaceAll("$stack", "prod");
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "dashboard-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("dashboard", () => {
  test("the committed JSON is what packaging/grafana/dashboard.ts writes", async () => {
    expect(await readFile(DASHBOARD_PATH, "utf8")).toBe(renderDashboard());
    expect(await readFile(STACK_DASHBOARD_PATH, "utf8")).toBe(renderStackDashboard());
  });

  test("queries every metric of the catalog under its Prometheus name", () => {
    const missing: string[] = [];
    for (const [metric, names] of seriesNames()) {
      // A histogram counts as covered through its buckets; the update and API histograms use _sum/_count too.
      const [primary = metric] = names;
      if (!exprs.some((e) => new RegExp(`\\b${primary}\\{`).test(e))) missing.push(metric);
    }
    expect(missing).toEqual([]);
    for (const name of ["pulumi_update_duration_seconds", "pulumi_exporter_api_request_duration_seconds"]) {
      for (const suffix of ["_bucket", "_sum", "_count"]) {
        expect(exprs.some((e) => e.includes(`${name}${suffix}{`))).toBe(true);
      }
    }
  });

  test("names no metric the catalog lacks, in either dashboard", () => {
    const known = new Set([...seriesNames().values()].flat());
    const names = (all: string[]) =>
      new Set(all.flatMap((e) => [...e.matchAll(/\bpulumi_[a-z_]+/g)].map((m) => m[0])));
    const used = names(exprs);
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
    expect(used.size).toBeGreaterThan(30);
    const usedByStack = names(stackExprs);
    expect([...usedByStack].filter((name) => !known.has(name))).toEqual([]);
    expect(usedByStack.size).toBeGreaterThan(8);
  });

  test("every query filters by $job, and every organization metric by $org", () => {
    for (const expr of exprs) {
      for (const [, name = "", matchers = ""] of expr.matchAll(/\b(pulumi_[a-z_]+)\{([^}]*)\}/g)) {
        expect(`${name}{${matchers}}`).toContain('job=~"$job"');
        if (!name.startsWith("pulumi_exporter_")) expect(`${name}{${matchers}}`).toContain('org=~"$org"');
      }
    }
  });

  test("uses only the dashboard's variables and Grafana's interval variables", () => {
    const variables = new Set(exprs.flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1])));
    expect([...variables].sort()).toEqual(["__range", "__rate_interval", "job", "org"]);
    const dashboard = buildDashboard() as { templating: { list: { name: string; query: unknown }[] } };
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(["datasource", "job", "org"]);
    expect(dashboard.templating.list[2]?.query).toEqual({
      query: 'label_values(pulumi_stack_resource_count{job=~"$job"}, org)',
      refId: "org",
    });
  });

  test("every query of the drill-down filters by $job and the stack, or by the org where series have no stack", () => {
    const stackMetrics = new Set(METRICS.filter((m) => m.labels.includes("stack")).map((m) => m.name));
    for (const expr of stackExprs) {
      const selectors = [...expr.matchAll(/\b(pulumi_[a-z_]+)\{([^}]*)\}/g)];
      expect(selectors.length).toBeGreaterThan(0);
      for (const [, name = "", matchers = ""] of selectors) {
        const base = name.replace(/_(bucket|sum|count)$/, "");
        const metric = METRICS.find((m) => prometheusName(m) === name || prometheusName(m) === base);
        const expected = stackMetrics.has(metric?.name ?? "")
          ? 'job=~"$job", org="$org", project="$project", stack="$stack"'
          : 'job=~"$job", org="$org"';
        expect(`${name}{${matchers}}`).toBe(`${name}{${expected}}`);
      }
    }
  });

  test("the drill-down's variables chain org, project and stack, from a stack metric", () => {
    const variables = new Set(stackExprs.flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1])));
    expect([...variables].sort()).toEqual(["__range", "job", "org", "project", "stack"]);
    const dashboard = buildStackDashboard() as {
      templating: { list: { name: string; query: unknown; multi?: boolean }[] };
    };
    expect(dashboard.templating.list.map((v) => v.name)).toEqual([
      "datasource",
      "job",
      "org",
      "project",
      "stack",
    ]);
    expect(dashboard.templating.list.slice(2).map((v) => [v.query, v.multi])).toEqual([
      [{ query: 'label_values(pulumi_stack_resource_count{job=~"$job"}, org)', refId: "org" }, false],
      [
        {
          query: 'label_values(pulumi_stack_resource_count{job=~"$job", org="$org"}, project)',
          refId: "project",
        },
        false,
      ],
      [
        {
          query:
            'label_values(pulumi_stack_resource_count{job=~"$job", org="$org", project="$project"}, stack)',
          refId: "stack",
        },
        false,
      ],
    ]);
  });

  test("every query parses in Prometheus 2.42 (promtool)", async () => {
    const queries = [...allQueries(), ...stackQueries()];
    const rules = join(work, "rules.yaml");
    await writeFile(
      rules,
      stringify({
        groups: [
          {
            name: "dashboard",
            rules: queries.map((q, i) => ({
              record: `dashboard:query_${i}`,
              expr: expandVariables(q.query.expr),
            })),
          },
        ],
      }),
    );
    const result = Bun.spawnSync(["promtool", "check", "rules", rules]);
    const output = result.stdout.toString() + result.stderr.toString();
    expect(output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(result.exitCode).toBe(0);
  });

  test("promtool rejects a broken query, so the check above can fail", async () => {
    const rules = join(work, "broken.yaml");
    await writeFile(
      rules,
      stringify({
        groups: [{ name: "broken", rules: [{ record: "broken:q", expr: "sum by (org (pulumi_x)" }] }],
      }),
    );
    expect(Bun.spawnSync(["promtool", "check", "rules", rules]).exitCode).toBe(1);
  });

  test.each([
    ["fleet", buildDashboard, 9],
    ["drill-down", buildStackDashboard, 4],
  ] as const)(
    "the %s dashboard's panels have unique ids, sit on the 24-column grid and never overlap",
    (_, build, rows) => {
      const { panels } = build() as {
        panels: { id: number; type: string; gridPos: { x: number; y: number; w: number; h: number } }[];
      };
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      const cells = new Set<string>();
      for (const { gridPos } of panels) {
        expect(gridPos.x + gridPos.w).toBeLessThanOrEqual(24);
        for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
          for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
      expect(panels.filter((p) => p.type === "row").length).toBe(rows);
    },
  );

  test("the rows of both dashboards", () => {
    const rows = (dashboard: Record<string, unknown>) =>
      (dashboard.panels as { type: string; title: string }[])
        .filter((p) => p.type === "row")
        .map((p) => p.title);
    expect(rows(buildDashboard())).toEqual([
      "Stacks",
      "Updates",
      "Deployments",
      "Drift",
      "Runners",
      "Plan and tokens",
      "Organization and policy",
      "Neo",
      "Exporter",
    ]);
    expect(rows(buildStackDashboard())).toEqual([
      "Stack",
      "Updates",
      "Drift",
      "Deployments of the organization",
    ]);
  });

  test("wraps a panel that does not fit the rest of the line and refuses one wider than the grid", () => {
    const rows: RowSpec[] = [
      {
        title: "r",
        panels: [
          { title: "a", description: "", type: "stat", queries: [], width: 16, height: 4 },
          { title: "b", description: "", type: "stat", queries: [], width: 12, height: 3 },
        ],
      },
    ];
    const { panels } = buildDashboard(rows) as { panels: { gridPos: object }[] };
    expect(panels.map((p) => p.gridPos)).toEqual([
      { x: 0, y: 0, w: 24, h: 1 },
      { x: 0, y: 1, w: 16, h: 4 },
      { x: 0, y: 5, w: 12, h: 3 },
    ]);
    const wide: RowSpec[] = [
      {
        title: "r",
        panels: [{ title: "w", description: "", type: "stat", queries: [], width: 25, height: 1 }],
      },
    ];
    expect(() => buildDashboard(wide)).toThrow('panel "w" is wider than the grid');
  });
});
