/**
 * Stacks and their update histories. A history is packed into one Uint32Array per stack (ten numbers per update)
 * so 10,000 stacks × 20 updates stay a few megabytes; API objects are built only when a page is served.
 */
import type { StackSummary, StackUpdate } from "../pulumi/types.ts";
import type { Rng } from "./random.ts";

export const UPDATE_KINDS = ["update", "preview", "refresh", "destroy", "import"] as const;
export type UpdateKind = (typeof UPDATE_KINDS)[number];
export const UPDATE_RESULTS = ["succeeded", "failed", "in-progress"] as const;
export type UpdateResult = (typeof UPDATE_RESULTS)[number];
export const RESOURCE_OPS = ["create", "update", "delete", "same", "replace"] as const;
export type ResourceOp = (typeof RESOURCE_OPS)[number];
export type ResourceChanges = Record<ResourceOp, number>;

const KIND_WEIGHTS: Record<UpdateKind, number> = {
  update: 45,
  preview: 30,
  refresh: 12,
  import: 7,
  destroy: 6,
};
const FAILURE_RATE = 0.12;
/** Typical run time per kind, seconds [min, max]. */
const DURATIONS: Record<UpdateKind, [number, number]> = {
  update: [30, 900],
  preview: [5, 120],
  refresh: [10, 240],
  destroy: [30, 600],
  import: [10, 300],
};

// Layout of one update in a stack's packed history.
const START = 0;
const END = 1;
const KIND = 2;
const RESULT = 3;
const CHANGES = 4; // create, update, delete, same, replace
const RESOURCES_AFTER = 9;
const STRIDE = 10;

export interface StackRef {
  org: string;
  project: string;
  stack: string;
}

export function stackKey(org: string, project: string, stack: string): string {
  return `${org}/${project}/${stack}`;
}

interface RunningUpdate {
  finishAt: number;
  result: "succeeded" | "failed";
  changes: ResourceChanges;
}

/** A finished update, or one still running (`endTime` 0, no resource changes yet). */
export interface UpdateRecord {
  version: number;
  kind: UpdateKind;
  result: UpdateResult;
  startTime: number;
  endTime: number;
  changes: ResourceChanges | undefined;
  /** Resources in the stack after the update (before it, while it runs). */
  resourceCount: number;
}

export function pickKind(rng: Rng): UpdateKind {
  return rng.weighted(KIND_WEIGHTS);
}

export function pickDuration(rng: Rng, kind: UpdateKind): number {
  const [min, max] = DURATIONS[kind];
  return rng.int(min, max);
}

/** What an update of `kind` does to a stack holding `resources` resources. */
export function planChanges(rng: Rng, kind: UpdateKind, resources: number): ResourceChanges {
  const changes: ResourceChanges = { create: 0, update: 0, delete: 0, same: 0, replace: 0 };
  switch (kind) {
    case "update":
    case "preview": {
      changes.create = resources === 0 ? rng.int(3, 40) : rng.chance(0.5) ? rng.int(1, 5) : 0;
      changes.delete = resources > 0 && rng.chance(0.3) ? rng.int(1, Math.min(3, resources)) : 0;
      changes.update = rng.int(0, Math.min(6, resources - changes.delete));
      const rest = resources - changes.delete - changes.update;
      changes.replace = rest > 0 && rng.chance(0.15) ? 1 : 0;
      changes.same = rest - changes.replace;
      break;
    }
    case "refresh": {
      changes.update = resources > 0 && rng.chance(0.3) ? rng.int(1, Math.min(3, resources)) : 0;
      changes.delete = resources - changes.update > 0 && rng.chance(0.05) ? 1 : 0;
      changes.same = resources - changes.update - changes.delete;
      break;
    }
    case "destroy":
      changes.delete = resources;
      break;
    case "import":
      changes.create = rng.int(1, 8);
      changes.same = resources;
      break;
  }
  return changes;
}

export function resourcesAfter(kind: UpdateKind, before: number, changes: ResourceChanges): number {
  return kind === "preview" ? before : before + changes.create - changes.delete;
}

export class StackRecord {
  readonly id: string;
  readonly org: string;
  readonly project: string;
  readonly name: string;
  readonly key: string;
  readonly createdAt: number;
  #data = new Uint32Array(0);
  #count = 0;
  #running: RunningUpdate | undefined;

  constructor(id: string, org: string, project: string, name: string, createdAt: number) {
    this.id = id;
    this.org = org;
    this.project = project;
    this.name = name;
    this.key = stackKey(org, project, name);
    this.createdAt = createdAt;
  }

  get updateCount(): number {
    return this.#count;
  }

  get isRunning(): boolean {
    return this.#running !== undefined;
  }

  /** Start time of the newest update: what the stack list reports as `lastUpdate`. */
  get lastStart(): number | undefined {
    return this.#count === 0 ? undefined : this.#field(this.#count - 1, START);
  }

  /** Resources after the newest finished update. */
  get resourceCount(): number {
    return this.#count === 0 ? 0 : this.#field(this.#count - 1, RESOURCES_AFTER);
  }

  /** Version of the newest finished update (0 when none has finished). */
  get version(): number {
    for (let i = this.#count - 1; i >= 0; i--) if (this.#field(i, END) !== 0) return i + 1;
    return 0;
  }

  #field(index: number, field: number): number {
    return this.#data[index * STRIDE + field] ?? 0;
  }

  /** Makes room for `more` updates beyond the current ones. */
  reserve(more: number): void {
    const needed = (this.#count + more) * STRIDE;
    if (needed <= this.#data.length) return;
    const grown = new Uint32Array(needed);
    grown.set(this.#data);
    this.#data = grown;
  }

  #append(start: number, kind: UpdateKind): number {
    // Histories grow a few updates at a time: a small headroom keeps copies rare without doubling memory.
    if ((this.#count + 1) * STRIDE > this.#data.length) this.reserve(4);
    const index = this.#count++;
    const base = index * STRIDE;
    this.#data[base + START] = start;
    this.#data[base + KIND] = UPDATE_KINDS.indexOf(kind);
    return index;
  }

  #write(index: number, end: number, result: UpdateResult, changes: ResourceChanges, after: number): void {
    const base = index * STRIDE;
    this.#data[base + END] = end;
    this.#data[base + RESULT] = UPDATE_RESULTS.indexOf(result);
    this.#data[base + CHANGES] = changes.create;
    this.#data[base + CHANGES + 1] = changes.update;
    this.#data[base + CHANGES + 2] = changes.delete;
    this.#data[base + CHANGES + 3] = changes.same;
    this.#data[base + CHANGES + 4] = changes.replace;
    this.#data[base + RESOURCES_AFTER] = after;
  }

  /** Appends a finished update. */
  addFinished(start: number, end: number, kind: UpdateKind, failed: boolean, changes: ResourceChanges): void {
    if (this.#running) throw new Error(`stack ${this.key} already has an update running`);
    const before = this.resourceCount;
    const index = this.#append(start, kind);
    this.#write(index, end, failed ? "failed" : "succeeded", changes, resourcesAfter(kind, before, changes));
  }

  /** Appends an update that is still running; `finish` completes it once the clock reaches `finishAt`. */
  addRunning(
    start: number,
    kind: UpdateKind,
    finishAt: number,
    failed: boolean,
    changes: ResourceChanges,
  ): void {
    if (this.#running) throw new Error(`stack ${this.key} already has an update running`);
    const before = this.resourceCount;
    const index = this.#append(start, kind);
    this.#write(index, 0, "in-progress", { create: 0, update: 0, delete: 0, same: 0, replace: 0 }, before);
    this.#running = { finishAt, result: failed ? "failed" : "succeeded", changes };
  }

  /** Completes the running update if it is due at `now`. Returns whether it finished. */
  finishIfDue(now: number): boolean {
    const running = this.#running;
    if (!running || running.finishAt > now) return false;
    const index = this.#count - 1;
    const kind = UPDATE_KINDS[this.#field(index, KIND)] ?? "update";
    const before = this.#field(index, RESOURCES_AFTER);
    this.#write(
      index,
      running.finishAt,
      running.result,
      running.changes,
      resourcesAfter(kind, before, running.changes),
    );
    this.#running = undefined;
    return true;
  }

  /** Update by version (1 = oldest). */
  update(version: number): UpdateRecord {
    const index = version - 1;
    if (index < 0 || index >= this.#count)
      throw new RangeError(`stack ${this.key} has no version ${version}`);
    const result = UPDATE_RESULTS[this.#field(index, RESULT)] ?? "succeeded";
    const finished = result !== "in-progress";
    const changes: ResourceChanges = {
      create: this.#field(index, CHANGES),
      update: this.#field(index, CHANGES + 1),
      delete: this.#field(index, CHANGES + 2),
      same: this.#field(index, CHANGES + 3),
      replace: this.#field(index, CHANGES + 4),
    };
    return {
      version,
      kind: UPDATE_KINDS[this.#field(index, KIND)] ?? "update",
      result,
      startTime: this.#field(index, START),
      endTime: this.#field(index, END),
      changes: finished ? changes : undefined,
      resourceCount: this.#field(index, RESOURCES_AFTER),
    };
  }

  /** `limit` updates, newest first, skipping the `skip` newest. */
  updatesNewestFirst(skip: number, limit: number): UpdateRecord[] {
    const out: UpdateRecord[] = [];
    for (let version = this.#count - skip; version >= 1 && out.length < limit; version--) {
      out.push(this.update(version));
    }
    return out;
  }

  /** Bytes held by the packed history (capacity, not just the used part). */
  get historyBytes(): number {
    return this.#data.byteLength;
  }
}

/** Pulumi reports only the operations that happened: `{create: 3, same: 10}`. */
export function toStackUpdate(record: UpdateRecord): StackUpdate {
  const update: StackUpdate = {
    kind: record.kind,
    result: record.result,
    startTime: record.startTime,
    endTime: record.endTime,
    version: record.version,
  };
  if (record.changes) {
    update.resourceChanges = Object.fromEntries(
      Object.entries(record.changes).filter(([, count]) => count > 0),
    );
  }
  return update;
}

export function toStackSummary(stack: StackRecord): StackSummary {
  const summary: StackSummary = {
    id: stack.id,
    orgName: stack.org,
    projectName: stack.project,
    stackName: stack.name,
    links: { self: `https://app.pulumi.com/${stack.org}/${stack.project}/${stack.name}` },
  };
  const lastUpdate = stack.lastStart;
  if (lastUpdate !== undefined) {
    summary.lastUpdate = lastUpdate;
    summary.resourceCount = stack.resourceCount;
  }
  return summary;
}

/**
 * Fills a new stack's history: `count` updates spread over the past weeks, the newest started before `now`
 * and, when `running`, still in progress.
 */
export function seedHistory(
  rng: Rng,
  stack: StackRecord,
  count: number,
  now: number,
  running: boolean,
): void {
  if (count === 0) return;
  stack.reserve(count);
  const lastStart = running ? now - rng.int(0, 300) : now - rng.int(600, 3 * 86_400);
  const span = count === 1 ? 0 : rng.int(count * 3_600, count * 4 * 86_400);
  const firstStart = Math.max(stack.createdAt + 1, lastStart - span);
  const gap = count === 1 ? 0 : (lastStart - firstStart) / (count - 1);
  for (let i = 0; i < count; i++) {
    const isLast = i === count - 1;
    const start = isLast ? lastStart : firstStart + Math.floor(i * gap + rng.float() * (gap / 3));
    const kind = pickKind(rng);
    const failed = rng.chance(FAILURE_RATE);
    const changes = planChanges(rng, kind, stack.resourceCount);
    if (isLast && running) {
      stack.addRunning(start, kind, now + rng.int(30, 900), failed, changes);
      continue;
    }
    const room = isLast ? now - start : Math.floor(gap / 2);
    const end = start + Math.max(1, Math.min(pickDuration(rng, kind), room));
    stack.addFinished(start, end, kind, failed, changes);
  }
}

/** A new update started during the tick that ended at `now`; short ones may already be finished. */
export function startUpdate(rng: Rng, stack: StackRecord, now: number, tickSeconds: number): void {
  const start = Math.max((stack.lastStart ?? 0) + 1, now - rng.int(0, tickSeconds - 1));
  const kind = pickKind(rng);
  const failed = rng.chance(FAILURE_RATE);
  const changes = planChanges(rng, kind, stack.resourceCount);
  const end = start + pickDuration(rng, kind);
  if (end <= now) stack.addFinished(start, end, kind, failed, changes);
  else stack.addRunning(start, kind, end, failed, changes);
}

/** Live stacks, kept sorted by `org/project/stack` so pages are stable while stacks come and go. */
export class StackStore {
  readonly #byKey = new Map<string, StackRecord>();
  #keys: string[] = [];

  get size(): number {
    return this.#keys.length;
  }

  get(key: string): StackRecord | undefined {
    return this.#byKey.get(key);
  }

  /** Index of the first key >= `key`. */
  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(stack: StackRecord): void {
    if (this.#byKey.has(stack.key)) throw new Error(`stack ${stack.key} already exists`);
    this.#byKey.set(stack.key, stack);
    this.#keys.splice(this.#lowerBound(stack.key), 0, stack.key);
  }

  remove(key: string): StackRecord | undefined {
    const stack = this.#byKey.get(key);
    if (!stack) return undefined;
    this.#byKey.delete(key);
    this.#keys.splice(this.#lowerBound(key), 1);
    return stack;
  }

  keyAt(index: number): string | undefined {
    return this.#keys[index];
  }

  /** [start, end) indices of the keys under `prefix` (all keys when undefined). */
  range(prefix: string | undefined): [number, number] {
    if (prefix === undefined || prefix === "") return [0, this.#keys.length];
    const next = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return [this.#lowerBound(prefix), this.#lowerBound(next)];
  }

  /** Index of the first key after `key`. */
  indexAfter(key: string): number {
    const index = this.#lowerBound(key);
    return this.#keys[index] === key ? index + 1 : index;
  }

  /** Stacks in key order, optionally only those under `prefix`. */
  *list(prefix?: string): Generator<StackRecord> {
    const [start, end] = this.range(prefix);
    for (let i = start; i < end; i++) {
      const stack = this.#byKey.get(this.#keys[i] as string);
      if (stack) yield stack;
    }
  }

  /** Stacks in insertion order: the order ticks visit them in, independent of names. */
  values(): IterableIterator<StackRecord> {
    return this.#byKey.values();
  }
}
