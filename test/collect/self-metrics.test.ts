/** Self-metrics through the real client against the simulator: requests, retries, dropped items, build info. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { COMMIT, VERSION } from "../../src/version.ts";
import { type MemoryMetrics, memoryMetrics } from "../support/memory-metrics.ts";

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ orgs: 1, stacks: 5, seed: 7, churn: 0 });
});
afterAll(() => sim.stop());

describe("self-metrics", () => {
  test("requests, retries, dropped items and cycle status carry exact values", async () => {
    let clock = 1_000_000;
    let collector: Collector | undefined;
    const metrics: MemoryMetrics = memoryMetrics(() =>
      collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined,
    );
    const api = createPulumiClient({
      baseUrl: sim.url,
      token: sim.token,
      hooks: metrics.instruments.clientHooks,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
      sleep: async () => {},
    });
    collector = new Collector({
      api,
      logger: silentLogger,
      organizations: ["org-1"],
      maxConcurrency: 2,
      cycleBudgetMs: 10_000,
      onCycle: (result) => metrics.instruments.recordCycle(result),
      now: () => clock,
    });
    sim.setFaults([
      { type: "invalid-item", operation: "ListUserStacks", times: 1 },
      { type: "status", status: 503, operation: "ListTeams", times: 2 },
    ]);
    const result = await collector.collect();
    expect(result.stats.stacks).toBe(4);
    const m = await metrics.collect();
    expect(metrics.value(m, "pulumi_exporter_items_dropped_total", { operation: "ListUserStacks" })).toBe(1);
    expect(metrics.value(m, "pulumi_exporter_api_retries_total", { operation: "ListTeams" })).toBe(2);
    expect(
      metrics.value(m, "pulumi_exporter_api_requests_total", { operation: "ListTeams", code: "503" }),
    ).toBe(2);
    expect(
      metrics.value(m, "pulumi_exporter_api_requests_total", { operation: "ListTeams", code: "200" }),
    ).toBe(1);
    expect(
      metrics.value(m, "pulumi_exporter_api_requests_total", { operation: "ListUserStacks", code: "200" }),
    ).toBe(1);
    expect(
      metrics.value(m, "pulumi_exporter_api_requests_total", { operation: "GetStackUpdates", code: "200" }),
    ).toBe(4);
    const latency = m
      .get("pulumi_exporter_api_request_duration_seconds")
      ?.find((p) => p.attributes.operation === "ListTeams");
    expect(latency?.count).toBe(3);
    expect(metrics.value(m, "pulumi_org_team_count", { org: "org-1" })).toBe(sim.model.teams("org-1").length);
    expect(metrics.value(m, "pulumi_exporter_build_info", { version: VERSION, revision: COMMIT })).toBe(1);
    expect(metrics.value(m, "pulumi_exporter_up", {})).toBe(1);
    expect(metrics.value(m, "pulumi_exporter_collect_duration_seconds", {})).toBe(0);
    expect(metrics.value(m, "pulumi_exporter_last_success_timestamp_seconds", {})).toBe(1000);

    // The next cycle sees the stack the invalid item hid: it appears; nothing else is dropped.
    sim.clearFaults();
    clock = 1_060_000;
    const next = await collector.collect();
    expect(next.stats.stacks).toBe(5);
    const after = await metrics.collect();
    expect(metrics.value(after, "pulumi_exporter_items_dropped_total", { operation: "ListUserStacks" })).toBe(
      1,
    );
    expect(metrics.value(after, "pulumi_exporter_last_success_timestamp_seconds", {})).toBe(1060);
  });
});
