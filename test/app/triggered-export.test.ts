/**
 * A targeted read's values leave at once: recorded like a cycle's, served on /metrics from its snapshot, and pushed
 * over OTLP (to a protobuf receiver decoding with the official protos) at most once per second.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { points } from "../support/otlp-points.ts";
import { testConfig } from "../support/test-config.ts";

const prod = { org: "acme", project: "web", stack: "prod" };
const dev = { org: "acme", project: "web", stack: "dev" };

let running: RunningExporter | undefined;
let receiver: OtlpHttpReceiver | undefined;
afterEach(async () => {
  await running?.stop(1000);
  await receiver?.stop();
  running = undefined;
  receiver = undefined;
});

function updateTotal(body: Parameters<typeof points>[0], ref: typeof prod): number | undefined {
  return points(body, "pulumi_update_total").find((p) => p.attributes.stack === ref.stack)?.value;
}

describe("exports after targeted reads", () => {
  test("the first goes at once, later ones within the second are one export at its end", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg({}));
    const prodStack = api.addStack({
      id: "s1",
      ...prod,
      resourceCount: 3,
      updates: [update(1, "in-progress", 100)],
    });
    const devStack = api.addStack({
      id: "s2",
      ...dev,
      resourceCount: 3,
      updates: [update(1, "in-progress", 100)],
    });
    const clock = new ManualClock(1_000_000);
    running = await startExporter({
      api,
      logger: silentLogger,
      timers: clock,
      config: testConfig({ otlp: { enabled: true, endpoint: receiver.url } }),
    });
    await runNextCycle(running.scheduler, clock);
    // The first cycle's two exports: early (listings in) and after the cycle.
    await receiver.waitForExports(2, 5000);

    prodStack.updates[0] = update(1, "succeeded", 100, 160);
    running.collector.trigger({ kind: "stack-history", ...prod });
    await running.collector.triggersRead();
    const [, , third] = await receiver.waitForExports(3, 5000);
    if (!third) throw new Error("no export after the targeted read");
    expect(updateTotal(third.body, prod)).toBe(1);
    expect(updateTotal(third.body, dev)).toBeUndefined();
    const page = await (await fetch(`${running.url}/metrics`)).text();
    expect(page).toContain(
      'pulumi_update_total{org="acme",project="web",stack="prod",kind="update",result="succeeded"} 1\n',
    );

    // Two more reads within the second: no export until the second ends, then one with both.
    clock.advance(300);
    devStack.updates[0] = update(1, "failed", 100, 200);
    running.collector.trigger({ kind: "stack-history", ...dev });
    await running.collector.triggersRead();
    clock.advance(300);
    running.collector.trigger({ kind: "stack-history", ...prod });
    await running.collector.triggersRead();
    expect(receiver.received).toHaveLength(3);
    // /metrics does not wait for the export.
    expect(await (await fetch(`${running.url}/metrics`)).text()).toContain(
      'pulumi_update_total{org="acme",project="web",stack="dev",kind="update",result="failed"} 1\n',
    );
    clock.advance(399);
    expect(receiver.received).toHaveLength(3);
    clock.advance(1);
    const fourth = (await receiver.waitForExports(4, 5000))[3];
    if (!fourth) throw new Error("no coalesced export");
    expect(updateTotal(fourth.body, prod)).toBe(1);
    expect(updateTotal(fourth.body, dev)).toBe(1);
    // Nothing more was asked for: the window closes without an export.
    clock.advance(1000);
    expect(receiver.received).toHaveLength(4);
    expect(api.calls.get("GetStackUpdates")).toBe(2 + 3);
  });

  test("without OTLP push: /metrics at once, and the state file written before any export could show it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "triggered-state-"));
    const file = join(dir, "state.json");
    try {
      const api = new FakeApi();
      api.orgs.set("acme", fakeOrg({}));
      const prodStack = api.addStack({
        id: "s1",
        ...prod,
        resourceCount: 3,
        updates: [update(1, "in-progress", 100)],
      });
      const clock = new ManualClock(1_000_000);
      running = await startExporter({
        api,
        logger: silentLogger,
        timers: clock,
        config: testConfig({ state: { file } }),
      });
      await runNextCycle(running.scheduler, clock);
      const saved = () => JSON.parse(readFileSync(file, "utf8")).stacks[0];
      expect(saved()).toMatchObject({ lastVersion: 1, pending: [{ version: 1, kind: "update" }] });

      prodStack.updates[0] = update(1, "succeeded", 100, 160);
      running.collector.trigger({ kind: "stack-history", ...prod });
      await running.collector.triggersRead();
      expect(await (await fetch(`${running.url}/metrics`)).text()).toContain(
        'pulumi_update_total{org="acme",project="web",stack="prod",kind="update",result="succeeded"} 1\n',
      );
      // No cycle ran since: the targeted read saved it.
      expect(saved()).toMatchObject({ lastVersion: 1, pending: [] });
      await running.stop(1000);
      running = undefined;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
