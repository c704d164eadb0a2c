/**
 * The organization phase of a cycle: every enabled organization source that is due, for each organization. A
 * source on the organization cadence runs again only once `orgIntervalMs` has passed since its last success; its
 * values are kept (and exported) in between. A failed run keeps the previous state and is retried next cycle.
 */
import type { StackRef } from "../pulumi/api.ts";
import type { CycleWork } from "./cycle-work.ts";
import type { UnknownValues } from "./label-values.ts";
import type { OrgSource, OrgSourceInput, OrgSourceOutput, SourceSettings } from "./source.ts";
import type { AnyOrgSource } from "./sources/index.ts";
import type { OrgValues } from "./state.ts";

/** The organization part of the state, copied at the cycle's start and changed in place by the phase. */
export interface OrgPhaseState {
  readonly orgs: Map<string, OrgValues>;
  /** Source name → organization → the source's state (sources that keep theirs apart from the org values). */
  readonly sources: Map<string, Map<string, unknown>>;
  /** `source|org` → epoch ms of the start of the cycle of its last successful run. */
  readonly sourceRuns: Map<string, number>;
}

export interface OrgPhaseOptions {
  readonly sources: readonly AnyOrgSource[];
  /** How often sources on the organization cadence run. */
  readonly orgIntervalMs: number;
  /** Unix seconds at which the first cycle began. */
  readonly baselineSeconds: number;
  /** The cycle's start, epoch ms: what cadences are measured from. */
  readonly startedMs: number;
  readonly settings: SourceSettings;
}

export interface OrgPhase {
  /**
   * Starts every due source of `org`, each once what it needs is in (`listing`: the organization's stacks once
   * this cycle's listing settled, undefined when it failed); each promise settles when its source is done (never
   * rejects). `independent`: those of the sources that need nothing of the cycle (what an early view waits for: the others
   * wait behind the listing and the stack reads).
   */
  collectOrg(
    org: string,
    listing: Promise<readonly StackRef[] | undefined>,
  ): { readonly all: Promise<void>[]; readonly independent: Promise<void>[] };
  /** Source name → the events its runs produced this cycle. */
  readonly events: ReadonlyMap<string, readonly unknown[]>;
  readonly unknown: readonly UnknownValues[];
}

const NO_EVENTS: Promise<readonly unknown[]> = Promise.resolve([]);
const NO_UPSTREAM: Pick<OrgSourceInput<unknown>, "listing" | "events"> = {
  listing: undefined,
  events: new Map(),
};

export function runKey(source: Pick<OrgSource, "name">, org: string): string {
  return `${source.name}|${org}`;
}

/**
 * How early a source on the organization cadence may run, as a share of its interval: cycles start on timers that
 * may fire a few milliseconds early, and an inventory due "every 5 minutes" at a 60 s interval must not slip to
 * every 6 (nor one due every cycle to every other cycle).
 */
export const ORG_INTERVAL_SLACK = 0.05;

/** Whether a source runs this cycle for `org`: every cycle, or once its interval (organization or own) has passed. */
export function sourceDue(
  source: Pick<OrgSource, "cadence">,
  lastRunMs: number | undefined,
  startedMs: number,
  orgIntervalMs: number,
): boolean {
  // A last run after this cycle's start (the clock was set back, or a state file from elsewhere): run now.
  if (source.cadence === "cycle" || lastRunMs === undefined || lastRunMs > startedMs) return true;
  const intervalMs = source.cadence === "org" ? orgIntervalMs : source.cadence.everyMs;
  return startedMs - lastRunMs >= intervalMs * (1 - ORG_INTERVAL_SLACK);
}

export function orgPhase(work: CycleWork, state: OrgPhaseState, options: OrgPhaseOptions): OrgPhase {
  const events = new Map<string, unknown[]>();
  const unknown: UnknownValues[] = [];

  const previousOf = (source: AnyOrgSource, org: string): unknown =>
    source.persist === "org-values" ? state.orgs.get(org) : state.sources.get(source.name)?.get(org);

  const keep = (source: AnyOrgSource, org: string, next: unknown): void => {
    if (source.persist === "org-values") {
      state.orgs.set(org, { ...state.orgs.get(org), ...(next as Partial<OrgValues>) });
      return;
    }
    let byOrg = state.sources.get(source.name);
    if (!byOrg) {
      byOrg = new Map();
      state.sources.set(source.name, byOrg);
    }
    byOrg.set(org, next);
  };

  /** What a run reports: its failures counted and logged; a run with none that made calls ends their streaks. */
  const report = (source: AnyOrgSource, org: string, output: OrgSourceOutput<unknown, unknown>): void => {
    const operation = source.operations[0];
    const failures =
      output.failure !== undefined ? [{ fields: {}, error: output.failure }] : (output.failures ?? []);
    for (const { fields, error } of failures) work.fail(operation, org, fields, error);
    if (failures.length === 0 && !output.idle) work.succeeded(org, operation);
  };

  /** Runs one source for `org`; resolves to the events of its run (none when it failed or came too late). */
  const runSource = async (
    source: AnyOrgSource,
    org: string,
    upstream: Pick<OrgSourceInput<unknown>, "listing" | "events">,
  ): Promise<readonly unknown[]> => {
    try {
      const run = () =>
        source.run({
          api: work.api,
          org,
          previous: previousOf(source, org),
          now: new Date(options.startedMs),
          baselineSeconds: options.baselineSeconds,
          settings: options.settings,
          ...upstream,
          slot: work.slot,
        });
      const output = source.concurrency === "per-call" ? await run() : await work.slot(run);
      if (!work.isOpen() || !output) return [];
      keep(source, org, output.state);
      state.sourceRuns.set(runKey(source, org), options.startedMs);
      const produced = output.events ?? [];
      if (produced.length > 0) events.set(source.name, [...(events.get(source.name) ?? []), ...produced]);
      if (output.unknown) unknown.push(...output.unknown);
      report(source, org, output);
      return produced;
    } catch (error) {
      work.fail(source.operations[0], org, {}, error);
      return [];
    }
  };

  /** What `source` needs, once it is in: the listing, and the events of this org's runs it reads. */
  const upstreamOf = async (
    source: AnyOrgSource,
    listing: Promise<readonly StackRef[] | undefined>,
    runs: ReadonlyMap<string, Promise<readonly unknown[]>>,
  ): Promise<Pick<OrgSourceInput<unknown>, "listing" | "events">> => {
    const names = source.needs?.events ?? [];
    const produced = await Promise.all(names.map((name) => runs.get(name) ?? NO_EVENTS));
    return {
      listing: source.needs?.listing ? await listing : undefined,
      events: new Map(names.map((name, i) => [name, produced[i] ?? []])),
    };
  };

  const collectOrg = (org: string, listing: Promise<readonly StackRef[] | undefined>) => {
    // Registry order: a source's needs come earlier, so their runs are in the map when it starts.
    const runs = new Map<string, Promise<readonly unknown[]>>();
    const due = options.sources.filter((source) =>
      sourceDue(source, state.sourceRuns.get(runKey(source, org)), options.startedMs, options.orgIntervalMs),
    );
    const all: Promise<void>[] = [];
    const independent: Promise<void>[] = [];
    for (const source of due) {
      const run = source.needs
        ? upstreamOf(source, listing, runs).then((upstream) => runSource(source, org, upstream))
        : runSource(source, org, NO_UPSTREAM);
      runs.set(source.name, run);
      const done = run.then(() => undefined);
      all.push(done);
      if (!source.needs) independent.push(done);
    }
    return { all, independent };
  };

  return { collectOrg, events, unknown };
}
