/**
 * A flood of 1,000 signed deliveries at once, from a process of its own, is answered in full while a /metrics
 * scrape, sent once the flood is on its way, is answered too. The receiver does no collection work in the request
 * (the sink only queues), so the event loop is never held for long: measured as the longest CPU-time stall of the
 * JavaScript thread, which a busy machine stretches far less than wall time (test/support/event-loop-watch.ts).
 * Seen: 35-75 ms, nearly all of it Bun taking a burst of hundreds of connections in one turn; the bound, 250 ms,
 * leaves room for a loaded machine and still fails a receiver that did a millisecond of work per delivery in the
 * request (900 of them arrive in one burst).
 */
import { afterEach, expect, test } from "bun:test";
import { resolve } from "node:path";
import { watchEventLoop } from "../support/event-loop-watch.ts";
import { type Rig, SECRET, startRig, webhookCounts } from "./support.ts";

const SENDER = resolve(import.meta.dir, "flood-sender.ts");

const EVENTS = 1_000;

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

test("1,000 deliveries at once: every one answered 202 or 200, a concurrent scrape answered, one trigger each", async () => {
  const r = await startRig();
  rig = r;
  // The first collection cycle is over: what the watch sees is the flood's.
  await r.exporter.scheduler.scheduled();
  const watch = watchEventLoop();
  const sender = Bun.spawn([process.execPath, SENDER, r.exporter.webhookUrl ?? "", SECRET, String(EVENTS)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = sender.stdout.getReader();
  let output = "";
  const decoder = new TextDecoder();
  while (!output.includes("sent\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
  }
  // Sent once the flood is on its way.
  const scrape = await fetch(`${r.exporter.url}/metrics`);
  const scraped = { status: scrape.status, text: await scrape.text() };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
  }
  expect(await sender.exited).toBe(0);
  const stalls = watch.stop();

  expect(scraped.status).toBe(200);
  expect(scraped.text).toContain("# TYPE pulumi_exporter_webhooks_received_total counter\n");
  const statuses: number[] = JSON.parse(output.split("\n")[1] ?? "[]");
  expect(statuses).toHaveLength(EVENTS);
  expect(statuses.slice(0, 900).every((status) => status === 202)).toBe(true);
  expect(statuses.slice(900).every((status) => status === 200)).toBe(true);
  expect(r.triggers).toHaveLength(900);
  expect(new Set(r.triggers.map((t) => (t.kind === "stack-history" ? t.stack : ""))).size).toBe(50);
  expect(await webhookCounts(r.exporter)).toEqual({
    "stack_update,accepted": 900,
    "stack_update,duplicate": 100,
  });
  expect(stalls.cpuMs).toBeLessThan(250);
});
