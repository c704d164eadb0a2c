import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { DEMO_TOKEN } from "../../src/sim/options.ts";
import { startSimulator } from "../../src/sim/server.ts";
import { ManualClock } from "../support/manual-clock.ts";

describe("startSimulator", () => {
  test("listens on 127.0.0.1 with a free port and the demo token by default", async () => {
    const sim = await startSimulator({ stacks: 5 });
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.token).toBe(DEMO_TOKEN);
      const response = await fetch(`${sim.url}/api/user/stacks`, {
        headers: { authorization: `token ${DEMO_TOKEN}` },
      });
      expect(((await response.json()) as { stacks: unknown[] }).stacks.length).toBe(5);
    } finally {
      await sim.stop();
    }
  });

  test("real-time mode ticks once per interval of its timers until stopped", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const sim = await startSimulator({ stacks: 5, tickEveryMs: 2_000, timers: clock });
    clock.advance(1_999);
    expect(sim.model.ticks).toBe(0);
    clock.advance(1);
    expect(sim.model.ticks).toBe(1);
    clock.advance(4_000);
    expect(sim.model.ticks).toBe(3);
    await sim.stop();
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(sim.model.ticks).toBe(3);
  });

  test("real-time mode starts the clock at its timers' clock and keeps pace with it", async () => {
    const sim = await startSimulator({
      stacks: 5,
      tickEveryMs: 5_000,
      timers: new ManualClock(1_800_000_123_456),
    });
    await sim.stop();
    expect(sim.model.now).toBe(1_800_000_123);
    expect(sim.model.options.tickSeconds).toBe(5);
    expect(sim.tick(2).now).toBe(1_800_000_133);
  });

  test("an explicit start time and tick length win over real-time defaults", async () => {
    const sim = await startSimulator({
      stacks: 5,
      tickEveryMs: 5_000,
      startTime: 1_700_000_000,
      tickSeconds: 60,
    });
    await sim.stop();
    expect(sim.model.now).toBe(1_700_000_000);
    expect(sim.model.options.tickSeconds).toBe(60);
  });

  test("rejects a bad tick interval", async () => {
    await expect(startSimulator({ tickEveryMs: 0 })).rejects.toThrow(
      "invalid simulator option: tickEveryMs must be at least 1 (got 0)",
    );
  });
});

describe("bun src/sim/main.ts", () => {
  test("prints its URL and token and serves the API", async () => {
    const child = Bun.spawn(
      [
        process.execPath,
        resolve(import.meta.dir, "../../src/sim/main.ts"),
        "--port",
        "0",
        "--stacks",
        "12",
        "--orgs",
        "2",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    try {
      const reader = child.stdout.getReader();
      let out = "";
      for (let i = 0; i < 50 && !out.includes("try:"); i++) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      const token = /token: (\S+)/.exec(out)?.[1];
      expect(token).toBe(DEMO_TOKEN);
      const response = await fetch(`${url}/api/user/stacks`, {
        headers: { authorization: `token ${token}` },
      });
      expect(((await response.json()) as { stacks: unknown[] }).stacks.length).toBe(12);
      expect(out).toContain("organizations: org-1 (");
    } finally {
      child.kill();
      await child.exited;
    }
  });

  test("a bad flag exits 2 with the error", async () => {
    const child = Bun.spawn(
      [process.execPath, resolve(import.meta.dir, "../../src/sim/main.ts"), "--stacks", "x"],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(await child.exited).toBe(2);
    expect(await new Response(child.stderr).text()).toBe("error: --stacks needs a number (got x)\n");
  });
});
