/**
 * What a push backend sees when a state ends: an update's `pulumi_stack_update_in_progress` series is exported as 0
 * from the first cycle after it finished, for 5 minutes, and only then dropped; /metrics shows the same. The loop
 * runs on a manual clock, so each cycle is started by the test.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { ENDED_STATE_HOLD_MS } from "../../src/metrics/readings.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { points } from "../support/otlp-points.ts";
import { seriesFromPrometheus } from "../support/reliability-rig.ts";
import { testConfig } from "../support/test-config.ts";

const IN_PROGRESS = "pulumi_stack_update_in_progress";
const INTERVAL_MS = 60_000;
const START_MS = 1_700_000_000_000;

let running: RunningExporter | undefined;
let receiver: OtlpHttpReceiver | undefined;
afterEach(async () => {
  await running?.stop(1000);
  await receiver?.stop();
  running = undefined;
  receiver = undefined;
});

describe("an ended state gauge", () => {
  test("is exported as 0 for 5 minutes after the update ends, then dropped, in push and in pull", async () => {
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    const stack = api.addStack({
      id: "s1",
      org: "acme",
      project: "web",
      stack: "prod",
      resourceCount: 3,
      updates: [update(1, "succeeded", 1000, 1060), update(2, "running", 1_699_999_990)],
    });
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    const clock = new ManualClock(START_MS);
    running = await startExporter({
      api,
      logger: silentLogger,
      timers: clock,
      config: testConfig({
        // Every cycle reads the running update, so it is seen ending at the next one (no back-off).
        pulumi: { collectIntervalMs: INTERVAL_MS, runningUpdateMaxGapMs: INTERVAL_MS },
        otlp: { enabled: true, endpoint: receiver.url },
      }),
    });
    const r = running;
    const rx = receiver;
    // The first cycle pushes twice: early, once the listing is in, and after the cycle.
    let exports = 1;
    /** Runs the next cycle after `ms` and returns the in-progress points it pushed and the ones /metrics shows. */
    const cycleAfter = async (ms: number) => {
      await runNextCycle(r.scheduler, clock, ms);
      exports++;
      const newest = (await rx.waitForExports(exports, 10_000)).at(-1);
      if (!newest) throw new Error("no export");
      const pushed = points(newest.body, IN_PROGRESS).map((p) => [p.attributes.kind, p.kind, p.value]);
      const scraped = seriesFromPrometheus(await (await fetch(`${r.url}/metrics`)).text());
      const pulled = Object.entries(scraped).filter(([key]) => key.startsWith(`${IN_PROGRESS}{`));
      return { pushed, pulled };
    };
    const key = `${IN_PROGRESS}{kind="update",org="acme",project="web",stack="prod"}`;

    expect(await cycleAfter(0)).toEqual({ pushed: [["update", "int", 1]], pulled: [[key, 1]] });
    // The update finishes before the second cycle.
    stack.updates[1] = update(2, "succeeded", 1_699_999_990, 1_700_000_030);
    expect(await cycleAfter(INTERVAL_MS)).toEqual({ pushed: [["update", "int", 0]], pulled: [[key, 0]] });
    const endedAt = clock.now();
    // Still 0 just before the hold is over.
    expect(await cycleAfter(ENDED_STATE_HOLD_MS - 1_000)).toEqual({
      pushed: [["update", "int", 0]],
      pulled: [[key, 0]],
    });
    expect(clock.now()).toBe(endedAt + ENDED_STATE_HOLD_MS - 1_000);
    // Dropped once the hold is over.
    expect(await cycleAfter(1_000)).toEqual({ pushed: [], pulled: [] });
    expect(clock.now()).toBe(endedAt + ENDED_STATE_HOLD_MS);
  });
});
