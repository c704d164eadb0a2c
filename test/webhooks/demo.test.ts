/** `demo` with a webhook secret: the embedded simulator posts signed webhooks, and the exporter accepts them. */
import { afterEach, expect, test } from "bun:test";
import { type RunningDemo, startDemo } from "../../src/cli/demo.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { testConfig } from "../support/test-config.ts";

let running: RunningDemo | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

test("the simulator's webhooks reach the demo's receiver and are accepted, every one", async () => {
  const lines: string[] = [];
  const config = testConfig({
    pulumi: { organizations: [], collectIntervalMs: 1_000, orgIntervalMs: 5_000 },
    webhook: { secret: "whsec-demo-test-3c1f" },
  });
  // The demo's simulator ticks, and its exporter collects, on a manual clock: each step is one tick.
  const clock = new ManualClock(1_700_000_000_000);
  running = await startDemo(config, silentLogger, (line) => lines.push(line), { stacks: 40, timers: clock });
  const url = lines.find((line) => line.startsWith("  webhooks: "))?.split(" to ")[1] ?? "";
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/pulumi$/);
  const sender = running.webhooks;
  if (!sender) throw new Error("the demo has no webhook sender");
  for (let tick = 0; tick < 10; tick++) {
    clock.advance(1_000);
    await sender.flush();
  }
  const stats = sender.stats();
  expect(stats.events).toBeGreaterThan(0);
  expect([stats.sent, stats.delivered, stats.failed]).toEqual([stats.events, stats.events, 0]);
  const text = await (await fetch(`${new URL(url).origin}/metrics`)).text();
  const answers: Record<string, number> = {};
  for (const match of text.matchAll(
    /^pulumi_exporter_webhooks_received_total\{kind="[^"]+",outcome="([^"]+)"\} (\d+)$/gm,
  )) {
    const outcome = match[1] ?? "";
    answers[outcome] = (answers[outcome] ?? 0) + Number(match[2]);
  }
  // Every delivery answered 2xx and counted once, all of them accepted (the demo's sender injects no faults).
  expect(answers).toEqual({
    accepted: stats.delivered,
    duplicate: 0,
    bad_signature: 0,
    malformed: 0,
    unsupported: 0,
    too_large: 0,
  });
});
