/**
 * The state file as the running exporter uses it: locked for one process, read back before the first cycle,
 * moved aside (never overwritten) when it is not a state of ours, and saved after every cycle.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "../log/logger.ts";
import type { CollectorState } from "./state.ts";
import type { DropTally } from "./state-check.ts";
import {
  decodeState,
  encodeState,
  type FileLook,
  inspectStateFile,
  moveAside,
  parseJson,
  parseState,
  realFs,
  removeLeftoverTemporaries,
  type StateFs,
  type StateRead,
  unreadable,
  writeStateFile,
} from "./state-file.ts";
import { StateFileError } from "./state-file-error.ts";
import { acquireStateLock, type LockOptions, type StateLock } from "./state-lock.ts";

/** A file this size or smaller is read before the HTTP server starts; a larger one in steps after it. */
export const SYNC_RESTORE_MAX_BYTES = 8 * 1024 * 1024;

export interface StateStoreOptions {
  readonly path: string;
  readonly logger: Logger;
  /** Between two steps of restoring a large file; default: one turn of the event loop. Tests hold it. */
  readonly pause?: () => Promise<void>;
  readonly syncMaxBytes?: number;
  readonly fs?: StateFs;
  readonly lock?: Omit<LockOptions, "fs">;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class StateStore {
  readonly #options: StateStoreOptions;
  readonly #fs: StateFs;
  #lock: StateLock | undefined;
  #restoring = false;
  #closed = false;
  #failedSaves = 0;
  #unsavedNoted = false;
  /** The state read back, or undefined when there was none to use; see `open`. */
  restored: Promise<CollectorState | undefined> = Promise.resolve(undefined);

  constructor(options: StateStoreOptions) {
    this.#options = options;
    this.#fs = options.fs ?? realFs;
  }

  get path(): string {
    return this.#options.path;
  }

  /** True while a large file is read after the server started. */
  get restoring(): boolean {
    return this.#restoring;
  }

  /**
   * Takes the lock and reads the file: a small one (or none) before this returns, a large one in steps after
   * (`restored` settles when done; it rejects with a StateFileError if the file must be kept and cannot be moved
   * aside). Throws a StateFileError, holding nothing, when the file cannot be used safely.
   */
  open(): void {
    const { path, logger } = this.#options;
    this.#lock = acquireStateLock(path, logger, { ...this.#options.lock, fs: this.#fs });
    try {
      const leftovers = removeLeftoverTemporaries(path, this.#fs);
      if (leftovers > 0)
        logger.info("removed temporary state files a stopped process left", { path, leftovers });
      const look = inspectStateFile(path, this.#fs);
      if (look.kind === "file" && look.size > (this.#options.syncMaxBytes ?? SYNC_RESTORE_MAX_BYTES)) {
        this.#restoring = true;
        this.restored = this.#restoreInSteps().finally(() => {
          this.#restoring = false;
        });
      } else {
        this.restored = Promise.resolve(this.#restoreNow(look));
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #restoreNow(look: FileLook): CollectorState | undefined {
    const { path } = this.#options;
    switch (look.kind) {
      case "missing":
        return undefined;
      case "special":
        throw new StateFileError(
          `state file ${path} is ${look.what}, not a file; choose another --state.file`,
        );
      case "unreadable":
        return this.#setAside(look.reason);
      case "file":
        break;
    }
    let text: string;
    try {
      text = this.#fs.readFileSync(path, "utf8");
    } catch (error) {
      return this.#setAside(unreadable(error).reason);
    }
    return this.#accept(parseState(text));
  }

  async #restoreInSteps(): Promise<CollectorState | undefined> {
    const pause = this.#options.pause ?? nextTurn;
    let text: string;
    try {
      text = await readFile(this.#options.path, "utf8");
    } catch (error) {
      return this.#closed ? undefined : this.#setAside(unreadable(error).reason);
    }
    await pause();
    if (this.#closed) return undefined;
    // One parse of the whole text; the checks after it, entry by entry, give the event loop a turn.
    const parsed = parseJson(text);
    if (!("json" in parsed)) return this.#accept(parsed);
    const steps = decodeState(parsed.json);
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) return this.#accept(step.value);
      await pause();
      if (this.#closed) return undefined;
    }
  }

  #accept(read: StateRead): CollectorState | undefined {
    const { path, logger } = this.#options;
    if (read.kind === "unusable") return this.#setAside(read.reason);
    if (read.dropped.total > 0) logger.warn("state file entries dropped", { path, ...read.dropped.fields() });
    const { state } = read;
    logger.info("state restored", {
      path,
      stacks: state.stacks.size,
      tombstones: state.tombstones.size,
      orgs: state.orgs.size,
    });
    return state;
  }

  /** Moves the file aside (throws a StateFileError when it cannot); the exporter starts fresh. */
  #setAside(reason: string): undefined {
    const { path, logger } = this.#options;
    const movedTo = moveAside(path, reason, this.#fs);
    logger.warn("state file unusable, moved aside", { path, moved_to: movedTo, reason });
    return undefined;
  }

  /** Writes the state; a failure is logged once per streak of failures, and leaves no temporary file. */
  save(state: CollectorState): void {
    // Never while a large file is still being read: that would replace it before it is restored.
    if (this.#lock === undefined || this.#restoring) return;
    const { path, logger } = this.#options;
    const { text, dropped } = encodeState(state);
    this.#noteUnsaved(dropped);
    try {
      writeStateFile(path, text, this.#fs);
    } catch (error) {
      if (this.#failedSaves++ === 0)
        logger.warn("saving the state file failed", { path, error: (error as Error).message });
      return;
    }
    if (this.#failedSaves > 0)
      logger.info("saving the state file works again", { path, failed_saves: this.#failedSaves });
    this.#failedSaves = 0;
  }

  /** Values that cannot be written as they are (a non-finite count from the API): logged once per streak. */
  #noteUnsaved(dropped: DropTally): void {
    if (dropped.total > 0 && !this.#unsavedNoted)
      this.#options.logger.warn("state values not saved", { path: this.#options.path, ...dropped.fields() });
    this.#unsavedNoted = dropped.total > 0;
  }

  /** Stops any restore in progress and removes the lock. */
  close(): void {
    this.#closed = true;
    this.#lock?.release();
    this.#lock = undefined;
  }
}
