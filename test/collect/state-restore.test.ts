/**
 * A large state file does not delay `/healthz`: it is read after the HTTP server started, `/readyz` says
 * "restoring state" meanwhile, and the first cycle waits for the restore. The test holds the restore between two
 * of its steps, so nothing here depends on how fast the machine reads 100,000 stacks.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { saveStateFile } from "../../src/collect/state-file.ts";
import { StateFileError } from "../../src/collect/state-file-error.ts";
import { SYNC_RESTORE_MAX_BYTES } from "../../src/collect/state-store.ts";
import { createLogger, silentLogger } from "../../src/log/logger.ts";
import { ServerStartError } from "../../src/server/server-start-error.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { stateOf, track } from "../support/state-fixtures.ts";
import { testConfig } from "../support/test-config.ts";

const STACKS = 100_000;
const dir = mkdtempSync(join(tmpdir(), "pe-state-restore-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let running: RunningExporter | undefined;
afterEach(async () => {
  await running?.stop(1000);
  running = undefined;
});

/** Pulumi Cloud as the state file last saw it: no stack changed, so a restored track needs no history read. */
function world(): FakeApi {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg({ members: 2 }));
  for (let n = 0; n < STACKS; n++) {
    api.addStack({
      id: `id-${n}`,
      org: "acme",
      project: "web",
      stack: `stack-${n}`,
      resourceCount: 12,
      updates: [update(7, "succeeded", 1_700_000_000 + n, 1_700_000_100 + n)],
    });
  }
  return api;
}

function savedTracks() {
  return Array.from({ length: STACKS }, (_, n) => track(n, { pending: [] }));
}

describe("a large state file", () => {
  test("100,000 stacks: /healthz 200 and /readyz 503 restoring state during the load, then restored", async () => {
    const api = world();
    const path = join(dir, "state.json");
    saveStateFile(path, stateOf(savedTracks()));
    expect(statSync(path).size).toBeGreaterThan(SYNC_RESTORE_MAX_BYTES);

    const lines: string[] = [];
    const firstCycle = Promise.withResolvers<void>();
    const logger = createLogger({
      level: "info",
      write: (line) => {
        lines.push(line);
        if (line.includes('msg="collection cycle finished"')) firstCycle.resolve();
      },
    });
    const held = Promise.withResolvers<void>();
    const paused = Promise.withResolvers<void>();
    let pauses = 0;
    running = await startExporter({
      api,
      logger,
      config: testConfig({ state: { file: path } }),
      restorePause: () => {
        pauses++;
        paused.resolve();
        return held.promise;
      },
    });
    await paused.promise;

    const health = await fetch(`${running.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    const ready = await fetch(`${running.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, "not ready: restoring state\n"]);
    expect(api.totalCalls).toBe(0);
    expect(running.collector.state.stacks.size).toBe(0);
    expect(lines.filter((l) => l.includes("state restored"))).toEqual([]);

    held.resolve();
    await firstCycle.promise;
    // One pause after the read, then one per thousand entries checked.
    expect(pauses).toBe(1 + STACKS / 1000);
    expect(lines.filter((l) => l.includes("state restored"))).toEqual([
      expect.stringContaining(`msg="state restored" path=${path} stacks=100000 tombstones=0 orgs=0`),
    ]);
    // Every stack came back from the file: none needed its history read again.
    expect(api.calls.get("GetStackUpdates")).toBeUndefined();
    expect(running.collector.state.stacks.size).toBe(STACKS);
    expect(running.collector.state.stacks.get("acme/web/stack-99999")).toEqual(
      track(99_999, { pending: [] }),
    );
    const readyAfter = await fetch(`${running.url}/readyz`);
    expect([readyAfter.status, await readyAfter.text()]).toEqual([200, "ok\n"]);
  });
});

describe("the exporter and its lock", () => {
  test("stop() removes the lock; the saved state stays", async () => {
    const path = join(dir, "stop", "state.json");
    const api = new FakeApi();
    api.orgs.set("acme", fakeOrg());
    const cycle = Promise.withResolvers<void>();
    const logger = createLogger({
      write: (line) => {
        if (line.includes('msg="collection cycle finished"')) cycle.resolve();
      },
    });
    const exporter = await startExporter({ api, logger, config: testConfig({ state: { file: path } }) });
    expect(readFileSync(`${path}.lock`, "utf8")).toBe(`${process.pid}\n`);
    await cycle.promise;
    await exporter.stop(1000);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(existsSync(path)).toBe(true);
  });

  test("a start that fails (the port is taken) leaves no lock behind", async () => {
    const path = join(dir, "port", "state.json");
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    try {
      const start = startExporter({
        api: new FakeApi(),
        logger: silentLogger,
        config: testConfig({ state: { file: path }, web: { listenAddress: `127.0.0.1:${taken.port}` } }),
      });
      await expect(start).rejects.toBeInstanceOf(ServerStartError);
      expect(existsSync(`${path}.lock`)).toBe(false);
    } finally {
      await taken.stop(true);
    }
  });

  test("a large unusable file that cannot be moved aside stops the exporter through onFatal; no cycle runs", async () => {
    const path = join(dir, "fatal.json");
    const garbage = "x".repeat(SYNC_RESTORE_MAX_BYTES + 1);
    writeFileSync(path, garbage);
    writeFileSync(`${path}.bad`, "");
    for (let i = 1; i <= 9; i++) writeFileSync(`${path}.bad.${i}`, "");
    const api = new FakeApi();
    const fatal = Promise.withResolvers<Error>();
    running = await startExporter({
      api,
      logger: silentLogger,
      config: testConfig({ state: { file: path } }),
      onFatal: fatal.resolve,
    });
    const error = await fatal.promise;
    expect(error).toBeInstanceOf(StateFileError);
    expect(error.message).toBe(
      `state file ${path} is unusable (not valid JSON (${garbage.length} characters)) and cannot be moved aside: ${path}.bad and ${path}.bad.1 to .bad.9 all exist; move it away or choose another --state.file`,
    );
    expect(api.totalCalls).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(garbage);
    const ready = await fetch(`${running.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([
      503,
      "not ready: no collection cycle has finished yet\n",
    ]);
  });
});
