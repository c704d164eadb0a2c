import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collector } from "../../src/collect/collector.ts";
import type { CollectorState } from "../../src/collect/state.ts";
import {
  encodeState,
  loadStateFile,
  parseState,
  removeLeftoverTemporaries,
  type StateRead,
  saveStateFile,
  serializeState,
  writeStateFile,
} from "../../src/collect/state-file.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { FULL_ORG, fullState, stateOf, track } from "../support/state-fixtures.ts";

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

function collector(api: FakeApi, clock: () => number, state?: CollectorState): Collector {
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

function loaded(read: StateRead | { kind: "missing" }): CollectorState {
  if (read.kind !== "loaded") throw new Error(`expected a loaded state, got ${JSON.stringify(read)}`);
  return read.state;
}

/** The tally of a read, as plain numbers. */
function droppedOf(read: StateRead) {
  if (read.kind !== "loaded") throw new Error(`expected a loaded state, got ${JSON.stringify(read)}`);
  return read.dropped.fields();
}

const NOTHING_DROPPED = { stacks: 0, tombstones: 0, orgs: 0, values: 0, first: undefined };

describe("state file", () => {
  test("round-trips the collector state", async () => {
    const c = collector(world(), () => 1_000_000);
    await c.collect();
    const restored = loaded(parseState(serializeState(c.state)));
    expect(restored.firstCycleStartedAt).toBe(1000);
    // When a history was last read, the newest start it saw and the re-reads of its running update are memory
    // only: a restart reads again.
    const { historyReadAt, newestStart, rereads, ...saved } = c.state.stacks.get("acme/web/prod") ?? {};
    expect([historyReadAt, newestStart, rereads]).toEqual([1_000_000, 900, 0]);
    expect(restored.stacks.get("acme/web/prod")).toEqual(saved as never);
    expect(restored.orgs.get("acme")?.members).toBe(3);
  });

  test("a state with every field set is written and read back deep-equal", () => {
    const state = fullState();
    const read = parseState(serializeState(state));
    expect(droppedOf(read)).toEqual(NOTHING_DROPPED);
    expect(loaded(read)).toEqual(state);
    // And again: what was read is written back byte for byte.
    expect(serializeState(loaded(read))).toBe(serializeState(state));
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
    const after = collector(api, () => 1_200_000, loaded(loadStateFile(path)));
    const first = await after.collect();
    expect(first.events.map((e) => `${e.version}:${e.result}`).sort()).toEqual(["2:failed", "3:succeeded"]);
    const second = await after.collect();
    expect(second.events).toEqual([]);
  });

  test("is written atomically, readable only by its owner, with no temporary file left", () => {
    const path = join(dir, "atomic.json");
    saveStateFile(path, loaded(parseState(serializeState(collector(world(), () => 0).state))));
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe("what enters the state file", () => {
  test("a value JSON cannot hold is left out on save, so the file reads back as it was written", () => {
    const state = stateOf(
      [
        track(1, { resourceCount: Number.POSITIVE_INFINITY, lastUpdateTimestamp: Number.NaN }),
        track(2, { lastVersion: Number.POSITIVE_INFINITY }),
        track(3, { listLastUpdate: 1.5 }),
        track(4),
      ],
      [track(5, { pending: [{ version: -1, kind: "update" }] })],
      {
        acme: {
          ...FULL_ORG,
          members: Number.NaN,
          neoBudget: { consumed: -3, allowance: 1, exhausted: false },
        },
      },
    );
    const encoded = encodeState(state);
    expect(encoded.dropped.fields()).toEqual({
      stacks: 1,
      tombstones: 1,
      orgs: 0,
      values: 5,
      first: "stack acme/web/stack-1.resourceCount must be a non-negative safe integer (was Infinity)",
    });
    expect(encoded.text).not.toContain("null");
    const read = parseState(encoded.text);
    expect(droppedOf(read)).toEqual(NOTHING_DROPPED);
    const { neoBudget: _budget, members: _members, ...orgRest } = FULL_ORG;
    expect(loaded(read)).toEqual(
      stateOf(
        [
          track(1, { resourceCount: undefined, lastUpdateTimestamp: undefined }),
          track(3, { listLastUpdate: undefined }),
          track(4),
        ],
        [],
        { acme: orgRest },
      ),
    );
  });

  test("a file an earlier version wrote with null for Infinity loses those values only", () => {
    const text = serializeState(stateOf([track(1), track(2)])).replace(
      '"resourceCount":12',
      '"resourceCount":null',
    );
    const read = parseState(text);
    expect(droppedOf(read)).toEqual({
      ...NOTHING_DROPPED,
      values: 1,
      first: "stacks[0].resourceCount must be a non-negative safe integer (was null)",
    });
    expect(loaded(read)).toEqual(stateOf([track(1, { resourceCount: undefined }), track(2)]));
  });
});

describe("reading item by item", () => {
  test("one bad track, tombstone or org value among good ones loses only itself", () => {
    const good = JSON.parse(serializeState(fullState())) as Record<string, unknown[]> & {
      orgs: Record<string, unknown>;
    };
    const stacks = good.stacks ?? [];
    const tombstones = good.tombstones ?? [];
    const document = {
      ...good,
      stacks: [stacks[0], { ...(stacks[1] as object), lastVersion: "7" }, stacks[1], stacks[0]],
      tombstones: [{ ...(tombstones[0] as object), id: undefined }, tombstones[0], 42],
      orgs: {
        ...good.orgs,
        acme: { ...(good.orgs.acme as object), members: -1, violations: { "advisory|audit": 1.5 } },
        broken: "nope",
      },
    };
    const read = parseState(JSON.stringify(document));
    expect(droppedOf(read)).toEqual({
      stacks: 2,
      tombstones: 2,
      orgs: 1,
      values: 2,
      first: "stacks[1].lastVersion must be a non-negative safe integer (was a string)",
    });
    const { members: _members, violations: _violations, ...acme } = FULL_ORG;
    const expected = fullState();
    expect(loaded(read)).toEqual({ ...expected, orgs: new Map([...expected.orgs, ["acme", acme]]) });
  });

  test("a bad baseline is dropped, the tracks kept", () => {
    const text = serializeState(stateOf([track(1)])).replace(
      '"firstCycleStartedAt":1700000000',
      '"firstCycleStartedAt":-5',
    );
    const read = parseState(text);
    expect(droppedOf(read)).toEqual({
      ...NOTHING_DROPPED,
      values: 1,
      first: "firstCycleStartedAt must be a non-negative safe integer (was -5)",
    });
    expect(loaded(read)).toEqual({ ...stateOf([track(1)]), firstCycleStartedAt: undefined });
  });

  test("a file that is not a state of ours as a whole is unusable, with the reason", () => {
    const valid = serializeState(fullState());
    const cases: Array<[string, string]> = [
      [valid.slice(0, 40), "not valid JSON (40 characters)"],
      ["root:x:0:0:root:/root:/bin/bash\n", "not valid JSON (32 characters)"],
      ["[1,2]", "not a state file (the JSON is an array, not an object)"],
      ['{"name":"x"}', "not a state file (no format field)"],
      [valid.replace('"format":1', '"format":2'), "format 2 is newer than this exporter's (1)"],
      [valid.replace('"format":1', '"format":"1"'), "unknown format a string"],
      [
        '{"format":1,"stacks":"many","tombstones":[],"orgs":{}}',
        "wrong shape: stacks must be an array (was a string)",
      ],
      [
        '{"format":1,"stacks":[],"tombstones":[],"orgs":[]}',
        "wrong shape: orgs must be an object (was an array)",
      ],
    ];
    for (const [text, reason] of cases)
      expect([text, parseState(text)]).toEqual([text, { kind: "unusable", reason }]);
  });

  test("a missing file is missing; a directory is unreadable", () => {
    expect(loadStateFile(join(dir, "nope.json"))).toEqual({ kind: "missing" });
    mkdirSync(join(dir, "a-directory"));
    expect(loadStateFile(join(dir, "a-directory"))).toEqual({
      kind: "unusable",
      reason: "unreadable (a directory)",
    });
  });
});

describe("a failed save leaves nothing behind", () => {
  function temporaries(directory: string): string[] {
    return readdirSync(directory).filter((name) => name.endsWith(".tmp"));
  }

  test("the rename target is a directory: the error is thrown and the temporary file removed", () => {
    const directory = join(dir, "rename-fails");
    const path = join(directory, "state.json");
    mkdirSync(join(path, "inside"), { recursive: true });
    expect(() => writeStateFile(path, "{}")).toThrow(
      `EISDIR: illegal operation on a directory, rename '${path}.${process.pid}.tmp' -> '${path}'`,
    );
    expect(temporaries(directory)).toEqual([]);
    expect(readdirSync(directory)).toEqual(["state.json"]);
  });

  test("the write fails half way (a full disk): the partial temporary file is removed", () => {
    const directory = join(dir, "write-fails");
    const path = join(directory, "state.json");
    const failing = {
      ...fs,
      writeFileSync: (file: fs.PathOrFileDescriptor) => {
        fs.writeFileSync(file, "{ half");
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      },
    };
    expect(() => writeStateFile(path, "{}", failing)).toThrow("ENOSPC: no space left on device, write");
    expect(readdirSync(directory)).toEqual([]);
  });

  test("leftover temporary files of killed processes are found by name, others left alone", () => {
    const directory = join(dir, "leftovers");
    const path = join(directory, "state.json");
    mkdirSync(join(directory, "state.json.3.tmp"), { recursive: true });
    for (const name of ["state.json.12.tmp", "state.json.999.tmp", "state.json.x.tmp", "other.json.5.tmp"])
      writeFileSync(join(directory, name), "");
    expect(removeLeftoverTemporaries(path)).toBe(2);
    expect(readdirSync(directory).sort()).toEqual([
      "other.json.5.tmp",
      "state.json.3.tmp",
      "state.json.x.tmp",
    ]);
    expect(existsSync(path)).toBe(false);
  });
});
