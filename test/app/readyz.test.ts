/**
 * `/readyz` says why the exporter is not ready: before the first cycle, and after cycles whose listing of an
 * organization failed (it used to say "no collection has finished yet" then too). The loop runs on a manual clock.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { testConfig } from "../support/test-config.ts";

const INTERVAL_MS = 60_000;
const START_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const STARTED = "2026-12-01T12:00:00.000Z";
const NEXT = "2026-12-01T12:01:00.000Z";
const LISTING_ERROR = "ListUserStacks: HTTP 503 Service Unavailable";

let running: RunningExporter | undefined;
afterEach(async () => {
  await running?.stop(1000);
  running = undefined;
});

async function start() {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg());
  api.orgs.set("beta", fakeOrg());
  const clock = new ManualClock(START_MS);
  running = await startExporter({
    api,
    logger: silentLogger,
    timers: clock,
    config: testConfig({ pulumi: { organizations: ["acme", "beta"], collectIntervalMs: INTERVAL_MS } }),
  });
  const r = running;
  const nextCycle = () => runNextCycle(r.scheduler, clock);
  const readyz = async (query = "", headers: Record<string, string> = {}) => {
    const response = await fetch(`${r.url}/readyz${query}`, { headers });
    return {
      status: response.status,
      type: response.headers.get("content-type"),
      body: await response.text(),
    };
  };
  return { api, nextCycle, readyz };
}

describe("/readyz", () => {
  test("names the organizations not listed and why, after cycles finished; ok once all are", async () => {
    const { api, nextCycle, readyz } = await start();
    api.failing.add("ListUserStacks:beta");
    expect(await readyz()).toEqual({
      status: 503,
      type: "text/plain; charset=UTF-8",
      body: "not ready: no collection cycle has finished yet\n",
    });
    await nextCycle();
    expect(await readyz()).toEqual({
      status: 503,
      type: "text/plain; charset=UTF-8",
      body: `not ready: organizations not listed: beta (${LISTING_ERROR})\n`,
    });
    api.failing.add("ListUserStacks:acme");
    await nextCycle();
    expect((await readyz()).body).toBe(
      `not ready: organizations not listed: acme (${LISTING_ERROR}), beta (${LISTING_ERROR})\n`,
    );
    api.failing.clear();
    await nextCycle();
    expect(await readyz()).toEqual({ status: 200, type: "text/plain; charset=UTF-8", body: "ok\n" });
  });

  test("?verbose and Accept: application/json give each organization's detail", async () => {
    const { api, nextCycle, readyz } = await start();
    expect(JSON.parse((await readyz("?verbose")).body)).toEqual({
      ready: false,
      reason: "not ready: no collection cycle has finished yet",
      cycles: 0,
      organizations: [],
    });
    api.failing.add("ListUserStacks:beta");
    api.failing.add("ListTeams:beta");
    await nextCycle();
    await nextCycle();
    const answer = await readyz("", { Accept: "application/json" });
    expect(answer.status).toBe(503);
    expect(answer.type).toBe("application/json");
    expect(JSON.parse(answer.body)).toEqual({
      ready: false,
      reason: `not ready: organizations not listed: beta (${LISTING_ERROR})`,
      cycles: 2,
      organizations: [
        { org: "acme", listed: true, last_listed_at: NEXT, failing: [] },
        {
          org: "beta",
          listed: false,
          last_listed_at: null,
          failing: [
            { operation: "ListUserStacks", error: LISTING_ERROR, since: STARTED, failures: 2 },
            {
              operation: "ListTeams",
              error: "ListTeams: HTTP 503 Service Unavailable",
              since: STARTED,
              failures: 2,
            },
          ],
        },
      ],
    });
    api.failing.delete("ListUserStacks:beta");
    await nextCycle();
    const ready = await readyz("?verbose");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      ready: true,
      reason: "ok",
      cycles: 3,
      organizations: [
        { org: "acme", listed: true, last_listed_at: "2026-12-01T12:02:00.000Z", failing: [] },
        { org: "beta", listed: true, last_listed_at: "2026-12-01T12:02:00.000Z", failing: [{ failures: 3 }] },
      ],
    });
  });
});
