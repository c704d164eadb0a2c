/**
 * A reloaded access token is sent from the next API request on: the running exporter against the simulator,
 * behind a proxy that records the Authorization header of every request. The loop runs on a manual clock.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { testConfig } from "../support/test-config.ts";

const OLD_TOKEN = "pul-app-reload-old-token-3a9f";
const NEW_TOKEN = "pul-app-reload-new-token-7c2e";

let running: RunningExporter | undefined;
let sim: RunningSimulator | undefined;
let proxy: ReturnType<typeof Bun.serve> | undefined;
afterEach(async () => {
  await running?.stop(1000);
  await sim?.stop();
  await proxy?.stop(true);
  running = undefined;
  sim = undefined;
  proxy = undefined;
});

describe("access token reload", () => {
  test("after applyConfig with a new token, the next cycle's requests carry it and none the old one", async () => {
    const simulator = await startSimulator({ token: OLD_TOKEN, seed: 5, orgs: 1, stacks: 2 });
    sim = simulator;
    const seen: string[] = [];
    proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        seen.push(request.headers.get("authorization") ?? "");
        const url = new URL(request.url);
        const headers = new Headers(request.headers);
        // The simulator knows one token; the proxy records what the exporter sent, then answers as for the old one.
        headers.set("authorization", `token ${OLD_TOKEN}`);
        return fetch(`${simulator.url}${url.pathname}${url.search}`, { headers });
      },
    });
    const clock = new ManualClock(Date.now());
    const config = testConfig({
      pulumi: { accessToken: OLD_TOKEN, apiUrl: `http://127.0.0.1:${proxy.port}`, organizations: ["org-1"] },
    });
    const r = await startExporter({ config, logger: silentLogger, timers: clock });
    running = r;
    const nextCycle = () => runNextCycle(r.scheduler, clock);
    await nextCycle();
    const before = seen.length;
    expect(before).toBeGreaterThan(1);
    expect(new Set(seen)).toEqual(new Set([`token ${OLD_TOKEN}`]));

    r.applyConfig({ ...config, pulumi: { ...config.pulumi, accessToken: NEW_TOKEN } });
    await nextCycle();
    const after = seen.slice(before);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after)).toEqual(new Set([`token ${NEW_TOKEN}`]));
  });
});
