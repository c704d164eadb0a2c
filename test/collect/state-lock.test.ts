import { afterAll, afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateFileError } from "../../src/collect/state-file-error.ts";
import { acquireStateLock, processAlive, type StateLock } from "../../src/collect/state-lock.ts";
import { AT, recordingLogger } from "../support/state-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "pe-state-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const locks: StateLock[] = [];
afterEach(() => {
  for (const lock of locks.splice(0)) lock.release();
});

function take(path: string, options: Parameters<typeof acquireStateLock>[2] = {}) {
  const { logger, lines } = recordingLogger();
  const lock = acquireStateLock(path, logger, options);
  locks.push(lock);
  return { lock, lines };
}

function refusal(path: string, options: Parameters<typeof acquireStateLock>[2] = {}): string {
  try {
    take(path, options);
  } catch (error) {
    expect(error).toBeInstanceOf(StateFileError);
    return (error as Error).message;
  }
  throw new Error("the lock was taken");
}

describe("the state file lock", () => {
  test("holds the pid, in <file>.lock, created with the directory; release removes it", () => {
    const path = join(dir, "new", "state.json");
    const { lock, lines } = take(path, { pid: 4321 });
    expect(lock.path).toBe(`${path}.lock`);
    expect(readFileSync(`${path}.lock`, "utf8")).toBe("4321\n");
    expect(lines).toEqual([]);
    lock.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
    lock.release();
  });

  test("a lock held by a running process refuses, naming the process and the lock", () => {
    const path = join(dir, "busy.json");
    writeFileSync(`${path}.lock`, "777\n");
    const asked: number[] = [];
    const message = refusal(path, { pid: 1000, isAlive: (pid) => asked.push(pid) > 0 });
    expect(message).toBe(`state file ${path} is in use by process 777 (lock ${path}.lock)`);
    expect(asked).toEqual([777]);
    expect(readFileSync(`${path}.lock`, "utf8")).toBe("777\n");
  });

  test("a second exporter in the same process is refused too", () => {
    const path = join(dir, "twice.json");
    take(path);
    expect(refusal(path)).toBe(`state file ${path} is in use by process ${process.pid} (lock ${path}.lock)`);
  });

  test("a stale lock (its process is gone) is taken over with one log line", () => {
    const path = join(dir, "stale.json");
    writeFileSync(`${path}.lock`, "999999\n");
    const { lines } = take(path, { pid: 1000, isAlive: () => false });
    expect(lines).toEqual([
      `${AT} level=warn msg="took over a stale state file lock" lock=${path}.lock pid=999999`,
    ]);
    expect(readFileSync(`${path}.lock`, "utf8")).toBe("1000\n");
  });

  test("a lock with our own pid is stale: a container restarted, its exporter pid 1 again", () => {
    const path = join(dir, "pid-one.json");
    writeFileSync(`${path}.lock`, "1\n");
    const { lines } = take(path, { pid: 1, isAlive: () => true });
    expect(lines).toEqual([
      `${AT} level=warn msg="took over a stale state file lock" lock=${path}.lock pid=1`,
    ]);
    expect(readFileSync(`${path}.lock`, "utf8")).toBe("1\n");
  });

  test("a lock that names no process is left alone and refuses", () => {
    const path = join(dir, "garbage.json");
    writeFileSync(`${path}.lock`, "");
    expect(refusal(path)).toBe(
      `state file ${path} is locked by ${path}.lock, which names no process; remove it if no exporter uses the state file`,
    );
    expect(readFileSync(`${path}.lock`, "utf8")).toBe("");
  });

  test("release leaves a lock that is no longer ours", () => {
    const path = join(dir, "replaced.json");
    const { lock } = take(path, { pid: 55 });
    writeFileSync(`${path}.lock`, "66\n");
    lock.release();
    expect(readFileSync(`${path}.lock`, "utf8")).toBe("66\n");
  });

  test("a lock that cannot be created is a clear error", () => {
    const path = join(dir, "blocked.json");
    const failing = {
      ...fs,
      openSync: () => {
        throw Object.assign(new Error(`EROFS: read-only file system, open '${path}.lock'`), {
          code: "EROFS",
        });
      },
    };
    expect(refusal(path, { fs: failing })).toBe(
      `cannot create the lock file ${path}.lock: EROFS: read-only file system, open '${path}.lock'`,
    );
  });

  test("processAlive: this process runs, an exited one does not", async () => {
    const child = Bun.spawn(["true"]);
    await child.exited;
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(child.pid)).toBe(false);
  });
});
