/**
 * A flood of 1,000 signed deliveries at once is answered in full while a /metrics scrape, sent in the middle of
 * it, is answered too. The receiver does no collection work in the request (the sink only queues), so the event
 * loop is never held for long: measured as the longest CPU-time stall of the JavaScript thread, which a busy
 * machine does not stretch (see test/support/event-loop-watch.ts). 100 ms is an order of magnitude above one
 * request's work (an HMAC and a JSON parse of a small body) and far below a handler that did the reads itself.
 */
import { afterEach, expect, test } from "bun:test";
import { watchEventLoop } from "../support/event-loop-watch.ts";
import { deliverJson, payloads, type Rig, startRig, webhookCounts } from "./support.ts";

const EVENTS = 1_000;

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

test("1,000 deliveries at once: every one answered 202 or 200, a concurrent scrape answered, one trigger each", async () => {
  const r = await startRig();
  rig = r;
  const url = r.exporter.webhookUrl ?? "";
  const watch = watchEventLoop();
  const answered: number[] = [];
  const flood = Array.from({ length: EVENTS }, (_, i) =>
    deliverJson(
      url,
      "stack_update",
      payloads.stackUpdate("org-1", "web", `stack-${i % 50}`),
      `flood-${i % 900}`,
    ).then((response) => {
      answered.push(response.status);
      return response.status;
    }),
  );
  // Sent while the flood is in flight (none of it has been answered yet: answers need turns of the loop).
  const pendingWhenScraped = EVENTS - answered.length;
  const scrape = fetch(`${r.exporter.url}/metrics`).then(async (response) => ({
    status: response.status,
    text: await response.text(),
  }));
  const statuses = await Promise.all(flood);
  const scraped = await scrape;
  const stalls = watch.stop();

  expect(pendingWhenScraped).toBe(EVENTS);
  expect(scraped.status).toBe(200);
  expect(scraped.text).toContain("# TYPE pulumi_exporter_api_requests_total counter\n");
  // 900 distinct delivery IDs: 100 redeliveries.
  const byStatus = { 200: 0, 202: 0 } as Record<number, number>;
  for (const status of statuses) byStatus[status] = (byStatus[status] ?? 0) + 1;
  expect(byStatus).toEqual({ 200: 100, 202: 900 });
  expect(r.triggers).toHaveLength(900);
  expect(new Set(r.triggers.map((t) => (t.kind === "stack-history" ? t.stack : ""))).size).toBe(50);
  expect(await webhookCounts(r.exporter)).toEqual({
    "stack_update,accepted": 900,
    "stack_update,duplicate": 100,
  });
  expect(stalls.cpuMs).toBeLessThan(100);
});
