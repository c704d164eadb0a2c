/**
 * The optional state file (`--state.file`): what the collector has counted survives a restart, so updates that
 * finished while the exporter was down are counted once and nothing is counted twice.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type } from "arktype";
import { type CollectorState, type OrgValues, type StackTrack, stackKey } from "./state.ts";

const STATE_FORMAT = 1;

const pendingType = type({ version: "number", kind: "string" });
const trackType = type({
  "id?": "string",
  org: "string",
  project: "string",
  stack: "string",
  "listLastUpdate?": "number",
  lastVersion: "number",
  pending: pendingType.array(),
  "resourceCount?": "number",
  "lastUpdateTimestamp?": "number",
});
const fileType = type({
  format: "number",
  "firstCycleStartedAt?": "number",
  stacks: trackType.array(),
  tombstones: trackType.array(),
  orgs: type.Record("string", "object"),
});

interface StateFile {
  format: number;
  firstCycleStartedAt?: number;
  stacks: StackTrack[];
  tombstones: StackTrack[];
  orgs: Record<string, OrgValues>;
}

export function serializeState(state: CollectorState): string {
  const file: StateFile = {
    format: STATE_FORMAT,
    ...(state.firstCycleStartedAt === undefined ? {} : { firstCycleStartedAt: state.firstCycleStartedAt }),
    stacks: [...state.stacks.values()],
    tombstones: [...state.tombstones.values()],
    orgs: Object.fromEntries(state.orgs),
  };
  return JSON.stringify(file);
}

function withOptional(track: typeof trackType.infer): StackTrack {
  return {
    id: track.id,
    org: track.org,
    project: track.project,
    stack: track.stack,
    listLastUpdate: track.listLastUpdate,
    lastVersion: track.lastVersion,
    pending: track.pending,
    resourceCount: track.resourceCount,
    lastUpdateTimestamp: track.lastUpdateTimestamp,
  };
}

/** Parses a state file; throws with a readable reason when it is not one. */
export function parseState(text: string): CollectorState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const file = fileType(json);
  if (file instanceof type.errors) throw new Error(file.summary);
  if (file.format !== STATE_FORMAT) throw new Error(`unknown state format ${file.format}`);
  const key = (t: StackTrack) => stackKey(t.org, t.project, t.stack);
  const stacks = file.stacks.map(withOptional);
  const tombstones = file.tombstones.map(withOptional).filter((t) => t.id !== undefined);
  return {
    firstCycleStartedAt: file.firstCycleStartedAt,
    stacks: new Map(stacks.map((t) => [key(t), t])),
    tombstones: new Map(tombstones.map((t) => [t.id as string, t])),
    orgs: new Map(Object.entries(file.orgs as Record<string, OrgValues>)),
  };
}

export type LoadResult =
  | { kind: "loaded"; state: CollectorState }
  | { kind: "missing" }
  | { kind: "invalid"; reason: string };

export function loadStateFile(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "invalid", reason: (error as Error).message };
  }
  try {
    return { kind: "loaded", state: parseState(text) };
  } catch (error) {
    return { kind: "invalid", reason: (error as Error).message };
  }
}

/** Writes the state atomically: a reader (or a crash) sees the old file or the new one, never half of one. */
export function saveStateFile(path: string, state: CollectorState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, serializeState(state), { mode: 0o600 });
  renameSync(temporary, path);
}
