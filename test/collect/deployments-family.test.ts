/**
 * The deployments family through the whole pipeline: the registry's source run by the collector each cycle, its
 * events into the metrics, the metadata's gauges, and a restart through the state file.
 */
import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import type { CollectorState } from "../../src/collect/state.ts";
import { encodeState, parseState } from "../../src/collect/state-file.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import type { DeploymentRun } from "../../src/pulumi/api.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";
import { memoryMetrics } from "../support/memory-metrics.ts";

const T0 = Date.UTC(2026, 4, 20, 12, 0, 0);
const MINUTE = 60_000;

function run(
  id: string,
  createdMs: number,
  status: string,
  startedMs?: number,
  lastMs?: number,
): DeploymentRun {
  return {
    id,
    createdMs,
    status,
    operation: "update",
    agentPool: "runners",
    jobs: [
      {
        ...(startedMs === undefined ? {} : { startedMs }),
        ...(lastMs === undefined ? {} : { lastUpdatedMs: lastMs }),
      },
    ],
  };
}

function exporter(api: FakeApi, clock: { ms: number }, initialState?: CollectorState) {
  let collector: Collector | undefined;
  const metrics = memoryMetrics(
    () => (collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined),
    ["acme"],
  );
  collector = new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 4,
    cycleBudgetMs: 10_000,
    now: () => clock.ms,
    onCycle: (result) => metrics.instruments.recordCycle(result),
    ...(initialState ? { initialState } : {}),
  });
  return { collector, metrics };
}

const pool = { org: "acme", operation: "update", agent_pool: "runners" };

describe("the deployments family", () => {
  test("queued, running, finished: counted once with its duration and queue wait; the baseline is not", async () => {
    const api = new FakeApi();
    const old = run("d0", T0 - 10 * MINUTE, "succeeded", T0 - 9 * MINUTE, T0 - 8 * MINUTE);
    api.orgs.set("acme", fakeOrg({ deploymentRuns: [old], concurrency: 3, paused: false }));
    const clock = { ms: T0 };
    const { collector, metrics } = exporter(api, clock);
    await collector.collect();
    let m = await metrics.collect();
    expect(m.get("pulumi_deployments_total")).toBeUndefined();
    expect(metrics.value(m, "pulumi_org_deployment_concurrency_limit", { org: "acme" })).toBe(3);
    expect(metrics.value(m, "pulumi_org_deployments_paused", { org: "acme" })).toBe(0);

    const acme = api.orgs.get("acme") ?? expect.unreachable();
    const created = T0 + 30_000;
    acme.deploymentRuns.push(run("d1", created, "not-started"));
    acme.paused = true;
    clock.ms += MINUTE;
    await collector.collect();
    m = await metrics.collect();
    expect(metrics.value(m, "pulumi_org_deployments_paused", { org: "acme" })).toBe(1);
    expect(m.get("pulumi_deployment_queue_wait_seconds")).toBeUndefined();

    acme.deploymentRuns[1] = run("d1", created, "running", created + 45_000);
    clock.ms += MINUTE;
    await collector.collect();
    m = await metrics.collect();
    expect(m.get("pulumi_deployment_queue_wait_seconds")).toEqual([
      { attributes: pool, value: 45, count: 1, buckets: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0] },
    ]);

    acme.deploymentRuns[1] = run("d1", created, "succeeded", created + 45_000, created + 45_000 + 200_000);
    clock.ms += MINUTE;
    await collector.collect();
    // A cycle with nothing new counts nothing again.
    clock.ms += MINUTE;
    await collector.collect();
    m = await metrics.collect();
    expect(m.get("pulumi_deployments_total")).toEqual([
      { attributes: { ...pool, result: "succeeded" }, value: 1 },
    ]);
    expect(m.get("pulumi_deployment_duration_seconds")).toEqual([
      {
        attributes: { ...pool, result: "succeeded" },
        value: 200,
        count: 1,
        // 120 < 200 ≤ 300.
        buckets: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
      },
    ]);
    expect(m.get("pulumi_deployment_queue_wait_seconds")?.[0]?.count).toBe(1);
  });

  test("a restart through the state file counts what finished while it was down, once", async () => {
    const api = new FakeApi();
    const created = T0 + 10_000;
    api.orgs.set("acme", fakeOrg({ deploymentRuns: [run("d1", created, "running", created + 5_000)] }));
    const clock = { ms: T0 };
    const first = exporter(api, clock);
    await first.collector.collect();
    const saved = encodeState(first.collector.state).text;
    // The run seen started is saved unfinished, to be counted when it ends.
    expect(JSON.parse(saved).sources.deployments.acme).toEqual({
      newestCreatedMs: created,
      newestIds: ["d1"],
      unfinished: [{ id: "d1", createdMs: created, started: true, misses: 0 }],
      pools: ["runners"],
      abandoned: 0,
    });

    // Down: d1 finishes, d2 runs and finishes.
    const acme = api.orgs.get("acme") ?? expect.unreachable();
    acme.deploymentRuns[0] = run("d1", created, "failed", created + 5_000, created + 65_000);
    acme.deploymentRuns.push(run("d2", T0 + 90_000, "succeeded", T0 + 95_000, T0 + 100_000));
    const read = parseState(saved);
    if (read.kind !== "loaded") throw new Error(read.reason);
    clock.ms += 5 * MINUTE;
    const second = exporter(api, clock, read.state);
    await second.collector.collect();
    await second.collector.collect();
    const m = await second.metrics.collect();
    expect(m.get("pulumi_deployments_total")).toEqual([
      { attributes: { ...pool, result: "failed" }, value: 1 },
      { attributes: { ...pool, result: "succeeded" }, value: 1 },
    ]);
  });
});
