/**
 * The state file as the exporter uses it: a file that is not a state of ours is moved aside (never overwritten),
 * bad entries lose only themselves, a failed save leaves nothing behind and is logged once per streak.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStateFile, serializeState } from "../../src/collect/state-file.ts";
import { StateFileError } from "../../src/collect/state-file-error.ts";
import { StateStore, type StateStoreOptions } from "../../src/collect/state-store.ts";
import { AT, fullState, recordingLogger, stateOf, track } from "../support/state-fixtures.ts";

const root = mkdtempSync(join(tmpdir(), "pe-state-store-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const stores: StateStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

let cases = 0;
/** A fresh directory and a state file path in it. */
function place(): { directory: string; path: string } {
  const directory = join(root, `case-${++cases}`);
  mkdirSync(directory);
  return { directory, path: join(directory, "state.json") };
}

function open(path: string, options: Partial<StateStoreOptions> = {}) {
  const { logger, lines } = recordingLogger();
  const store = new StateStore({ path, logger, ...options });
  stores.push(store);
  store.open();
  return { store, lines };
}

function refusal(
  path: string,
  options: Partial<StateStoreOptions> = {},
): { message: string; lines: string[] } {
  const { logger, lines } = recordingLogger();
  const store = new StateStore({ path, logger, ...options });
  try {
    store.open();
  } catch (error) {
    expect(error).toBeInstanceOf(StateFileError);
    return { message: (error as Error).message, lines };
  }
  store.close();
  throw new Error("the store opened");
}

function failure(code: string, text: string): Error {
  return Object.assign(new Error(`${code}: ${text}`), { code });
}

/** /etc/passwd as it was found copied to the state file's path. */
const PASSWD =
  "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

describe("a file that is not a state of ours is moved aside, never overwritten", () => {
  const damaged: Array<[string, () => string, string]> = [
    ["a foreign file (/etc/passwd)", () => PASSWD, `not valid JSON (${PASSWD.length} characters)`],
    ["a truncated state", () => serializeState(fullState()).slice(0, 100), "not valid JSON (100 characters)"],
    [
      "a newer format",
      () => serializeState(fullState()).replace('"format":1', '"format":2'),
      "format 2 is newer than this exporter's (1)",
    ],
    [
      "the wrong shape",
      () => JSON.stringify({ format: 1, stacks: "many" }),
      "wrong shape: stacks must be an array (was a string)",
    ],
  ];
  for (const [what, content, reason] of damaged) {
    test(`${what}: moved to <file>.bad, bytes unchanged, one warning; the next save writes a new file`, async () => {
      const { path } = place();
      const original = content();
      writeFileSync(path, original);
      const { store, lines } = open(path);
      expect(await store.restored).toBeUndefined();
      expect(lines).toEqual([
        `${AT} level=warn msg="state file unusable, moved aside" path=${path} moved_to=${path}.bad reason=${JSON.stringify(reason)}`,
      ]);
      expect(readFileSync(`${path}.bad`, "utf8")).toBe(original);
      expect(existsSync(path)).toBe(false);
      store.save(fullState());
      expect(loadStateFile(path)).toMatchObject({ kind: "loaded", state: fullState() });
      expect(readFileSync(`${path}.bad`, "utf8")).toBe(original);
    });
  }

  test("unreadable, a directory: moved aside whole", async () => {
    const { path } = place();
    mkdirSync(path);
    writeFileSync(join(path, "inside.txt"), "kept");
    const { store, lines } = open(path);
    expect(await store.restored).toBeUndefined();
    expect(lines).toEqual([
      `${AT} level=warn msg="state file unusable, moved aside" path=${path} moved_to=${path}.bad reason="unreadable (a directory)"`,
    ]);
    expect(readFileSync(join(`${path}.bad`, "inside.txt"), "utf8")).toBe("kept");
    store.save(fullState());
    expect(loadStateFile(path).kind).toBe("loaded");
  });

  test("unreadable, no permission: moved aside, bytes unchanged", async () => {
    const { path } = place();
    writeFileSync(path, "secret", { mode: 0o000 });
    chmodSync(path, 0o000);
    const denied = `EACCES: permission denied, open '${path}'`;
    // Root reads anything: the refusal to read is what a non-root exporter meets.
    const readFileSync = (...args: Parameters<typeof fs.readFileSync>) => {
      if (args[0] === path) throw failure("EACCES", `permission denied, open '${path}'`);
      return fs.readFileSync(...args);
    };
    const { store, lines } = open(path, { fs: { ...fs, readFileSync } as typeof fs });
    expect(await store.restored).toBeUndefined();
    expect(lines).toEqual([
      `${AT} level=warn msg="state file unusable, moved aside" path=${path} moved_to=${path}.bad reason="unreadable (${denied})"`,
    ]);
    chmodSync(`${path}.bad`, 0o600);
    expect(fs.readFileSync(`${path}.bad`, "utf8")).toBe("secret");
  });

  test("a .bad already there is kept: the next one is <file>.bad.1, then .bad.2", async () => {
    const { path } = place();
    writeFileSync(`${path}.bad`, "first");
    writeFileSync(`${path}.bad.1`, "second");
    writeFileSync(path, "third");
    const { store, lines } = open(path);
    await store.restored;
    expect(lines[0]).toContain(`moved_to=${path}.bad.2 `);
    expect(["first", "second", "third"]).toEqual(
      [`${path}.bad`, `${path}.bad.1`, `${path}.bad.2`].map((p) => readFileSync(p, "utf8")),
    );
  });

  test("all ten names taken: refuses with one message, the file and the lock left as they were", () => {
    const { directory, path } = place();
    writeFileSync(path, PASSWD);
    writeFileSync(`${path}.bad`, "0");
    for (let i = 1; i <= 9; i++) writeFileSync(`${path}.bad.${i}`, String(i));
    const { message, lines } = refusal(path);
    expect(message).toBe(
      `state file ${path} is unusable (not valid JSON (${PASSWD.length} characters)) and cannot be moved aside: ${path}.bad and ${path}.bad.1 to .bad.9 all exist; move it away or choose another --state.file`,
    );
    expect(lines).toEqual([]);
    expect(readFileSync(path, "utf8")).toBe(PASSWD);
    expect(readdirSync(directory)).toHaveLength(11);
  });

  test("the rename fails (a bind-mounted file): refuses with the reason, lock released", () => {
    const { directory, path } = place();
    writeFileSync(path, PASSWD);
    const busy = `resource busy or locked, rename '${path}' -> '${path}.bad'`;
    const renameSync = () => {
      throw failure("EBUSY", busy);
    };
    const { message } = refusal(path, { fs: { ...fs, renameSync } });
    expect(message).toBe(
      `state file ${path} is unusable (not valid JSON (${PASSWD.length} characters)) and cannot be moved aside: EBUSY: ${busy}; move it away or choose another --state.file`,
    );
    expect(readdirSync(directory)).toEqual(["state.json"]);
  });

  test("a named pipe is never read (it would block) nor moved: refuses", () => {
    const { directory, path } = place();
    expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
    const { message } = refusal(path);
    expect(message).toBe(`state file ${path} is a named pipe, not a file; choose another --state.file`);
    expect(readdirSync(directory)).toEqual(["state.json"]);
  });
});

describe("loading", () => {
  test("restores a good file before open returns, with one line", async () => {
    const { path } = place();
    writeFileSync(path, serializeState(fullState()));
    const { store, lines } = open(path);
    expect(store.restoring).toBe(false);
    expect(lines).toEqual([
      `${AT} level=info msg="state restored" path=${path} stacks=2 tombstones=1 orgs=2`,
    ]);
    expect(await store.restored).toEqual(fullState());
  });

  test("bad entries are dropped and counted in one line; the good ones restored", async () => {
    const { path } = place();
    const document = JSON.parse(serializeState(stateOf([track(1), track(2), track(3)]))) as {
      stacks: Array<Record<string, unknown>>;
    };
    document.stacks[1] = { ...document.stacks[1], pending: [{ version: "x" }] };
    writeFileSync(path, JSON.stringify(document));
    const { store, lines } = open(path);
    expect(lines).toEqual([
      `${AT} level=warn msg="state file entries dropped" path=${path} stacks=1 tombstones=0 orgs=0 values=0 first="stacks[1].pending[0] must be a version and a kind"`,
      `${AT} level=info msg="state restored" path=${path} stacks=2 tombstones=0 orgs=0`,
    ]);
    expect(await store.restored).toEqual(stateOf([track(1), track(3)]));
  });

  test("a missing file is a fresh start, no line; leftover temporary files are removed", async () => {
    const { directory, path } = place();
    writeFileSync(`${path}.16595.tmp`, "{");
    const { store, lines } = open(path);
    expect(await store.restored).toBeUndefined();
    expect(lines).toEqual([
      `${AT} level=info msg="removed temporary state files a stopped process left" path=${path} leftovers=1`,
    ]);
    expect(readdirSync(directory)).toEqual(["state.json.lock"]);
    store.close();
    expect(readdirSync(directory)).toEqual([]);
  });

  test("a large file is read in steps after open returns; nothing is saved until it is restored", async () => {
    const { path } = place();
    const text = serializeState(fullState());
    writeFileSync(path, text);
    const gate = Promise.withResolvers<void>();
    const paused = Promise.withResolvers<void>();
    let pauses = 0;
    const pause = () => {
      pauses++;
      paused.resolve();
      return gate.promise;
    };
    const { store, lines } = open(path, { syncMaxBytes: text.length - 1, pause });
    await paused.promise;
    expect(store.restoring).toBe(true);
    store.save(stateOf([]));
    expect(readFileSync(path, "utf8")).toBe(text);
    expect(lines).toEqual([]);
    gate.resolve();
    expect(await store.restored).toEqual(fullState());
    expect(store.restoring).toBe(false);
    // One pause after the read; five entries are one step of the decode.
    expect(pauses).toBe(1);
    expect(lines).toEqual([
      `${AT} level=info msg="state restored" path=${path} stacks=2 tombstones=1 orgs=2`,
    ]);
  });

  test("a large unusable file that cannot be moved aside: `restored` rejects with the refusal", async () => {
    const { path } = place();
    writeFileSync(path, PASSWD);
    const renameSync = () => {
      throw failure("EBUSY", "resource busy or locked");
    };
    const { store } = open(path, { syncMaxBytes: 10, fs: { ...fs, renameSync } });
    await expect(store.restored).rejects.toThrow(
      `state file ${path} is unusable (not valid JSON (${PASSWD.length} characters)) and cannot be moved aside: EBUSY: resource busy or locked; move it away or choose another --state.file`,
    );
    expect(readFileSync(path, "utf8")).toBe(PASSWD);
  });
});

describe("saving", () => {
  test("the rename target became a directory: one warning per failure streak, no temporary file left", () => {
    const { directory, path } = place();
    const { store, lines } = open(path);
    store.save(fullState());
    rmSync(path);
    mkdirSync(join(path, "x"), { recursive: true });
    for (let cycle = 0; cycle < 3; cycle++) store.save(fullState());
    expect(readdirSync(directory).sort()).toEqual(["state.json", "state.json.lock"]);
    rmSync(path, { recursive: true });
    store.save(fullState());
    store.save(fullState());
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `${AT} level=warn msg="saving the state file failed" path=${path} error="EISDIR: illegal operation on a directory, rename '${path}.${process.pid}.tmp' -> '${path}'"`,
    );
    expect(lines[1]).toBe(
      `${AT} level=info msg="saving the state file works again" path=${path} failed_saves=3`,
    );
    expect(loadStateFile(path)).toMatchObject({ kind: "loaded", state: fullState() });
  });

  test("the directory became read-only: the write fails, one warning, no temporary file left", () => {
    const { directory, path } = place();
    const readOnly = `EACCES: permission denied, open '${path}.${process.pid}.tmp'`;
    let failing = true;
    const writeFileSync = (...args: Parameters<typeof fs.writeFileSync>) => {
      if (failing) throw failure("EACCES", `permission denied, open '${path}.${process.pid}.tmp'`);
      return fs.writeFileSync(...args);
    };
    const { store, lines } = open(path, { fs: { ...fs, writeFileSync } });
    store.save(fullState());
    store.save(fullState());
    expect(readdirSync(directory)).toEqual(["state.json.lock"]);
    expect(lines).toEqual([
      `${AT} level=warn msg="saving the state file failed" path=${path} error="${readOnly}"`,
    ]);
    failing = false;
    store.save(fullState());
    expect(readdirSync(directory).sort()).toEqual(["state.json", "state.json.lock"]);
  });

  test("values that cannot be written are left out, logged once per streak", () => {
    const { path } = place();
    const { store, lines } = open(path);
    const bad = stateOf([track(1, { resourceCount: Number.POSITIVE_INFINITY })]);
    store.save(bad);
    store.save(bad);
    store.save(stateOf([track(1)]));
    store.save(bad);
    const line = `${AT} level=warn msg="state values not saved" path=${path} stacks=0 tombstones=0 orgs=0 values=1 first="stack acme/web/stack-1.resourceCount must be a non-negative safe integer (was Infinity)"`;
    expect(lines).toEqual([line, line]);
    expect(loadStateFile(path)).toMatchObject({
      kind: "loaded",
      state: stateOf([track(1, { resourceCount: undefined })]),
    });
  });

  test("close removes the lock; a save after it writes nothing", () => {
    const { directory, path } = place();
    const { store } = open(path);
    store.close();
    store.save(fullState());
    expect(readdirSync(directory)).toEqual([]);
  });
});
