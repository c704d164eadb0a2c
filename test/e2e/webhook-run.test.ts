/**
 * Webhooks end to end through the compiled binary: the simulator finishes updates and posts their signed webhooks
 * to the exporter; the exporter reads those stacks at once and pushes an OTLP export, received by a real protobuf
 * receiver, that counts them exactly, within 2 s of the simulator finishing them. The collect interval is an hour:
 * no cycle can be what counted them.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { UPDATE_DURATION_BUCKETS } from "../../src/metrics/catalog.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { WebhookSender } from "../../src/sim/webhooks.ts";
import { type ExporterProcess, launcher, spawnExporter } from "../support/e2e-process.ts";
import { type E2eReceiver, startReceiver } from "../support/e2e-receivers.ts";
import { otlpSeries, pick, UPDATE_FAMILIES, UpdateLedger } from "../support/e2e-truth.ts";
import { points } from "../support/otlp-points.ts";

setDefaultTimeout(60_000);

const TOKEN = "pul-e2e-webhook-token-8c1d2e";
const SECRET = "e2e-webhook-secret-51a7b0";
const ORGS = ["org-1"];
/** What the assertion allows from the simulator finishing the updates to the export counting them. */
const WITHIN_MS = 2_000;

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let sim: RunningSimulator | undefined;
let sender: WebhookSender | undefined;
let receiver: E2eReceiver | undefined;
let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await sender?.stop();
  await exporter?.stop();
  await receiver?.stop();
  await sim?.stop();
  sender = undefined;
  exporter = undefined;
  receiver = undefined;
  sim = undefined;
});

describe("webhooks through the compiled binary", () => {
  test("a signed webhook → a targeted read → an OTLP export counting the update, within 2 s", async () => {
    const program = await launcher("binary");
    sim = await startSimulator({
      token: TOKEN,
      seed: 5,
      orgs: 1,
      stacks: 12,
      updatesPerStack: 3,
      churn: 0.5,
      stacksCreatedPerTick: 0,
      stacksDeletedPerTick: 0,
      deploymentsPerTick: 0,
      neoTasksPerTick: 0,
      tickSeconds: 60,
      startTime: Math.floor(Date.now() / 1000) - 3600,
    });
    // Updates running when the exporter first looks: they finish in the ticks below.
    sim.tick(1);
    const ledger = new UpdateLedger(sim.model, ORGS);
    receiver = await startReceiver("http/protobuf");
    exporter = spawnExporter(
      program,
      [
        "run",
        `--pulumi.api-url=${sim.url}`,
        `--pulumi.organizations=${ORGS.join(",")}`,
        "--pulumi.collect-interval=1h",
        `--otlp.endpoint=${receiver.endpoint}`,
        "--otlp.protocol=http/protobuf",
        "--otlp.insecure",
        "--web.listen-address=127.0.0.1:0",
      ],
      { env: { PULUMI_ACCESS_TOKEN: TOKEN, PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET } },
    );
    const url = await exporter.url(20_000);
    sender = new WebhookSender(sim.model, { url: `${url}/webhooks/pulumi`, secret: SECRET });

    // The first cycle's export: running updates seen, nothing counted.
    const { index: first } = await receiver.waitForExportWhere(
      0,
      (body) => points(body, "pulumi_exporter_up").length > 0,
      20_000,
    );
    expect(
      pick(otlpSeries(receiver.received[first]?.body ?? { resourceMetrics: [] }), UPDATE_FAMILIES),
    ).toEqual({});

    let ticks = 0;
    let latencies: number[] = [];
    while (ledger.counted() < 3 && ticks < 10) {
      const before = ledger.counted();
      const from = receiver.received.length;
      const finishedAt = performance.now();
      sim.tick(1);
      ticks++;
      if (ledger.counted() === before) continue;
      const counted = ledger.series(UPDATE_DURATION_BUCKETS);
      // A generous wait; the assertion is on the time it took.
      await receiver.waitForExportWhere(
        from,
        (body, final) => {
          const series = pick(otlpSeries(body), UPDATE_FAMILIES);
          if (final) expect(series).toEqual(counted);
          return Bun.deepEquals(series, counted);
        },
        15_000,
      );
      latencies = [...latencies, performance.now() - finishedAt];
    }
    expect(ledger.counted()).toBeGreaterThanOrEqual(3);
    for (const ms of latencies) expect(ms).toBeLessThan(WITHIN_MS);
    await sender.flush();
    const stats = sender.stats();
    expect(stats.failed).toBe(0);
    expect(stats.delivered).toBe(stats.sent);
    // Still one cycle: the webhooks' reads did the counting.
    expect(exporter.stderr().match(/collection cycle finished/g)?.length).toBe(1);
  });
});
