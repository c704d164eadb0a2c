/** `demo` with a webhook secret: the embedded simulator posts signed webhooks, and the exporter accepts them. */
import { afterEach, expect, test } from "bun:test";
import { startDemo } from "../../src/cli/demo.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { testConfig } from "../support/test-config.ts";

let running: { stop(): Promise<void> } | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

test("the simulator's webhooks reach the demo's receiver and are accepted", async () => {
  const lines: string[] = [];
  const config = testConfig({
    pulumi: { organizations: [], collectIntervalMs: 1_000, orgIntervalMs: 5_000 },
    webhook: { secret: "whsec-demo-test-3c1f" },
  });
  running = await startDemo(config, silentLogger, (line) => lines.push(line), { stacks: 40 });
  const url = lines.find((line) => line.startsWith("  webhooks: "))?.split(" to ")[1] ?? "";
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/pulumi$/);
  const metrics = `${new URL(url).origin}/metrics`;
  // The simulator ticks once a second: poll until a tick's webhooks were answered (bounded, not a fixed sleep).
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 200 && accepted === 0; i++) {
    const text = await (await fetch(metrics)).text();
    accepted = 0;
    rejected = 0;
    for (const match of text.matchAll(
      /^pulumi_exporter_webhooks_received_total\{kind="[^"]+",outcome="([^"]+)"\} (\d+)$/gm,
    )) {
      if (match[1] === "accepted") accepted += Number(match[2]);
      else rejected += Number(match[2]);
    }
    if (accepted === 0) await Bun.sleep(100);
  }
  expect(accepted).toBeGreaterThan(0);
  expect(rejected).toBe(0);
});
