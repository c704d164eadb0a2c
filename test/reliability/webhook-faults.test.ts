/**
 * Faulty webhook deliveries against the simulator, through the real receiver into the collector (webhooks on,
 * reconcile every 5 minutes): dropped, duplicated, delayed, reordered and badly signed deliveries. No count is ever
 * above what the simulator finished; the dropped ones leave counts behind until the reconciliation reads them;
 * after a reconcile interval without new events every count is exactly the simulator's.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { UPDATE_DURATION_BUCKETS } from "../../src/metrics/catalog.ts";
import { snapshotReadings } from "../../src/metrics/readings.ts";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { WebhookSender } from "../../src/sim/webhooks.ts";
import { waitOn } from "../../src/timers.ts";
import { createWebhookReceiver } from "../../src/webhooks/receiver.ts";
import { pick, type Series, seriesKey, UpdateLedger } from "../support/e2e-truth.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { memoryMetrics } from "../support/memory-metrics.ts";

const SECRET = "faults-webhook-secret-0b7e";
const ORGS = ["org-1"];
const MINUTE = 60_000;
const RECONCILE_MS = 5 * MINUTE;

let sim: RunningSimulator | undefined;
let sender: WebhookSender | undefined;
afterEach(async () => {
  await sender?.stop();
  await sim?.stop();
  sender = undefined;
  sim = undefined;
});

function totals(series: Series): Series {
  return pick(series, ["pulumi_update_total"]);
}

/** Series of `actual` above the truth's: a count no read could justify. */
function overCounted(actual: Series, truth: Series): string[] {
  return Object.entries(actual)
    .filter(([key, value]) => value > (truth[key] ?? 0))
    .map(([key]) => key);
}

describe("faulty webhook deliveries", () => {
  test("never more than the simulator finished; exactly it once the reconciliation has read the running updates", async () => {
    sim = await startSimulator({
      token: "pul-faults-token",
      seed: 3,
      orgs: 1,
      stacks: 16,
      updatesPerStack: 3,
      churn: 0.4,
      stacksCreatedPerTick: 0,
      stacksDeletedPerTick: 0,
      deploymentsPerTick: 0,
      neoTasksPerTick: 0,
      tickSeconds: 60,
    });
    const model = sim.model;
    const ledger = new UpdateLedger(model, ORGS);
    // The exporter's clock: the model's, plus the minutes that pass without ticks at the end.
    let idleMs = 0;
    const now = () => (model.now + 1) * 1000 + idleMs;
    const deadlines = new ManualClock(0);
    let collector: Collector | undefined;
    const metrics = memoryMetrics(
      () => (collector?.snapshot ? snapshotReadings(collector.snapshot) : undefined),
      ORGS,
    );
    collector = new Collector({
      api: createPulumiClient({
        baseUrl: sim.url,
        token: sim.token,
        timeoutMs: 10_000,
        logger: silentLogger,
        retry: { maxRetries: 0 },
      }),
      logger: silentLogger,
      organizations: ORGS,
      maxConcurrency: 4,
      cycleBudgetMs: 10_000,
      now,
      wait: (ms, signal) => waitOn(deadlines, ms, signal),
      runningReread: { mode: "reconcile", everyMs: RECONCILE_MS },
      onCycle: (result) => metrics.instruments.recordCycle(result),
      onTriggered: (result) => metrics.instruments.recordCycle(result),
    });
    const target = collector;
    const receive = createWebhookReceiver({
      secret: () => SECRET,
      organizations: ORGS,
      sink: (trigger) => target.trigger(trigger),
      record: () => {},
      logger: silentLogger,
      // The duplicate window runs on the exporter's clock too.
      now,
    });
    sender = new WebhookSender(model, {
      url: "http://exporter.test/webhooks/pulumi",
      secret: SECRET,
      faults: { drop: 0.3, duplicate: 0.3, delay: 0.3, maxDelayTicks: 2, reorder: 0.5, badSignature: 0.3 },
      fetch: (url, init) => receive(new Request(url, init)),
    });
    const counted = async (): Promise<Series> => {
      const out: Series = {};
      for (const p of (await metrics.collect()).get("pulumi_update_total") ?? [])
        out[seriesKey("pulumi_update_total", p.attributes)] = p.value;
      return out;
    };

    await target.collect();
    /** Ticks after whose deliveries some finished update was not counted yet: a lost event's delay. */
    let behind = 0;
    for (let tick = 0; tick < 12; tick++) {
      sim.tick(1);
      await sender.flush();
      await target.triggersRead();
      const now = await counted();
      const truth = totals(ledger.series(UPDATE_DURATION_BUCKETS));
      expect(overCounted(now, truth)).toEqual([]);
      if (!Bun.deepEquals(now, truth)) behind++;
      await target.collect();
      expect(overCounted(await counted(), totals(ledger.series(UPDATE_DURATION_BUCKETS)))).toEqual([]);
    }
    const stats = sender.stats();
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.duplicated).toBeGreaterThan(0);
    expect(stats.badSignatures).toBeGreaterThan(0);
    expect(ledger.counted()).toBeGreaterThan(10);
    expect(behind).toBeGreaterThan(0);

    // No more events: within a reconcile interval the cycles read every update still running.
    for (let minute = 0; minute < 5; minute++) {
      idleMs += MINUTE;
      await target.collect();
    }
    await target.triggersRead();
    expect(await counted()).toEqual(totals(ledger.series(UPDATE_DURATION_BUCKETS)));
  });
});
