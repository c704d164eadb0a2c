/**
 * What the state file may hold, value by value. The same rules check the state before it is written and after it
 * is read, so whatever is saved reads back as it was: counts, versions and timestamps are non-negative safe
 * integers (JSON has no Infinity or NaN; `JSON.stringify` would write them as `null`), names are strings.
 * A bad entry loses only itself: a stack track or tombstone whose identity, version or running updates are bad is
 * dropped, a bad optional value (a resource count, a timestamp, one organization value) only that value.
 */
import { DEPLOYMENT_STATUSES, type DeploymentStatus } from "../pulumi/types.ts";
import type { NeoBudget, NeoUsage, OrgValues, PendingUpdate, PolicyResults, StackTrack } from "./state.ts";

/** What was left out, and the first reason why, for one log line. */
export class DropTally {
  stacks = 0;
  tombstones = 0;
  orgs = 0;
  /** Single values: an optional field of a track, one value of an organization, the first-cycle baseline. */
  values = 0;
  first: string | undefined;

  note(what: "stacks" | "tombstones" | "orgs" | "values", problem: string): void {
    this[what]++;
    this.first ??= problem;
  }

  get total(): number {
    return this.stacks + this.tombstones + this.orgs + this.values;
  }

  fields(): Record<string, number | string | undefined> {
    return {
      stacks: this.stacks,
      tombstones: this.tombstones,
      orgs: this.orgs,
      values: this.values,
      first: this.first,
    };
  }
}

export type Raw = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** The kind of a bad value, never a string's content: a file put there by mistake may hold anything. */
export function describeValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/**
 * A source state's list, `raw[field]`: undefined, noted as a dropped organization state, when `raw` is no object
 * or the field no array.
 */
export function stateList(
  raw: unknown,
  field: string,
  where: string,
  tally: DropTally,
): unknown[] | undefined {
  const list = isRecord(raw) ? raw[field] : raw;
  if (isRecord(raw) && Array.isArray(list)) return list;
  tally.note("orgs", `${where}.${field} must be an array (was ${describeValue(list)})`);
  return undefined;
}

function notCount(where: string, value: unknown): string {
  return `${where} must be a non-negative safe integer (was ${describeValue(value)})`;
}

/** `undefined` when absent; the value when valid; a dropped value (noted) otherwise. */
function optionalCount(raw: Raw, field: string, where: string, tally: DropTally): number | undefined {
  const value = raw[field];
  if (value === undefined || isCount(value)) return value;
  tally.note("values", notCount(`${where}.${field}`, value));
  return undefined;
}

/** The reason a track's identity or counting state is bad, or undefined when it is good. */
function trackProblem(raw: Raw, where: string, needsId: boolean): string | undefined {
  for (const name of ["org", "project", "stack"]) {
    if (typeof raw[name] !== "string")
      return `${where}.${name} must be a string (was ${describeValue(raw[name])})`;
  }
  if (needsId ? typeof raw.id !== "string" : raw.id !== undefined && typeof raw.id !== "string")
    return `${where}.id must be a string (was ${describeValue(raw.id)})`;
  if (!isCount(raw.lastVersion)) return notCount(`${where}.lastVersion`, raw.lastVersion);
  if (!Array.isArray(raw.pending))
    return `${where}.pending must be an array (was ${describeValue(raw.pending)})`;
  for (const [i, p] of raw.pending.entries()) {
    if (!isRecord(p) || !isCount(p.version) || typeof p.kind !== "string")
      return `${where}.pending[${i}] must be a version and a kind`;
  }
  return undefined;
}

/**
 * A stack track (or, with `kind: "tombstones"`, a tombstone, which needs its id), rebuilt from checked values
 * only; `undefined` (noted) when it cannot be kept.
 */
export function checkTrack(
  raw: unknown,
  where: string,
  kind: "stacks" | "tombstones",
  tally: DropTally,
): StackTrack | undefined {
  if (!isRecord(raw)) {
    tally.note(kind, `${where} must be an object (was ${describeValue(raw)})`);
    return undefined;
  }
  const problem = trackProblem(raw, where, kind === "tombstones");
  if (problem !== undefined) {
    tally.note(kind, problem);
    return undefined;
  }
  const pending = raw.pending as ReadonlyArray<Raw>;
  return {
    id: raw.id as string | undefined,
    org: raw.org as string,
    project: raw.project as string,
    stack: raw.stack as string,
    listLastUpdate: optionalCount(raw, "listLastUpdate", where, tally),
    lastVersion: raw.lastVersion as number,
    pending: pending.map((p): PendingUpdate => ({ version: p.version as number, kind: p.kind as string })),
    resourceCount: optionalCount(raw, "resourceCount", where, tally),
    lastUpdateTimestamp: optionalCount(raw, "lastUpdateTimestamp", where, tally),
  };
}

/** A checked value, or `undefined` when it is not valid. */
type Check<T> = (value: unknown) => { readonly value: T } | undefined;

const count: Check<number> = (value) => (isCount(value) ? { value } : undefined);

const countsByName: Check<Readonly<Record<string, number>>> = (value) =>
  isRecord(value) && Object.values(value).every(isCount)
    ? { value: Object.fromEntries(Object.entries(value) as Array<[string, number]>) }
    : undefined;

const deployments: Check<Readonly<Record<DeploymentStatus, number>>> = (value) =>
  isRecord(value) && DEPLOYMENT_STATUSES.every((status) => isCount(value[status]))
    ? {
        value: Object.fromEntries(DEPLOYMENT_STATUSES.map((s) => [s, value[s]])) as Record<
          DeploymentStatus,
          number
        >,
      }
    : undefined;

const policyResults: Check<PolicyResults> = (value) =>
  isRecord(value) &&
  isCount(value.policyTotal) &&
  isCount(value.policyWithIssues) &&
  isCount(value.resourcesTotal) &&
  isCount(value.resourcesWithIssues)
    ? {
        value: {
          policyTotal: value.policyTotal,
          policyWithIssues: value.policyWithIssues,
          resourcesTotal: value.resourcesTotal,
          resourcesWithIssues: value.resourcesWithIssues,
        },
      }
    : undefined;

const neo: Check<NeoUsage> = (value) => {
  if (!isRecord(value) || !isCount(value.tokensCurrentMonth) || !isCount(value.tokensTotal)) return undefined;
  const tasks = countsByName(value.tasksByStatus);
  if (!tasks) return undefined;
  return {
    value: {
      tasksByStatus: tasks.value,
      tokensCurrentMonth: value.tokensCurrentMonth,
      tokensTotal: value.tokensTotal,
    },
  };
};

const neoBudget: Check<NeoBudget | null> = (value) => {
  if (value === null) return { value: null };
  return isRecord(value) &&
    isCount(value.consumed) &&
    isCount(value.allowance) &&
    typeof value.exhausted === "boolean"
    ? { value: { consumed: value.consumed, allowance: value.allowance, exhausted: value.exhausted } }
    : undefined;
};

/** Every value an organization keeps, and how to check it. */
const ORG_CHECKS: { readonly [K in keyof Required<OrgValues>]: Check<Required<OrgValues>[K]> } = {
  deployments,
  deploymentConcurrency: count,
  deploymentsPaused: (value) => (typeof value === "boolean" ? { value } : undefined),
  members: count,
  teams: count,
  environments: count,
  policyGroups: count,
  policyPacks: count,
  violations: countsByName,
  policyResults,
  neo,
  neoBudget,
};

/** One organization's values, each checked on its own: a bad one is dropped (noted), the others kept. */
export function checkOrg(raw: unknown, where: string, tally: DropTally): OrgValues | undefined {
  if (!isRecord(raw)) {
    tally.note("orgs", `${where} must be an object (was ${describeValue(raw)})`);
    return undefined;
  }
  const values: Record<string, unknown> = {};
  for (const [field, check] of Object.entries(ORG_CHECKS) as Array<[keyof OrgValues, Check<unknown>]>) {
    if (raw[field] === undefined) continue;
    const checked = check(raw[field]);
    if (checked) values[field] = checked.value;
    else tally.note("values", `${where}.${field} is malformed`);
  }
  return values as OrgValues;
}

/** The first cycle's start (the no-replay baseline); a bad one is dropped (noted) and a new baseline taken. */
export function checkBaseline(value: unknown, tally: DropTally): number | undefined {
  if (value === undefined || isCount(value)) return value;
  tally.note("values", notCount("firstCycleStartedAt", value));
  return undefined;
}
