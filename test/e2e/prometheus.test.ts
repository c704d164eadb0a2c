/**
 * A real Prometheus scrapes two compiled binaries: `demo` (the fleet a new user sees) and `run` against a
 * simulator this test drives, with one of each failure (an API 503 that is retried, an invalid item, a step that
 * fails, a refused OTLP export) and finished updates. Every family of the catalog is then queried by its
 * Prometheus name and must return the expected series; for `run` the values are those of the simulator's model.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  CATALOG,
  METRICS,
  type MetricDefinition,
  prometheusName,
  UPDATE_DURATION_BUCKETS,
} from "../../src/metrics/catalog.ts";
import { OPERATIONS } from "../../src/pulumi/api.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type CompiledBinary, e2eBinary } from "../support/e2e-binary.ts";
import { binaryLauncher, type ExporterProcess, spawnExporter } from "../support/e2e-process.ts";
import { type E2eReceiver, startReceiver } from "../support/e2e-receivers.ts";
import {
  expectedGauges,
  familyOf,
  pick,
  prometheusSeries,
  type Series,
  seriesKey,
  UpdateLedger,
} from "../support/e2e-truth.ts";
import { type PrometheusSample, type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";
import { withoutEndedStates } from "../support/series.ts";

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(30_000);

const TOKEN = "pul-e2e-prometheus-token-0b8e6a";
const ORGS = ["org-1", "org-2", "org-3"];
const DEPLOYMENT_STATUSES = ["accepted", "failed", "not-started", "other", "running", "skipped", "succeeded"];

/** One of each failure, each hitting the first matching call only. */
const FAULTS = [
  { operation: "ListPolicyPacks_orgs", org: "org-2", type: "status", status: 503, retryAfter: 0, times: 1 },
  { operation: "ListTeams", org: "org-1", type: "invalid-item", times: 1 },
  { operation: "ListTasks", org: "org-3", type: "status", status: 400, times: 1 },
] as const;

let built: CompiledBinary;
let sim: RunningSimulator;
let ledger: UpdateLedger;
let receiver: E2eReceiver;
let demo: ExporterProcess;
let run: ExporterProcess;
let prometheus: RunningPrometheus;
/** `instance` labels of the two targets. */
let demoTarget: string;
let runTarget: string;
let startedAt: number;

/** The update series of the ledger under their Prometheus names. */
function expectedUpdates(): Series {
  const out: Series = {};
  for (const [key, value] of Object.entries(ledger.series(UPDATE_DURATION_BUCKETS))) {
    const family = familyOf(key);
    const name = family === "pulumi_update_resource_changes" ? `${family}_total` : family;
    out[`${name}${key.slice(family.length)}`] = value;
  }
  return out;
}

const UPDATE_SELECTOR = '{__name__=~"pulumi_update_.+"}';

async function series(promql: string): Promise<Series> {
  return prometheusSeries(await prometheus.query(promql));
}

beforeAll(async () => {
  startedAt = Date.now();
  built = await e2eBinary();
  const binary = binaryLauncher(built);
  sim = await startSimulator({
    token: TOKEN,
    seed: 11,
    orgs: 3,
    stacks: 24,
    updatesPerStack: 4,
    deploymentsPerOrg: 15,
    membersPerOrg: 8,
    environmentsPerOrg: 6,
    violationsPerOrg: 20,
    neoTasksPerOrg: 10,
    churn: 0.4,
    stacksCreatedPerTick: 0,
    stacksDeletedPerTick: 0,
    tickSeconds: 600,
    startTime: Math.floor(Date.now() / 1000) - 600,
    faults: FAULTS.map((f) => ({ ...f })),
  });
  ledger = new UpdateLedger(sim.model, ORGS);
  receiver = await startReceiver("http/protobuf");
  receiver.failNext();
  run = spawnExporter(
    binary,
    [
      "run",
      `--pulumi.api-url=${sim.url}`,
      `--pulumi.organizations=${ORGS.join(",")}`,
      "--pulumi.collect-interval=500ms",
      // The organization inventory every cycle too: the test compares it with the simulator's current values.
      "--pulumi.org-interval=500ms",
      "--pulumi.drift-refresh=500ms",
      `--otlp.endpoint=${receiver.endpoint}`,
      "--otlp.insecure",
      "--web.listen-address=127.0.0.1:0",
    ],
    { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
  );
  demo = spawnExporter(binary, ["demo", "--web.listen-address=127.0.0.1:0"]);
  runTarget = (await run.url(20_000)).replace("http://", "");
  demoTarget = (await demo.url(20_000)).replace("http://", "");
  // The refused export is the first cycle's early one; an accepted one (the cycle's) means the faults have all
  // been hit.
  await receiver.waitForExports(1, 20_000);
  expect(sim.listFaults().map((f) => [f.rule.operation, f.hits, f.remaining])).toEqual(
    FAULTS.map((f) => [f.operation, 1, 0]),
  );
  sim.tick(2);
  prometheus = await startPrometheus([demoTarget, runTarget]);
  // Wait (bounded) until Prometheus holds the run target's final state: the model does not change any more.
  const expected = expectedUpdates();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const actual = await series(`${UPDATE_SELECTOR.slice(0, -1)},instance="${runTarget}"}`);
    if (Bun.deepEquals(actual, expected)) break;
    if (Date.now() > deadline) expect(actual).toEqual(expected);
    await Bun.sleep(250);
  }
  await prometheus.waitForScrape(10_000);
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await run?.stop();
  await demo?.stop();
  await receiver?.stop();
  await sim?.stop();
});

/** The query for a family: histograms by their `_count`. */
function queryName(definition: MetricDefinition): string {
  return definition.kind === "histogram" ? `${prometheusName(definition)}_count` : prometheusName(definition);
}

async function byTarget(
  definition: MetricDefinition,
): Promise<{ demo: PrometheusSample[]; run: PrometheusSample[] }> {
  const samples = await prometheus.query(queryName(definition));
  return {
    demo: samples.filter((s) => s.metric.instance === demoTarget),
    run: samples.filter((s) => s.metric.instance === runTarget),
  };
}

function values(samples: readonly PrometheusSample[], label: string): string[] {
  return [...new Set(samples.map((s) => s.metric[label] ?? "(none)"))].sort();
}

function zeroExcept(family: string, nonZero: Record<string, number>): Series {
  const out: Series = {};
  for (const operation of OPERATIONS) out[seriesKey(family, { operation })] = nonZero[operation] ?? 0;
  return out;
}

/** Collection errors: every operation of every org at 0 except `nonZero` (`"operation org"`). */
function errorsZeroExcept(nonZero: Record<string, number>): Series {
  const out: Series = {};
  for (const operation of OPERATIONS) {
    for (const org of ORGS)
      out[seriesKey("pulumi_exporter_collect_errors_total", { operation, org })] =
        nonZero[`${operation} ${org}`] ?? 0;
  }
  return out;
}

describe("Prometheus scraping the compiled binary", () => {
  test("both targets are up and every family of the catalog has series in Prometheus", async () => {
    expect((await prometheus.targets()).map((t) => t.health)).toEqual(["up", "up"]);
    const empty: string[] = [];
    for (const definition of METRICS) {
      const { run: fromRun } = await byTarget(definition);
      if (fromRun.length === 0) empty.push(queryName(definition));
    }
    // The webhook counter has series only with webhooks on (test/webhooks/, and the dashboard's demo).
    expect(empty).toEqual(["pulumi_exporter_webhooks_received_total"]);
  });

  test("Prometheus records the catalog's type for every family", async () => {
    const types: Record<string, string> = {};
    const polled = METRICS.filter((m) => m !== CATALOG.exporterWebhooksReceived);
    for (const definition of polled) {
      const [metadata] = await prometheus.metadata(prometheusName(definition));
      types[prometheusName(definition)] = metadata?.type ?? "(none)";
    }
    expect(types).toEqual(Object.fromEntries(polled.map((m) => [prometheusName(m), m.kind])));
  });

  test("run: stack, organization and update series equal the simulator's", async () => {
    const now = new Date();
    const truth = expectedGauges(sim.model, ORGS, now);
    // Every gauge of the Pulumi families (the counted series are checked below and in the deployments' tests).
    for (const definition of METRICS.filter((m) => m.family !== "exporter" && m.kind === "gauge")) {
      const { run: fromRun } = await byTarget(definition);
      // Updates that ended show 0 for a while (README, "When series vanish"); the model has only running ones.
      expect({ family: definition.name, series: withoutEndedStates(prometheusSeries(fromRun)) }).toEqual({
        family: definition.name,
        series: pick(truth, [definition.name]),
      });
    }
    const updates = await series(`${UPDATE_SELECTOR.slice(0, -1)},instance="${runTarget}"}`);
    expect(updates).toEqual(expectedUpdates());
    expect(ledger.counted()).toBeGreaterThan(3);
  });

  test("run: each injected failure is counted once, under its operation", async () => {
    const at = `instance="${runTarget}"`;
    expect(await series(`pulumi_exporter_api_retries_total{${at}}`)).toEqual(
      zeroExcept("pulumi_exporter_api_retries_total", { ListPolicyPacks_orgs: 1 }),
    );
    expect(await series(`pulumi_exporter_items_dropped_total{${at}}`)).toEqual(
      zeroExcept("pulumi_exporter_items_dropped_total", { ListTeams: 1 }),
    );
    expect(await series(`pulumi_exporter_collect_errors_total{${at}}`)).toEqual(
      errorsZeroExcept({ "ListTasks org-3": 1 }),
    );
    expect(await series(`pulumi_exporter_export_failures_total{${at}}`)).toEqual({
      "pulumi_exporter_export_failures_total{}": 1,
    });
    // 404 is GetOrgNeoTokenBudget's answer for an organization without a budget (org-3), every cycle.
    const notFound = await prometheus.query(`pulumi_exporter_api_requests_total{${at},code="404"}`);
    expect(values(notFound, "operation")).toEqual(["GetOrgNeoTokenBudget"]);
    const requests = await series(`pulumi_exporter_api_requests_total{${at},code!~"200|404"}`);
    expect(requests).toEqual({
      [seriesKey("pulumi_exporter_api_requests_total", {
        operation: "ListPolicyPacks_orgs",
        code: "503",
      })]: 1,
      [seriesKey("pulumi_exporter_api_requests_total", { operation: "ListTasks", code: "400" })]: 1,
    });
    // Every successful request was timed: per operation, the histogram counts what the counter counts.
    const ok = await series(`sum by (operation) (pulumi_exporter_api_requests_total{${at}})`);
    const timed = await series(
      `sum by (operation) (pulumi_exporter_api_request_duration_seconds_count{${at}})`,
    );
    expect(Object.keys(ok).length).toBeGreaterThanOrEqual(12);
    expect(timed).toEqual(ok);
  });

  test("both: self-metrics describe a healthy exporter of this build", async () => {
    for (const instance of [demoTarget, runTarget]) {
      const at = `instance="${instance}"`;
      expect(await series(`pulumi_exporter_up{${at}}`)).toEqual({ "pulumi_exporter_up{}": 1 });
      expect(await series(`pulumi_exporter_build_info{${at}}`)).toEqual({
        [seriesKey("pulumi_exporter_build_info", {
          version: built.info.version,
          revision: built.info.commit,
        })]: 1,
      });
      const [duration] = await prometheus.query(`pulumi_exporter_collect_duration_seconds{${at}}`);
      expect(duration?.value).toBeGreaterThan(0);
      expect(duration?.value).toBeLessThan(10);
      const [success] = await prometheus.query(`pulumi_exporter_last_success_timestamp_seconds{${at}}`);
      expect(success?.value).toBeGreaterThanOrEqual(startedAt / 1000);
      expect(success?.value).toBeLessThanOrEqual(Date.now() / 1000);
    }
  });

  test("demo: the simulated fleet's series, every status of every organization", async () => {
    const by = async (name: string) =>
      (await byTarget(METRICS.find((m) => m.name === name) as MetricDefinition)).demo;
    const deployments = await by("pulumi_deployment_status");
    // 3 organizations × (6 statuses + other), × (4 levels + other) × (2 kinds + other), × (2 statuses + other).
    expect(deployments).toHaveLength(21);
    expect(values(deployments, "org")).toEqual(ORGS);
    expect(values(deployments, "status")).toEqual(DEPLOYMENT_STATUSES);
    expect(await by("pulumi_org_policy_violations")).toHaveLength(45);
    expect(await by("pulumi_org_neo_task_count")).toHaveLength(9);
    for (const name of [
      "pulumi_stack_resource_count",
      "pulumi_stack_last_update_timestamp",
      "pulumi_org_member_count",
      "pulumi_org_team_count",
      "pulumi_org_environment_count",
      "pulumi_org_policy_group_count",
      "pulumi_org_policy_pack_count",
      "pulumi_org_policy_total",
      "pulumi_org_governed_resources_total",
      "pulumi_org_neo_tokens_used_total",
    ]) {
      expect({ name, orgs: values(await by(name), "org") }).toEqual({ name, orgs: ORGS });
    }
    // The demo's last organization has no Neo budget.
    expect(values(await by("pulumi_org_neo_token_budget_allowance"), "org")).toEqual(["org-1", "org-2"]);
    expect((await by("pulumi_stack_resource_count")).length).toBeGreaterThanOrEqual(55);
    expect((await by("pulumi_stack_update_in_progress")).every((s) => s.value === 1)).toBe(true);
    expect(await series(`pulumi_exporter_export_failures_total{instance="${demoTarget}"}`)).toEqual({
      "pulumi_exporter_export_failures_total{}": 0,
    });
    expect(
      Object.values(await series(`pulumi_exporter_collect_errors_total{instance="${demoTarget}"}`)),
    ).toEqual(OPERATIONS.flatMap(() => ORGS.map(() => 0)));
  });

  test("neither process printed the access token", () => {
    expect(run.stdout() + run.stderr()).not.toContain(TOKEN);
    expect(run.stderr()).toContain('msg="OTLP export failed"');
  });
});
