/**
 * A source: one thing the collector reads from Pulumi Cloud, declared as data. The registry
 * (`src/collect/sources/index.ts`) lists every source; the cycle runs the enabled ones at their cadence and keeps
 * what each returns, so adding a metric family means one source file, its catalog entries and the simulator's
 * handler, and no change to the cycle, the collector or the state file.
 */
import type { Family } from "../families.ts";
import type { Operation, PulumiApi, StackRef } from "../pulumi/api.ts";
import type { CycleWork } from "./cycle-work.ts";
import type { UnknownValues } from "./label-values.ts";
import type { OrgValues } from "./state.ts";
import type { DropTally } from "./state-check.ts";

/**
 * How often a source is read: `cycle` every collection cycle, `org` at most once per `--pulumi.org-interval`
 * (organization inventory that changes rarely; its series are exported every cycle with the last values),
 * `everyMs` at most once per that many milliseconds whatever the flags (data that needs no fresher reads).
 */
export type Cadence = "cycle" | "org" | { readonly everyMs: number };

/** The settings a source's cadence may depend on (from the configuration). */
export interface SourceSettings {
  /** `--pulumi.collect-interval`. */
  readonly collectIntervalMs: number;
  /** `--pulumi.drift-refresh`: every stack's drift status is read at least this often. */
  readonly driftRefreshMs: number;
}

export const DEFAULT_SOURCE_SETTINGS: SourceSettings = {
  collectIntervalMs: 60_000,
  driftRefreshMs: 3_600_000,
};

/**
 * What a source needs from the same cycle before it runs for an organization; the organization phase runs it once
 * these are in. Declared as data, so the cycle knows nothing of any one source.
 */
export interface SourceNeeds {
  /** The organization's stack listing of this cycle (`input.listing`); its family then keeps the listing running. */
  readonly listing?: true;
  /**
   * Sources whose events of this cycle for the organization it reads (`input.events`): each comes earlier in the
   * registry, and when it runs this cycle, this source waits for it.
   */
  readonly events?: readonly string[];
}

/** One item of a run that failed (a stack's read): counted, and logged when its failure streak starts. */
export interface ItemFailure {
  /** What names the item in the log line, e.g. `project` and `stack`. */
  readonly fields: Record<string, string>;
  readonly error: unknown;
}

/** What an organization source is given for one organization in one cycle. */
export interface OrgSourceInput<S> {
  readonly api: PulumiApi;
  readonly org: string;
  /** This source's state for this organization after its last successful run; undefined before the first one. */
  readonly previous: S | undefined;
  /** The collector's clock (the cycle's start). */
  readonly now: Date;
  /**
   * Unix seconds at which the exporter's first cycle began (restored from the state file): the no-replay
   * baseline. What finished before it is not counted.
   */
  readonly baselineSeconds: number;
  readonly settings: SourceSettings;
  /**
   * With `needs.listing`: the organization's stacks as this cycle's completed listing found them; undefined when
   * the listing failed or was not needed.
   */
  readonly listing: readonly StackRef[] | undefined;
  /** With `needs.events`: source name → its events of this cycle for this organization (none when it did not run). */
  readonly events: ReadonlyMap<string, readonly unknown[]>;
  /** With `concurrency: "per-call"`: runs one call in a concurrency slot of the cycle; undefined once it closed. */
  readonly slot: CycleWork["slot"];
}

/** What a successful run produced: the new state, and the events that finished since the last run (each once). */
export interface OrgSourceOutput<S, E> {
  readonly state: S;
  readonly events?: readonly E[];
  /** API values outside the spec's lists, reported as `other`. */
  readonly unknown?: readonly UnknownValues[];
  /**
   * An error reported (counted, and logged when its failure streak starts) although the run produced its state:
   * a family the source switched off for the organization, whose off state must be kept.
   */
  readonly failure?: unknown;
  /** Items that failed while the rest was read (their previous values kept): each counted under `operations[0]`. */
  readonly failures?: readonly ItemFailure[];
  /**
   * The run made no call (its family is off for the organization): neither a success nor a failure, so a failure
   * streak it started ends silently instead of being logged as recovered.
   */
  readonly idle?: true;
}

/**
 * How a source's state crosses a restart through the state file. `save` must return plain JSON data; `load` checks
 * what the file holds (it may be from an older version, or damaged) and rebuilds the state from checked values
 * only, noting what it drops in the tally; `undefined` drops the whole entry.
 */
export interface StateCodec<S> {
  save(state: S): unknown;
  load(raw: unknown, where: string, tally: DropTally): S | undefined;
}

export interface OrgSource<S = unknown, E = unknown> {
  /** Unique; the key of its state in the state file and in logs. */
  readonly name: string;
  readonly scope: "org";
  readonly family: Family;
  /** The operations it calls; the first is the one its failures are counted and logged under. */
  readonly operations: readonly [Operation, ...Operation[]];
  readonly cadence: Cadence;
  /** The catalog entries (metric names) its state and events feed; test/collect/sources.test.ts checks them. */
  readonly feeds: readonly string[];
  /** Its API calls, as the README's calls table states them (generated from the registry). */
  readonly calls: string;
  /**
   * Where its state crosses a restart. `org-values`: merged into the organization's values (`CollectorState.orgs`,
   * the state file's `orgs`, the format the inventory sources' values have always had, checked by
   * src/collect/state-check.ts). A codec: under the state file's `sources.<name>.<org>`. Absent: memory only, read
   * again after a restart.
   */
  readonly persist?: StateCodec<S> | "org-values";
  /** What it needs from the same cycle first; absent: nothing, it starts with the organization's other sources. */
  readonly needs?: SourceNeeds;
  /**
   * How its run takes the cycle's concurrency slots: one for the whole run (absent: a source of a few calls), or
   * `per-call`: none, each call takes one through `input.slot` (a source with a call per stack).
   */
  readonly concurrency?: "per-call";
  /** Reads the API. A throw keeps the previous state (and counts the error under `operations[0]`). */
  run(input: OrgSourceInput<S>): Promise<OrgSourceOutput<S, E>>;
}

/** An inventory source: its state is a part of the organization's values. */
export type OrgValuesSource = OrgSource<Partial<OrgValues>, never> & { readonly persist: "org-values" };
