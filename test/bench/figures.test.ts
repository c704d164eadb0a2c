import { describe, expect, test } from "bun:test";
import { goFormulaCalls, lowerBoundMs, median, mib } from "../../bench/figures.ts";
import { parseCpuSeconds, parseMemory } from "../../bench/proc.ts";

describe("median", () => {
  test("middle value of an odd count, mean of the middle two of an even count, unsorted input", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  test("NaN without values", () => {
    expect(median([])).toBeNaN();
  });
});

describe("the issue's formulas", () => {
  test("Go exporter: pages + 2 per stack + 10 per org", () => {
    expect(goFormulaCalls(12, 1_003, 3)).toBe(12 + 2_006 + 30);
  });

  test("bound: ceil(calls / concurrency) × latency", () => {
    expect(lowerBoundMs(158, 10, 50)).toBe(800);
    expect(lowerBoundMs(150, 10, 50)).toBe(750);
    expect(lowerBoundMs(1, 30, 50)).toBe(50);
  });

  test("MiB", () => {
    expect(mib(80 * 1024 * 1024)).toBe(80);
  });
});

describe("/proc parsing", () => {
  // A real line of /proc/<pid>/stat, with a command name holding a space and a parenthesis.
  const stat =
    "30072 (odd) name) R 30068 30068 23290 0 -1 4194304 124 0 0 0 250 37 0 0 20 0 1 0 1223797 3133440 355 " +
    "18446744073709551615 94065138384896 94065138404777 140734886276432 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

  test("utime + stime in seconds at 100 ticks per second", () => {
    expect(parseCpuSeconds(stat)).toBeCloseTo(2.87, 10);
  });

  test("an unreadable stat line is an error naming the field", () => {
    expect(() => parseCpuSeconds("30072 cat R")).toThrow(
      "unreadable /proc stat: no ')' after the command name",
    );
    expect(() => parseCpuSeconds("1 (x) R 1 2")).toThrow('unreadable /proc stat: utime "undefined"');
  });

  test("VmRSS and VmHWM in bytes", () => {
    const status = "Name:\tpulumi-exporter\nVmPeak:\t  999 kB\nVmHWM:\t  104688 kB\nVmRSS:\t   90824 kB\n";
    expect(parseMemory(status)).toEqual({ rssBytes: 90_824 * 1024, peakRssBytes: 104_688 * 1024 });
    expect(() => parseMemory("VmRSS:\t 1 kB\n")).toThrow("unreadable /proc status: no VmHWM line");
  });
});
