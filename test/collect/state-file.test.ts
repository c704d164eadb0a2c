import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collector } from "../../src/collect/collector.ts";
import { loadStateFile, parseState, saveStateFile, serializeState } from "../../src/collect/state-file.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";

const dir = mkdtempSync(join(tmpdir(), "pe-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function world(): FakeApi {
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg({ members: 3 }));
  api.addStack({
    id: "s1",
    org: "acme",
    project: "web",
    stack: "prod",
    resourceCount: 5,
    updates: [update(1, "succeeded", 100, 160), update(2, "in-progress", 900)],
  });
  return api;
}

function collector(api: FakeApi, clock: () => number, state?: ReturnType<typeof parseState>): Collector {
  return new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 2,
    cycleBudgetMs: 10_000,
    now: clock,
    ...(state ? { initialState: state } : {}),
  });
}

describe("state file", () => {
  test("round-trips the collector state", async () => {
    const c = collector(world(), () => 1_000_000);
    await c.collect();
    const restored = parseState(serializeState(c.state));
    expect(restored.firstCycleStartedAt).toBe(1000);
    expect(restored.stacks.get("acme/web/prod")).toEqual(c.state.stacks.get("acme/web/prod") as never);
    expect(restored.orgs.get("acme")?.members).toBe(3);
  });

  test("after a restart, updates that finished while down count once and nothing counts twice", async () => {
    const api = world();
    const path = join(dir, "restart", "state.json");
    const before = collector(api, () => 1_000_000);
    await before.collect();
    saveStateFile(path, before.state);
    // While the exporter is down: the running update fails, another one succeeds.
    const stack = api.stacks[0];
    stack?.updates.splice(1, 1, update(2, "failed", 900, 950));
    stack?.updates.push(update(3, "succeeded", 1100, 1130));
    const loaded = loadStateFile(path);
    if (loaded.kind !== "loaded") throw new Error(`expected a loaded state, got ${loaded.kind}`);
    const after = collector(api, () => 1_200_000, loaded.state);
    const first = await after.collect();
    expect(first.events.map((e) => `${e.version}:${e.result}`).sort()).toEqual(["2:failed", "3:succeeded"]);
    const second = await after.collect();
    expect(second.events).toEqual([]);
  });

  test("is written atomically, readable only by its owner, with no temporary file left", () => {
    const path = join(dir, "atomic.json");
    saveStateFile(path, parseState(serializeState(collector(world(), () => 0).state)));
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("a missing, truncated or corrupt file is reported, not fatal", () => {
    expect(loadStateFile(join(dir, "nope.json"))).toEqual({ kind: "missing" });
    const truncated = join(dir, "truncated.json");
    writeFileSync(truncated, '{"format":1,"stacks":[{"org":"a"');
    const result = loadStateFile(truncated);
    expect(result.kind).toBe("invalid");
    expect(result.kind === "invalid" && result.reason.startsWith("not valid JSON")).toBe(true);
    const wrong = join(dir, "wrong.json");
    writeFileSync(wrong, '{"format":1,"stacks":[{"org":"a"}],"tombstones":[],"orgs":{}}');
    const invalid = loadStateFile(wrong);
    expect(invalid.kind === "invalid" && invalid.reason).toContain("stacks[0].project must be a string");
    expect(existsSync(wrong)).toBe(true);
  });
});
