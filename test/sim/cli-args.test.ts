import { describe, expect, test } from "bun:test";
import { parseSimArgs } from "../../src/sim/cli-args.ts";
import { parseDuration } from "../../src/sim/time.ts";

describe("parseSimArgs", () => {
  test("the documented example", () => {
    const args =
      "--stacks 1000 --orgs 3 --latency 50ms --port 8081 --seed 1 --churn 0.02 --tick-every 10s".split(" ");
    expect(parseSimArgs(args, 1_800_000_000)).toEqual({
      help: false,
      options: {
        port: 8081,
        stacks: 1000,
        orgs: 3,
        seed: 1,
        churn: 0.02,
        tickEveryMs: 10_000,
        tickSeconds: 10,
        startTime: 1_800_000_000,
        faults: [{ type: "latency", ms: 50 }],
      },
    });
  });

  test("flag=value, jitter, fault rules and explicit start time and tick seconds", () => {
    const { options } = parseSimArgs(
      [
        "--latency=20ms",
        "--jitter=1s",
        "--start-time=1700000000",
        "--tick-seconds=60",
        "--faults",
        '[{"type":"status","status":429,"retryAfter":2,"probability":0.1}]',
      ],
      1,
    );
    expect(options.startTime).toBe(1_700_000_000);
    expect(options.tickSeconds).toBe(60);
    expect(options.faults).toEqual([
      { type: "latency", ms: 20, jitterMs: 1000 },
      { type: "status", status: 429, retryAfter: 2, probability: 0.1 },
    ]);
  });

  test("errors name the flag", () => {
    expect(() => parseSimArgs(["--stacks", "many"], 1)).toThrow("--stacks needs a number (got many)");
    expect(() => parseSimArgs(["--bogus", "1"], 1)).toThrow("unknown flag --bogus (see --help)");
    expect(() => parseSimArgs(["--latency", "fast"], 1)).toThrow('invalid duration "fast"');
    expect(() => parseSimArgs(["--faults", '{"type":"nope"}'], 1)).toThrow("--faults: invalid fault rule:");
    expect(parseSimArgs(["--help"], 1).help).toBe(true);
  });

  test("durations", () => {
    expect([
      parseDuration("250"),
      parseDuration("50ms"),
      parseDuration("1.5s"),
      parseDuration("2m"),
      parseDuration("1h"),
    ]).toEqual([250, 50, 1500, 120_000, 3_600_000]);
  });
});
