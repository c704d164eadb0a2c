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
import { METRICS, prometheusName } from "../../src/metrics/catalog.ts";

const queries = allQueries();
const exprs = queries.map((q) => q.query.expr);

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
    .replaceAll("$org", "acme|globex");
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

  test("names no metric the catalog lacks", () => {
    const known = new Set([...seriesNames().values()].flat());
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bpulumi_[a-z_]+/g)].map((m) => m[0])));
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
    expect(used.size).toBeGreaterThan(30);
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

  test("every query parses in Prometheus 2.42 (promtool)", async () => {
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

  test("panels have unique ids, sit on the 24-column grid and never overlap", () => {
    const { panels } = buildDashboard() as {
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
    expect(panels.filter((p) => p.type === "row").map((p) => (p as { title?: string }).title)).toEqual([
      "Stacks",
      "Updates",
      "Deployments",
      "Runners",
      "Plan and tokens",
      "Organization and policy",
      "Neo",
      "Exporter",
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
