/**
 * The alert rules in a real Prometheus that scrapes the compiled binary, run against the demo's simulated fleet
 * (the same simulator and seed) on manual ticks: every rule loads and evaluates without error on the exporter's real
 * series; the recording rules count what the counters say; the relabelling the runbook documents opts stacks into
 * PulumiStackNotUpdated. And `promtool check metrics` on its `/metrics` flags only the names inherited from the Go
 * exporter. Time moves only when the test ticks the simulator; the waits are for the exporter's log lines and
 * Prometheus' own scrapes and evaluations, each bounded.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { ALERTS_FILE, ROOT } from "../../scripts/alerts.ts";
import { METRICS, UPDATE_DURATION_BUCKETS } from "../../src/metrics/catalog.ts";
import { driftStatus } from "../../src/sim/deployments.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { e2eBinary } from "../support/e2e-binary.ts";
import { binaryLauncher, type ExporterProcess, spawnExporter } from "../support/e2e-process.ts";
import { UpdateLedger } from "../support/e2e-truth.ts";
import {
  type PrometheusRule,
  type PrometheusSample,
  type RunningPrometheus,
  startPrometheus,
} from "../support/prometheus.ts";
import { alertRules, ruleGroups } from "./support.ts";

setDefaultTimeout(30_000);

const RUNBOOK = resolve(ROOT, "docs/runbook.md");

/** The names `promtool check metrics` flags, each kept for compatibility with the Go exporter (see the README). */
const INHERITED_NAMES = [
  "pulumi_org_environment_count",
  "pulumi_org_governed_resources_total",
  "pulumi_org_member_count",
  "pulumi_org_neo_task_count",
  "pulumi_org_neo_tokens_used_total",
  "pulumi_org_policy_group_count",
  "pulumi_org_policy_pack_count",
  "pulumi_org_policy_total",
  "pulumi_org_team_count",
  "pulumi_stack_resource_count",
];

interface RelabelConfig {
  source_labels: string[];
  regex: string;
  target_label: string;
  replacement: string;
}

/** The metric_relabel_configs of the runbook's PulumiStackNotUpdated section: its first YAML block. */
async function documentedOptIn(): Promise<RelabelConfig[]> {
  const runbook = await readFile(RUNBOOK, "utf8");
  const section = runbook.slice(runbook.indexOf("### PulumiStackNotUpdated"));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error("docs/runbook.md: no YAML block under ### PulumiStackNotUpdated");
  return (parse(block) as { metric_relabel_configs: RelabelConfig[] }).metric_relabel_configs;
}

const DEMO_OPT_IN = "pulumi_stack_last_update_timestamp;org-1;analytics";

const TOKEN = "pul-alerts-prometheus-token-4c1d9e";
const ORGS = ["org-1", "org-2", "org-3"];
const CYCLE_LINE = /msg="collection cycle finished"/g;

let sim: RunningSimulator;
let ledger: UpdateLedger;
let demo: ExporterProcess;
let demoUrl: string;
let prometheus: RunningPrometheus;
let optIn: RelabelConfig[];

/** Resolves once the exporter has logged `n` finished cycles in all. */
async function cyclesFinished(process: ExporterProcess, n: number): Promise<void> {
  await process.waitForOutput(new RegExp(`(msg="collection cycle finished"[\\s\\S]*){${n}}`), 20_000);
}

function cyclesSoFar(process: ExporterProcess): number {
  return (
    (process.stderr().match(CYCLE_LINE) ?? []).length + (process.stdout().match(CYCLE_LINE) ?? []).length
  );
}

/** `org/project/stack` of every stack with a drift status in the simulator, and of those it has drifted. */
function simulatedDrift(): { checked: string[]; drifted: string[] } {
  const checked: string[] = [];
  const drifted: string[] = [];
  for (const org of ORGS) {
    for (const summary of sim.model.listStacks(org)) {
      const target = { project: summary.projectName, stack: summary.stackName };
      const drift = driftStatus(sim.model.org(org)?.deployments.records ?? [], target);
      if (drift === undefined) continue;
      checked.push(`${org}/${target.project}/${target.stack}`);
      if (drift.driftDetected) drifted.push(`${org}/${target.project}/${target.stack}`);
    }
  }
  return { checked: checked.sort(), drifted: drifted.sort() };
}

/** Whether an update other than a preview finished since the ledger's baseline (the recording rules skip previews). */
function nonPreviewCounted(ledger: UpdateLedger): boolean {
  return Object.keys(ledger.series(UPDATE_DURATION_BUCKETS)).some(
    (key) => key.startsWith("pulumi_update_total{") && !key.includes('kind="preview"'),
  );
}

beforeAll(async () => {
  // The demo's fleet (src/cli/demo.ts: 3 organizations, 60 stacks, seed 1, churn 0.1), ticked by the test.
  sim = await startSimulator({ token: TOKEN, orgs: 3, stacks: 60, seed: 1, churn: 0.1 });
  ledger = new UpdateLedger(sim.model, ORGS);
  const binary = binaryLauncher(await e2eBinary());
  demo = spawnExporter(
    binary,
    [
      "run",
      `--pulumi.api-url=${sim.url}`,
      `--pulumi.organizations=${ORGS.join(",")}`,
      "--pulumi.collect-interval=1s",
      "--pulumi.org-interval=1s",
      // Every stack's drift read every cycle, so the exporter holds the simulator's drift after a cycle.
      "--pulumi.drift-refresh=1s",
      "--otlp.enabled=false",
      "--web.listen-address=127.0.0.1:0",
    ],
    { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
  );
  demoUrl = await demo.url(60_000);
  await cyclesFinished(demo, 1);
  // Ticks until an update other than a preview has finished: a fixed number for this seed, found, not guessed.
  for (let tick = 0; tick < 50 && !nonPreviewCounted(ledger); tick++) sim.tick();
  if (!nonPreviewCounted(ledger)) throw new Error("50 ticks finished no update other than a preview");
  // And until a drift detection has found drift on a stack (a remediation clears it later; no tick follows).
  for (let tick = 0; tick < 100 && simulatedDrift().drifted.length === 0; tick++) sim.tick();
  if (simulatedDrift().drifted.length === 0) throw new Error("100 more ticks found drift on no stack");
  // The second cycle that ends from now started after the ticks: the exporter holds their counts.
  await cyclesFinished(demo, cyclesSoFar(demo) + 2);
  optIn = await documentedOptIn();
  prometheus = await startPrometheus([new URL(demoUrl).host], {
    ruleFiles: [ALERTS_FILE],
    evaluationIntervalSeconds: 1,
    // The documented relabelling, for a stack selection of the demo.
    metricRelabelConfigs: optIn.map((c) => ({ ...c, regex: DEMO_OPT_IN })),
  });
  await prometheus.waitForScrape();
}, 150_000);

afterAll(async () => {
  await demo?.stop();
  await prometheus?.stop();
  await sim?.stop();
});

/** The rules once each has been evaluated at least a second after a fresh scrape. */
async function evaluatedAfterScrape(server: RunningPrometheus): Promise<PrometheusRule[]> {
  const since = Date.now();
  await server.waitForScrape();
  return server.rulesEvaluatedAfter(since + 1000, 20_000);
}

/** `group/rule` of every rule in alerts.yaml, sorted (the API lists groups by name). */
const ruleNames = async () =>
  ruleGroups(await readFile(ALERTS_FILE, "utf8"))
    .flatMap((g) => g.rules.map((r) => `${g.name}/${"alert" in r ? r.alert : r.record}`))
    .sort();

describe("the alert rules in Prometheus, on the demo's series", () => {
  test("all load, and each evaluates without error", async () => {
    const since = Date.now();
    const rules = await evaluatedAfterScrape(prometheus);
    expect(rules.map((r) => `${r.group}/${r.name}`).sort()).toEqual(await ruleNames());
    expect(rules.length).toBe(25);
    expect(rules.filter((r) => r.lastEvaluation <= since + 1000).map((r) => r.name)).toEqual([]);
    expect(rules.filter((r) => r.health !== "ok" || r.lastError !== "")).toEqual([]);
  });

  test("a rule that fails on these series is reported with its error, so the check above can fail", async () => {
    const dir = await mkdtemp(join(tmpdir(), "alert-rules-broken-"));
    const file = join(dir, "broken.yaml");
    // Valid PromQL that fails when evaluated: many stacks per org on both sides.
    const expr = "pulumi_stack_resource_count + on (org) pulumi_stack_resource_count";
    await writeFile(
      file,
      stringify({ groups: [{ name: "broken", rules: [{ record: "broken:sum", expr }] }] }),
    );
    const broken = await startPrometheus([new URL(demoUrl).host], { ruleFiles: [file] });
    try {
      const rules = await evaluatedAfterScrape(broken);
      expect(rules.map((r) => [r.name, r.health])).toEqual([["broken:sum", "err"]]);
      expect(rules[0]?.lastError).toContain("many-to-many matching not allowed");
    } finally {
      await broken.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the update recording rules count what the counters hold (no update is 24 hours old yet)", async () => {
    const values = (samples: PrometheusSample[]) =>
      samples.map((s) => `${s.metric.org}/${s.metric.project}/${s.metric.stack} ${s.value}`);
    for (const result of ["failed", "succeeded"]) {
      const recorded = await prometheus.query(`pulumi:stack_updates_${result}:24h`);
      const direct = await prometheus.query(
        `sum by (org, project, stack) (pulumi_update_total{result="${result}", kind!="preview"})`,
      );
      expect(values(recorded)).toEqual(values(direct));
    }
    const counted = await prometheus.query(
      "pulumi:stack_updates_failed:24h or pulumi:stack_updates_succeeded:24h",
    );
    // Every stack with a finished update other than a preview, as the simulator has them.
    const stacksOf = (keys: string[]) => [...new Set(keys)].sort();
    expect(stacksOf(counted.map((c) => `${c.metric.org}/${c.metric.project}/${c.metric.stack}`))).toEqual(
      stacksOf(
        Object.keys(ledger.series(UPDATE_DURATION_BUCKETS))
          .filter((key) => key.startsWith("pulumi_update_total{") && !key.includes('kind="preview"'))
          .map((key) => {
            const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(key)?.[1];
            return `${label("org")}/${label("project")}/${label("stack")}`;
          }),
      ),
    );
  });

  test("PulumiStackDriftDetected's expression selects the stacks the simulator has drifted, and is pending", async () => {
    const alert = alertRules(ruleGroups(await readFile(ALERTS_FILE, "utf8"))).find(
      (a) => a.alert === "PulumiStackDriftDetected",
    );
    const stacks = (samples: PrometheusSample[]) =>
      samples.map((s) => `${s.metric.org}/${s.metric.project}/${s.metric.stack}`);
    const truth = simulatedDrift();
    expect(truth.drifted.length).toBeGreaterThan(0);
    // Not every stack is drifted: the expression has stacks to leave out.
    expect(truth.checked.length).toBeGreaterThan(truth.drifted.length);
    expect(stacks(await prometheus.query("pulumi_stack_drift_detected"))).toEqual(truth.checked);
    expect(stacks(await prometheus.query(alert?.expr ?? ""))).toEqual(truth.drifted);
    const rules = await evaluatedAfterScrape(prometheus);
    const rule = rules.find((r) => r.name === "PulumiStackDriftDetected");
    // Its `for: 1h` has not passed: pending, and healthy.
    expect([rule?.state, rule?.health, rule?.lastError]).toEqual(["pending", "ok", ""]);
  });

  test("the runbook's relabelling opts exactly the selected stacks into PulumiStackNotUpdated", async () => {
    expect(optIn).toEqual([
      {
        source_labels: ["__name__", "org", "project"],
        regex: "pulumi_stack_last_update_timestamp;acme;(billing|platform)",
        target_label: "stale_alert",
        replacement: "true",
      },
    ]);
    const stacks = (samples: PrometheusSample[]) =>
      samples.map((s) => `${s.metric.org}/${s.metric.project}/${s.metric.stack} ${s.metric.stale_alert}`);
    const selected = await prometheus.query(
      'pulumi_stack_last_update_timestamp{org="org-1", project="analytics"}',
    );
    // Every stack of that project in the simulator (each has a last update).
    expect(selected.map((s) => s.metric.stack).sort()).toEqual(
      sim.model
        .listStacks("org-1")
        .filter((summary) => summary.projectName === "analytics")
        .map((summary) => summary.stackName)
        .sort(),
    );
    expect(stacks(selected).every((s) => s.endsWith(" true"))).toBe(true);
    const optedIn = await prometheus.query('pulumi_stack_last_update_timestamp{stale_alert="true"}');
    expect(stacks(optedIn)).toEqual(stacks(selected));
    // The alert's own selector, below its threshold: the same stacks.
    const ages = await prometheus.query(
      'time() - pulumi_stack_last_update_timestamp{stale_alert="true"} > 0',
    );
    expect(ages.map((s) => `${s.metric.org}/${s.metric.project}/${s.metric.stack}`)).toEqual(
      selected.map((s) => `${s.metric.org}/${s.metric.project}/${s.metric.stack}`),
    );
  });
});

describe("promtool check metrics on the demo's /metrics", () => {
  test("flags only the gauges whose names the Go exporter gave them", async () => {
    const text = await (await fetch(`${demoUrl}/metrics`)).text();
    expect(text).toContain("# TYPE pulumi_update_total counter");
    const result = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    const output = `${result.stdout.toString()}${result.stderr.toString()}`;
    const flagged = output
      .trim()
      .split("\n")
      .map((line) => line.split(" ")[0]);
    expect(flagged).toEqual(INHERITED_NAMES);
    // promtool's exit code for lint problems.
    expect(result.exitCode).toBe(3);
    for (const line of output.trim().split("\n")) {
      expect(line).toMatch(
        /^pulumi_\w+ non-(histogram and non-summary metrics should not have "_count"|counter metrics should not have "_total") suffix$/,
      );
    }
  });

  test("the inherited names are exactly the catalog's gauges ending in _count or _total", () => {
    const inherited = METRICS.filter((m) => m.kind === "gauge" && /_(count|total)$/.test(m.name)).map(
      (m) => m.name,
    );
    expect(inherited.sort()).toEqual(INHERITED_NAMES);
  });

  test("the README names each of them where it says why they keep their names", async () => {
    const readme = await readFile(resolve(ROOT, "README.md"), "utf8");
    const bullet =
      /^- \*\*Names kept from the Go exporter\.\*\*[\s\S]*?(?=\n- |\n\n)/m.exec(readme)?.[0] ?? "";
    const named = [...bullet.matchAll(/`(pulumi_\w+)`/g)].map((m) => m[1]);
    expect(named.sort()).toEqual(INHERITED_NAMES);
  });
});
