import { describe, expect, test } from "bun:test";
import { ExportThrottle, TRIGGERED_EXPORT_WINDOW_MS } from "../../src/metrics/export-throttle.ts";
import { ManualClock } from "../support/manual-clock.ts";

function throttled() {
  const clock = new ManualClock(10_000);
  const pushes: number[] = [];
  const throttle = new ExportThrottle(async () => pushes.push(clock.now()), clock);
  return { clock, pushes, throttle };
}

describe("the triggered export throttle", () => {
  test("the first request exports at once; requests within the second become one export at its end", () => {
    const { clock, pushes, throttle } = throttled();
    expect(TRIGGERED_EXPORT_WINDOW_MS).toBe(1000);
    throttle.request();
    expect(pushes).toEqual([10_000]);
    clock.advance(100);
    throttle.request();
    clock.advance(400);
    throttle.request();
    throttle.request();
    expect(pushes).toEqual([10_000]);
    clock.advance(499);
    expect(pushes).toEqual([10_000]);
    clock.advance(1);
    expect(pushes).toEqual([10_000, 11_000]);
    // The coalesced export opened a window of its own.
    clock.advance(200);
    throttle.request();
    clock.advance(800);
    expect(pushes).toEqual([10_000, 11_000, 12_000]);
  });

  test("a quiet window closes: the next request exports at once again", () => {
    const { clock, pushes, throttle } = throttled();
    throttle.request();
    clock.advance(1000);
    expect(clock.pending).toBe(0);
    clock.advance(2345);
    throttle.request();
    expect(pushes).toEqual([10_000, 13_345]);
  });

  test("a flood of 1,000 requests in one second makes two exports", () => {
    const { clock, pushes, throttle } = throttled();
    for (let i = 0; i < 1000; i++) {
      throttle.request();
      clock.advance(1);
    }
    clock.advance(1000);
    expect(pushes).toEqual([10_000, 11_000]);
  });

  test("cancel drops the coalesced export", () => {
    const { clock, pushes, throttle } = throttled();
    throttle.request();
    throttle.request();
    throttle.cancel();
    clock.advance(5000);
    expect(pushes).toEqual([10_000]);
    expect(clock.pending).toBe(0);
  });
});
