/**
 * The Grafana dashboard against real data: every panel query runs on a real Prometheus that scrapes the compiled
 * binary in demo mode, and must parse and return at least one series.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { e2eBinary } from "../support/e2e-binary.ts";
import { type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";

const DASHBOARD = resolve(
  import.meta.dir,
  "../../deploy/docker-compose/grafana/dashboards/pulumi-exporter.json",
);

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

/** Every panel query, with Grafana's variables set to "everything". */
function panelQueries(dashboard: { panels: Panel[] }): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (!target.expr) continue;
        const expr = target.expr
          .replaceAll("$__rate_interval", "1m")
          .replaceAll("$__range", "1h")
          .replaceAll("$job", ".+")
          .replaceAll("$org", ".*");
        out.push({ panel: panel.title ?? "(untitled)", expr });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}

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
  // Update counters need finished updates and two scrapes of them before rate() has a value.
  for (let i = 0; i < 120; i++) {
    const ready = await prometheus.query("count_over_time(pulumi_update_duration_seconds_count[1h]) >= 2");
    if (ready.length > 0) return;
    await Bun.sleep(500);
  }
  throw new Error("no update was counted by the demo within 60 s");
}, 120_000);

afterAll(async () => {
  exporter?.kill();
  await prometheus?.stop();
});

describe("the Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] };
  const queries = panelQueries(dashboard);

  test("has a query for every panel target", () => {
    expect(queries.length).toBeGreaterThanOrEqual(40);
  });

  test("every panel query parses and returns at least one series", async () => {
    const empty: string[] = [];
    for (const { panel, expr } of queries) {
      const result = await prometheus?.query(expr);
      if (!result || result.length === 0) empty.push(`${panel}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });
});
