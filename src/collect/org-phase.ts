/**
 * The organization phase of a cycle: every enabled organization source that is due, for each organization. A
 * source on the organization cadence runs again only once `orgIntervalMs` has passed since its last success; its
 * values are kept (and exported) in between. A failed run keeps the previous state and is retried next cycle.
 */
import type { CycleWork } from "./cycle-work.ts";
import type { UnknownValues } from "./label-values.ts";
import type { OrgSource } from "./source.ts";
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
}

export interface OrgPhase {
  /** Starts every due source of `org`; each promise settles when its source is done (never rejects). */
  collectOrg(org: string): Promise<void>[];
  /** Source name → the events its runs produced this cycle. */
  readonly events: ReadonlyMap<string, readonly unknown[]>;
  readonly unknown: readonly UnknownValues[];
}

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
  if (source.cadence === "cycle" || lastRunMs === undefined) return true;
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

  const runSource = async (source: AnyOrgSource, org: string): Promise<void> => {
    const operation = source.operations[0];
    try {
      const output = await work.slot(() =>
        source.run({
          api: work.api,
          org,
          previous: previousOf(source, org),
          now: new Date(options.startedMs),
          baselineSeconds: options.baselineSeconds,
        }),
      );
      if (!work.isOpen() || !output) return;
      keep(source, org, output.state);
      state.sourceRuns.set(runKey(source, org), options.startedMs);
      if (output.events && output.events.length > 0) {
        events.set(source.name, [...(events.get(source.name) ?? []), ...output.events]);
      }
      if (output.unknown) unknown.push(...output.unknown);
      if (output.failure !== undefined) work.fail(operation, org, {}, output.failure);
      else if (!output.idle) work.succeeded(org, operation);
    } catch (error) {
      work.fail(operation, org, {}, error);
    }
  };

  const collectOrg = (org: string): Promise<void>[] =>
    options.sources
      .filter((source) =>
        sourceDue(
          source,
          state.sourceRuns.get(runKey(source, org)),
          options.startedMs,
          options.orgIntervalMs,
        ),
      )
      .map((source) => runSource(source, org));

  return { collectOrg, events, unknown };
}
