/**
 * The optional state file (`--state.file`): what the collector has counted survives a restart, so updates that
 * finished while the exporter was down are counted once and nothing is counted twice. This module is the format
 * (checked value by value on the way out and on the way in, see state-check.ts) and the file operations; the
 * lock, the order of things and the logging are in state-store.ts.
 */
import * as nodeFs from "node:fs";
import { basename, dirname, join } from "node:path";
import { type AnyOrgSource, ORG_SOURCES } from "./sources/index.ts";
import { type CollectorState, type OrgValues, type StackTrack, stackKey } from "./state.ts";
import {
  checkBaseline,
  checkOrg,
  checkTrack,
  DropTally,
  describeValue,
  isCount,
  isRecord,
} from "./state-check.ts";
import { StateFileError } from "./state-file-error.ts";

export const STATE_FORMAT = 1;

/** Entries checked between two yields when a large file is restored in steps. */
const STEP_ENTRIES = 1000;

/** The file operations used here; tests replace one to make it fail. */
export type StateFs = Pick<
  typeof nodeFs,
  | "closeSync"
  | "lstatSync"
  | "mkdirSync"
  | "openSync"
  | "readdirSync"
  | "readFileSync"
  | "renameSync"
  | "statSync"
  | "unlinkSync"
  | "writeFileSync"
  | "writeSync"
>;

export const realFs: StateFs = nodeFs;

interface StateDocument {
  format: number;
  firstCycleStartedAt?: number;
  stacks: StackTrack[];
  tombstones: StackTrack[];
  orgs: Record<string, OrgValues>;
  /** Source name → organization → the state its codec saved (src/collect/source.ts); absent in older files. */
  sources?: Record<string, Record<string, unknown>>;
  /**
   * Source name → organization → epoch ms of the cycle of its last successful run, for the sources with a codec:
   * their cadence (an hourly read) survives a restart. Absent in older files: those sources run at once.
   */
  sourceRuns?: Record<string, Record<string, number>>;
}

/** The sources whose state the file holds under `sources`, by name. */
function persistedSources(sources: readonly AnyOrgSource[]): ReadonlyMap<string, AnyOrgSource> {
  return new Map(sources.filter((s) => typeof s.persist === "object").map((s) => [s.name, s]));
}

function encodeSources(
  states: CollectorState["sources"],
  dropped: DropTally,
): Record<string, Record<string, unknown>> | undefined {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, source] of persistedSources(ORG_SOURCES)) {
    const byOrg = states?.get(name);
    if (!byOrg || byOrg.size === 0 || typeof source.persist !== "object") continue;
    const saved: Record<string, unknown> = {};
    for (const [org, state] of byOrg) {
      // Saved as it will be read back: what the codec would drop on load is not written.
      const checked = source.persist.load(
        source.persist.save(state),
        `sources.${name}[${JSON.stringify(org)}]`,
        dropped,
      );
      if (checked !== undefined) saved[org] = source.persist.save(checked);
    }
    out[name] = saved;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The last runs of the sources with a codec, by source and organization (run keys are `source|org`). */
function encodeSourceRuns(
  runs: CollectorState["sourceRuns"],
  dropped: DropTally,
): Record<string, Record<string, number>> | undefined {
  const persisted = persistedSources(ORG_SOURCES);
  const out: Record<string, Record<string, number>> = {};
  for (const [key, ms] of runs ?? []) {
    const bar = key.indexOf("|");
    const name = key.slice(0, bar);
    if (bar < 0 || !persisted.has(name)) continue;
    if (!isCount(ms)) {
      dropped.note("values", `sourceRuns.${name} must be epoch milliseconds (was ${describeValue(ms)})`);
      continue;
    }
    out[name] ??= {};
    (out[name] as Record<string, number>)[key.slice(bar + 1)] = ms;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function decodeSourceRuns(raw: unknown, dropped: DropTally): Map<string, number> {
  const out = new Map<string, number>();
  if (raw === undefined) return out;
  if (!isRecord(raw)) {
    dropped.note("values", `sourceRuns must be an object (was ${describeValue(raw)})`);
    return out;
  }
  const persisted = persistedSources(ORG_SOURCES);
  for (const [name, byOrg] of Object.entries(raw)) {
    if (!persisted.has(name)) continue;
    if (!isRecord(byOrg)) {
      dropped.note("values", `sourceRuns.${name} must be an object (was ${describeValue(byOrg)})`);
      continue;
    }
    for (const [org, ms] of Object.entries(byOrg)) {
      if (isCount(ms)) out.set(`${name}|${org}`, ms);
      else dropped.note("values", `sourceRuns.${name}[${JSON.stringify(org)}] must be epoch milliseconds`);
    }
  }
  return out;
}

/** Each known source's saved states, checked by its codec; a source this exporter does not know is left out. */
function decodeSources(raw: unknown, dropped: DropTally): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  if (raw === undefined) return out;
  if (!isRecord(raw)) {
    dropped.note("values", `sources must be an object (was ${describeValue(raw)})`);
    return out;
  }
  const known = persistedSources(ORG_SOURCES);
  for (const [name, byOrg] of Object.entries(raw)) {
    const source = known.get(name);
    if (!source || typeof source.persist !== "object") continue;
    if (!isRecord(byOrg)) {
      dropped.note("values", `sources.${name} must be an object (was ${describeValue(byOrg)})`);
      continue;
    }
    const states = new Map<string, unknown>();
    for (const [org, state] of Object.entries(byOrg)) {
      const checked = source.persist.load(state, `sources.${name}[${JSON.stringify(org)}]`, dropped);
      if (checked !== undefined) states.set(org, checked);
    }
    out.set(name, states);
  }
  return out;
}

export interface EncodedState {
  readonly text: string;
  /** What the state held that may not be written (a non-finite or negative count from the API): left out. */
  readonly dropped: DropTally;
}

/** The state as the file holds it: only values that read back exactly as they are. */
export function encodeState(state: CollectorState): EncodedState {
  const dropped = new DropTally();
  const stacks: StackTrack[] = [];
  for (const [key, track] of state.stacks) {
    const checked = checkTrack(track, `stack ${key}`, "stacks", dropped);
    if (checked) stacks.push(checked);
  }
  const tombstones: StackTrack[] = [];
  for (const [id, track] of state.tombstones) {
    const checked = checkTrack(track, `tombstone ${id}`, "tombstones", dropped);
    if (checked) tombstones.push(checked);
  }
  const orgs: Array<[string, OrgValues]> = [];
  for (const [org, values] of state.orgs) {
    const checked = checkOrg(values, `org ${org}`, dropped);
    if (checked) orgs.push([org, checked]);
  }
  const firstCycleStartedAt = checkBaseline(state.firstCycleStartedAt, dropped);
  const sources = encodeSources(state.sources, dropped);
  const sourceRuns = encodeSourceRuns(state.sourceRuns, dropped);
  const document: StateDocument = {
    format: STATE_FORMAT,
    ...(firstCycleStartedAt === undefined ? {} : { firstCycleStartedAt }),
    stacks,
    tombstones,
    orgs: Object.fromEntries(orgs),
    ...(sources ? { sources } : {}),
    ...(sourceRuns ? { sourceRuns } : {}),
  };
  return { text: JSON.stringify(document), dropped };
}

export function serializeState(state: CollectorState): string {
  return encodeState(state).text;
}

export type StateRead =
  | { readonly kind: "loaded"; readonly state: CollectorState; readonly dropped: DropTally }
  /** Not a state file of ours as a whole: it is moved aside, never overwritten. */
  | { readonly kind: "unusable"; readonly reason: string };

type Unusable = Extract<StateRead, { kind: "unusable" }>;

export function parseJson(text: string): { readonly json: unknown } | Unusable {
  try {
    return { json: JSON.parse(text) };
  } catch {
    // Not the parser's message: it quotes the file, which may be anything put there by mistake.
    return { kind: "unusable", reason: `not valid JSON (${text.length} characters)` };
  }
}

/** The document, when its outline is that of a state of ours; why not otherwise. */
function outline(json: unknown): { readonly document: Record<string, unknown> } | Unusable {
  const unusable = (reason: string): Unusable => ({ kind: "unusable", reason });
  if (!isRecord(json))
    return unusable(`not a state file (the JSON is ${describeValue(json)}, not an object)`);
  if (!("format" in json)) return unusable("not a state file (no format field)");
  const format = json.format;
  if (typeof format === "number" && Number.isSafeInteger(format) && format > STATE_FORMAT)
    return unusable(`format ${format} is newer than this exporter's (${STATE_FORMAT})`);
  if (format !== STATE_FORMAT) return unusable(`unknown format ${describeValue(format)}`);
  for (const section of ["stacks", "tombstones"]) {
    if (!Array.isArray(json[section]))
      return unusable(`wrong shape: ${section} must be an array (was ${describeValue(json[section])})`);
  }
  if (!isRecord(json.orgs))
    return unusable(`wrong shape: orgs must be an object (was ${describeValue(json.orgs)})`);
  return { document: json };
}

/** Keeps the first entry under a key; a later one with the same key is dropped (noted). */
function keep(map: Map<string, StackTrack>, key: string, track: StackTrack, drop: () => void): void {
  if (map.has(key)) drop();
  else map.set(key, track);
}

/**
 * Decodes a parsed document entry by entry (a bad entry loses only itself) and yields every STEP_ENTRIES entries,
 * so a large file can be restored without holding the event loop for the whole of it.
 */
export function* decodeState(json: unknown): Generator<void, StateRead, void> {
  const outlined = outline(json);
  if (!("document" in outlined)) return outlined;
  const { document } = outlined;
  const dropped = new DropTally();
  let entries = 0;
  const stacks = new Map<string, StackTrack>();
  for (const [i, raw] of (document.stacks as unknown[]).entries()) {
    const track = checkTrack(raw, `stacks[${i}]`, "stacks", dropped);
    if (track) {
      keep(stacks, stackKey(track.org, track.project, track.stack), track, () =>
        dropped.note("stacks", `stacks[${i}] repeats a stack`),
      );
    }
    if (++entries % STEP_ENTRIES === 0) yield;
  }
  const tombstones = new Map<string, StackTrack>();
  for (const [i, raw] of (document.tombstones as unknown[]).entries()) {
    const track = checkTrack(raw, `tombstones[${i}]`, "tombstones", dropped);
    if (track) {
      keep(tombstones, track.id as string, track, () =>
        dropped.note("tombstones", `tombstones[${i}] repeats an id`),
      );
    }
    if (++entries % STEP_ENTRIES === 0) yield;
  }
  const orgs = new Map<string, OrgValues>();
  for (const [org, raw] of Object.entries(document.orgs as Record<string, unknown>)) {
    const values = checkOrg(raw, `orgs[${JSON.stringify(org)}]`, dropped);
    if (values) orgs.set(org, values);
    if (++entries % STEP_ENTRIES === 0) yield;
  }
  const firstCycleStartedAt = checkBaseline(document.firstCycleStartedAt, dropped);
  const sources = decodeSources(document.sources, dropped);
  const sourceRuns = decodeSourceRuns(document.sourceRuns, dropped);
  return {
    kind: "loaded",
    state: {
      firstCycleStartedAt,
      stacks,
      tombstones,
      orgs,
      ...(sources.size > 0 ? { sources } : {}),
      ...(sourceRuns.size > 0 ? { sourceRuns } : {}),
    },
    dropped,
  };
}

/** Runs a generator to its end without yielding to anything. */
export function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

export function parseState(text: string): StateRead {
  const parsed = parseJson(text);
  return "json" in parsed ? runToEnd(decodeState(parsed.json)) : parsed;
}

export type FileLook =
  | { readonly kind: "missing" }
  | { readonly kind: "file"; readonly size: number }
  /** Cannot be read (permissions, a directory): moved aside like a damaged file. */
  | { readonly kind: "unreadable"; readonly reason: string }
  /** A device, a pipe or a socket: never read (a pipe would block), never moved. */
  | { readonly kind: "special"; readonly what: string };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function unreadable(error: unknown): { readonly kind: "unreadable"; readonly reason: string } {
  return { kind: "unreadable", reason: `unreadable (${errorText(error)})` };
}

/** What is at the state file's path, without reading it. */
export function inspectStateFile(path: string, fs: StateFs = realFs): FileLook {
  let stats: nodeFs.Stats;
  try {
    stats = fs.statSync(path);
  } catch (error) {
    return errorCode(error) === "ENOENT" ? { kind: "missing" } : unreadable(error);
  }
  if (stats.isFile()) return { kind: "file", size: stats.size };
  if (stats.isDirectory()) return { kind: "unreadable", reason: "unreadable (a directory)" };
  const what = stats.isFIFO()
    ? "a named pipe"
    : stats.isSocket()
      ? "a socket"
      : stats.isCharacterDevice() || stats.isBlockDevice()
        ? "a device"
        : "not a regular file";
  return { kind: "special", what };
}

/** Reads the state file at once: missing, loaded (perhaps with dropped entries), or unusable as a whole. */
export function loadStateFile(path: string, fs: StateFs = realFs): { readonly kind: "missing" } | StateRead {
  const look = inspectStateFile(path, fs);
  switch (look.kind) {
    case "missing":
      return look;
    case "unreadable":
      return { kind: "unusable", reason: look.reason };
    case "special":
      return { kind: "unusable", reason: look.what };
    case "file":
      break;
  }
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (error) {
    return { kind: "unusable", reason: unreadable(error).reason };
  }
  return parseState(text);
}

/**
 * Where an unusable state file is kept: `<file>.bad`, else the first free of `<file>.bad.1` … `<file>.bad.9`.
 * Nothing is ever replaced: when all ten are taken, the exporter refuses to start until some are removed.
 */
export const ASIDE_NAMES = 10;

export function asideNames(path: string): string[] {
  return Array.from({ length: ASIDE_NAMES }, (_, i) => (i === 0 ? `${path}.bad` : `${path}.bad.${i}`));
}

function taken(path: string, fs: StateFs): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch (error) {
    return errorCode(error) !== "ENOENT";
  }
}

/** Moves an unusable state file (or directory) aside, bytes untouched; returns where. Throws StateFileError. */
export function moveAside(path: string, reason: string, fs: StateFs = realFs): string {
  const refuse = (why: string) =>
    new StateFileError(
      `state file ${path} is unusable (${reason}) and cannot be moved aside: ${why}; move it away or choose another --state.file`,
    );
  const target = asideNames(path).find((name) => !taken(name, fs));
  if (target === undefined)
    throw refuse(`${path}.bad and ${path}.bad.1 to .bad.${ASIDE_NAMES - 1} all exist`);
  try {
    fs.renameSync(path, target);
  } catch (error) {
    throw refuse(errorText(error));
  }
  return target;
}

export function temporaryPath(path: string, pid = process.pid): string {
  return `${path}.${pid}.tmp`;
}

function removeQuietly(path: string, fs: StateFs): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // Absent, or not a file we could have written (a directory): nothing of ours to remove.
  }
}

/**
 * Writes atomically: a reader (or a crash) sees the old file or the new one, never half of one. When the write or
 * the rename fails, the temporary file is removed: a failed save leaves nothing behind.
 */
export function writeStateFile(path: string, text: string, fs: StateFs = realFs): void {
  const temporary = temporaryPath(path);
  try {
    fs.mkdirSync(dirname(path), { recursive: true });
    // A leftover of an earlier process with the same pid (a container's pid 1) would keep its old mode.
    removeQuietly(temporary, fs);
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    fs.renameSync(temporary, path);
  } catch (error) {
    removeQuietly(temporary, fs);
    throw error;
  }
}

export function saveStateFile(path: string, state: CollectorState, fs: StateFs = realFs): void {
  writeStateFile(path, serializeState(state), fs);
}

/** Removes `<file>.<pid>.tmp` files a killed process left; call only while holding the lock. Returns how many. */
export function removeLeftoverTemporaries(path: string, fs: StateFs = realFs): number {
  const base = basename(path);
  const pattern = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.\\d+\\.tmp$`);
  let names: string[];
  try {
    names = fs.readdirSync(dirname(path));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names.filter((n) => pattern.test(n))) {
    try {
      fs.unlinkSync(join(dirname(path), name));
      removed++;
    } catch {
      // Not a file (a directory of that name): left alone.
    }
  }
  return removed;
}
