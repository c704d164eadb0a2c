/**
 * One process per state file: `<file>.lock`, created exclusively (O_EXCL) and holding the owner's pid. Two
 * exporters on one file would overwrite each other's state every cycle, each count updates the other already
 * counted, and a restart would trust whichever wrote last.
 */
import { dirname, resolve } from "node:path";
import type { Logger } from "../log/logger.ts";
import { realFs, type StateFs } from "./state-file.ts";
import { StateFileError } from "./state-file-error.ts";

export interface StateLock {
  readonly path: string;
  /** Removes the lock if it is still ours; safe to call more than once. */
  release(): void;
}

export interface LockOptions {
  readonly fs?: StateFs;
  readonly pid?: number;
  /** Whether a process runs; default: `process.kill(pid, 0)`. */
  readonly isAlive?: (pid: number) => boolean;
}

/** Locks this process holds, so a second exporter in the same process is refused too. */
const held = new Set<string>();

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function inUse(statePath: string, pid: number | string, lockPath: string): StateFileError {
  return new StateFileError(`state file ${statePath} is in use by process ${pid} (lock ${lockPath})`);
}

/** Creates the lock with our pid in it; false when it exists. */
function create(lockPath: string, pid: number, fs: StateFs): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new StateFileError(`cannot create the lock file ${lockPath}: ${message(error)}`);
  }
  try {
    fs.writeSync(fd, `${pid}\n`);
  } catch (error) {
    fs.closeSync(fd);
    fs.unlinkSync(lockPath);
    throw new StateFileError(`cannot write the lock file ${lockPath}: ${message(error)}`);
  }
  fs.closeSync(fd);
  return true;
}

/** The pid in an existing lock; "gone" when it vanished meanwhile, "none" when it names no process. */
function holder(lockPath: string, fs: StateFs): number | "gone" | "none" {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw new StateFileError(`cannot read the lock file ${lockPath}: ${message(error)}`);
  }
  const match = /^\s*([1-9]\d{0,9})\s*$/.exec(text);
  return match?.[1] === undefined ? "none" : Number(match[1]);
}

/**
 * Takes the lock of `statePath`. A lock whose process no longer runs (killed, or a container restarted with
 * the same pid as ours) is taken over with a log line; one held by a running process is a StateFileError. Two
 * processes taking over the same stale lock at the same instant could both succeed: that needs a crash and two
 * starts within microseconds of each other.
 */
export function acquireStateLock(statePath: string, logger: Logger, options: LockOptions = {}): StateLock {
  const fs = options.fs ?? realFs;
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processAlive;
  const lockPath = `${statePath}.lock`;
  const key = resolve(lockPath);
  if (held.has(key)) throw inUse(statePath, pid, lockPath);
  try {
    fs.mkdirSync(dirname(statePath), { recursive: true });
  } catch (error) {
    throw new StateFileError(`cannot create the directory of state file ${statePath}: ${message(error)}`);
  }
  for (let attempt = 1; !create(lockPath, pid, fs); attempt++) {
    const owner = holder(lockPath, fs);
    if (owner === "none")
      throw new StateFileError(
        `state file ${statePath} is locked by ${lockPath}, which names no process; remove it if no exporter uses the state file`,
      );
    // A third try means other processes keep taking it: one of them is using the file.
    if (owner !== "gone" && (attempt > 2 || (owner !== pid && isAlive(owner))))
      throw inUse(statePath, owner, lockPath);
    if (attempt > 2) throw inUse(statePath, "unknown", lockPath);
    if (owner === "gone") continue;
    logger.warn("took over a stale state file lock", { lock: lockPath, pid: owner });
    try {
      fs.unlinkSync(lockPath);
    } catch {
      // Taken over by someone else meanwhile: the next attempt sees their lock.
    }
  }
  held.add(key);
  const release = () => {
    if (!held.delete(key)) return;
    process.off("exit", release);
    try {
      if (holder(lockPath, fs) === pid) fs.unlinkSync(lockPath);
    } catch {
      // Gone already, or unreadable: nothing of ours left to remove.
    }
  };
  // `process.exit()` runs no `finally`: the lock must not outlive a normal exit.
  process.on("exit", release);
  return { path: lockPath, release };
}
