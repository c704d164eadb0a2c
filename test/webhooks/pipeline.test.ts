/**
 * Webhook to metric, in process: the simulator's signed webhooks reach the exporter's receiver, whose triggers
 * make the collector read the stacks at once; /metrics counts the finished updates before any further cycle.
 */
import { afterEach, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { WebhookSender } from "../../src/sim/webhooks.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { testConfig } from "../support/test-config.ts";
import { SECRET, webhookCounts } from "./support.ts";

let exporter: RunningExporter | undefined;
let sim: RunningSimulator | undefined;
let sender: WebhookSender | undefined;
afterEach(async () => {
  await sender?.stop();
  await exporter?.stop(1000);
  await sim?.stop();
  sender = undefined;
  exporter = undefined;
  sim = undefined;
});

/** Sum of pulumi_update_total over every series on /metrics. */
async function updatesCounted(r: RunningExporter): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^pulumi_update_total\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  return total;
}

test("finished updates are counted from their webhooks, with no cycle in between", async () => {
  sim = await startSimulator({
    seed: 21,
    orgs: 1,
    stacks: 12,
    churn: 0.6,
    stacksCreatedPerTick: 0,
    stacksDeletedPerTick: 0,
    deploymentsPerTick: 0,
  });
  const clock = new ManualClock(sim.model.now * 1000);
  const config = testConfig({
    pulumi: { accessToken: sim.token, apiUrl: sim.url, organizations: ["org-1"] },
    webhook: { secret: SECRET },
  });
  const model = sim.model;
  const r = await startExporter({ config, logger: silentLogger, timers: clock, now: () => model.now * 1000 });
  exporter = r;
  await runNextCycle(r.scheduler, clock);
  const cycles = r.scheduler.cycles;
  const before = await updatesCounted(r);

  const kinds: string[] = [];
  sender = new WebhookSender(sim.model, {
    url: r.webhookUrl ?? "",
    secret: SECRET,
    fetch: (url, init) => {
      kinds.push(new Headers(init.headers).get("pulumi-webhook-kind") ?? "");
      return fetch(url, init);
    },
  });
  const report = sim.tick(3);
  await sender.flush();
  await r.collector.triggersRead();

  expect(report.updatesFinished).toBe(2);
  const finished = kinds.filter((k) => k === "stack_update" || k === "stack_preview").length;
  expect(finished).toBeGreaterThanOrEqual(report.updatesFinished);
  expect(r.scheduler.cycles).toBe(cycles);
  expect((await updatesCounted(r)) - before).toBe(finished);
  const counts = await webhookCounts(r);
  expect(Object.keys(counts).every((key) => key.endsWith(",accepted"))).toBe(true);
});
