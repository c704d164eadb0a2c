/**
 * How the configuration sets when a cycle reads a running update again: polling backs off up to
 * --pulumi.running-update-max-gap, equal to the collect interval reads it every cycle, and with webhooks the
 * reconcile interval applies. The exporter runs on a manual clock; the fake API counts the history reads.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type RunningExporter, runningReread, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { testConfig } from "../support/test-config.ts";

const MINUTE = 60_000;
const START_MS = 1_700_000_000_000;

let running: RunningExporter | undefined;
afterEach(async () => {
  await running?.stop(1000);
  running = undefined;
});

/** History reads in the first cycle and in each of the `cycles` after it, a minute apart. */
async function historyReads(maxGapMs: number, cycles: number): Promise<number[]> {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg());
  api.addStack({
    id: "s1",
    org: "acme",
    project: "web",
    stack: "prod",
    resourceCount: 3,
    updates: [update(1, "succeeded", 1000, 1060), update(2, "running", 1_699_999_990)],
  });
  const clock = new ManualClock(START_MS);
  running = await startExporter({
    api,
    logger: silentLogger,
    timers: clock,
    config: testConfig({ pulumi: { collectIntervalMs: MINUTE, runningUpdateMaxGapMs: maxGapMs } }),
  });
  const reads: number[] = [];
  for (let i = 0; i <= cycles; i++) {
    api.resetCalls();
    await runNextCycle(running.scheduler, clock, i === 0 ? 0 : MINUTE);
    reads.push(api.calls.get("GetStackUpdates") ?? 0);
  }
  return reads;
}

describe("a running update's re-reads", () => {
  test("the default 3m: read again after 2 minutes, then every 3", async () => {
    expect(await historyReads(3 * MINUTE, 8)).toEqual([1, 0, 1, 0, 0, 1, 0, 0, 1]);
  });

  test("a maximum gap equal to the collect interval: every cycle", async () => {
    expect(await historyReads(MINUTE, 4)).toEqual([1, 1, 1, 1, 1]);
  });

  test("the configuration maps to the collector's policy", () => {
    const polling = testConfig({ pulumi: { collectIntervalMs: MINUTE, runningUpdateMaxGapMs: 3 * MINUTE } });
    expect(runningReread(polling)).toEqual({ mode: "backoff", intervalMs: MINUTE, maxGapMs: 3 * MINUTE });
    expect(runningReread(testConfig({ pulumi: { runningUpdateMaxGapMs: MINUTE } }))).toBeUndefined();
    const webhooks = testConfig({ webhook: { reconcileIntervalMs: 5 * MINUTE } });
    expect(runningReread(webhooks)).toEqual({ mode: "reconcile", everyMs: 5 * MINUTE });
  });
});
