/**
 * What the exporter should report, computed from the simulator's model alone: the expected gauges of the
 * current state and the expected update counters over every cycle so far. Tests compare the exporter's output
 * (in memory, OTLP or Prometheus text) with these, series by series.
 *
 * Counting rule (README, "What the numbers mean"): every update that reached a terminal result after the first
 * cycle began is counted once, by org, project, stack, kind and result, provided a cycle saw it finished. The
 * model only changes on `tick()`, so calling `observe()` right before each cycle records exactly what that
 * cycle can see.
 */
import type { SimModel } from "../../src/sim/model.ts";
import { familyOf, ORG_GAUGES, type Series, STACK_GAUGES, seriesKey, withoutEndedStates } from "./series.ts";

export { familyOf, ORG_GAUGES, type Series, STACK_GAUGES, seriesKey };

export const UPDATE_COUNTERS = [
  "pulumi_update_total",
  "pulumi_update_resource_changes",
  "pulumi_update_duration_seconds_count",
  "pulumi_update_duration_seconds_sum",
] as const;

/** Every family the truth covers. */
export const TRUTH_FAMILIES: readonly string[] = [...STACK_GAUGES, ...ORG_GAUGES, ...UPDATE_COUNTERS];

const DEPLOYMENT_STATUS_FIELDS = {
  "not-started": "notStarted",
  accepted: "accepted",
  running: "running",
  failed: "failed",
  succeeded: "succeeded",
  skipped: "skipped",
} as const;
/** The spec's values, then `other`: every combination is reported, 0 included. */
const VIOLATION_LEVELS = ["advisory", "mandatory", "remediate", "disabled", "other"];
const VIOLATION_KINDS = ["audit", "preventative", "other"];
const NEO_STATUSES = ["running", "idle", "other"];

/** The sum of two sets of series: what two processes counted together. */
export function sum(a: Series, b: Series): Series {
  const out: Series = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = (out[key] ?? 0) + value;
  return out;
}

/** Only the series of the given families. */
export function pick(series: Series, families: readonly string[]): Series {
  const wanted = new Set(families);
  return withoutEndedStates(
    Object.fromEntries(Object.entries(series).filter(([key]) => wanted.has(familyOf(key)))),
  );
}

/** Only the series whose labels include `labels`. */
export function withLabels(series: Series, labels: Readonly<Record<string, string>>): Series {
  const needles = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return Object.fromEntries(
    Object.entries(series).filter(([key]) => {
      const inner = key.slice(key.indexOf("{") + 1, -1).split(",");
      return needles.every((needle) => inner.includes(needle));
    }),
  );
}

/** Leaves out the series whose labels include `labels`. */
export function withoutLabels(series: Series, labels: Readonly<Record<string, string>>): Series {
  const matching = withLabels(series, labels);
  return Object.fromEntries(Object.entries(series).filter(([key]) => !(key in matching)));
}

interface FinishedUpdate {
  readonly labels: { org: string; project: string; stack: string; kind: string; result: string };
  readonly endTime: number;
  readonly durationSeconds: number | undefined;
  readonly resourceChanges: Readonly<Record<string, number>>;
}

export class Truth {
  readonly #model: SimModel;
  readonly #organizations: readonly string[];
  #firstCycleStart: number | undefined;
  /** Terminal updates any cycle could see, by stack id and version: each is counted at most once. */
  readonly #finished = new Map<string, FinishedUpdate>();

  readonly #monthClock: (() => number) | undefined;

  /**
   * `monthClock` (epoch ms) decides the "current month" of Neo token use; default `clockMs()`. An exporter that
   * runs on the wall clock (a real process) needs the wall clock here.
   */
  constructor(model: SimModel, organizations: readonly string[], monthClock?: () => number) {
    this.#model = model;
    this.#organizations = organizations;
    this.#monthClock = monthClock;
  }

  get organizations(): readonly string[] {
    return this.#organizations;
  }

  /** The model's clock (Unix seconds) when the first cycle was observed. */
  get firstCycleStart(): number | undefined {
    return this.#firstCycleStart;
  }

  /**
   * The exporter's clock in milliseconds: one second ahead of the model's. An update that ended in the very
   * second the model shows is then unambiguously over before the cycle began, as it is in the model.
   */
  clockMs(): number {
    return (this.#model.now + 1) * 1000;
  }

  /** Records the state the next cycle sees. Call right before every cycle. */
  observe(): void {
    this.#firstCycleStart ??= this.#model.now;
    for (const org of this.#organizations) {
      for (const summary of this.#model.listStacks(org)) {
        const ref = { org, project: summary.projectName, stack: summary.stackName };
        for (const update of this.#model.stackUpdates(ref) ?? []) {
          if (update.result !== "succeeded" && update.result !== "failed") continue;
          const key = `${summary.id}#${update.version}`;
          if (this.#finished.has(key)) continue;
          const end = update.endTime ?? 0;
          this.#finished.set(key, {
            labels: { ...ref, kind: update.kind, result: update.result },
            endTime: end,
            durationSeconds:
              end > 0 && update.startTime > 0 && end >= update.startTime ? end - update.startTime : undefined,
            resourceChanges: update.resourceChanges ?? {},
          });
        }
      }
    }
  }

  /** Updates counted so far: terminal, seen by a cycle, ended after the first cycle began. */
  countedUpdates(): number {
    return this.#counted().length;
  }

  #counted(): FinishedUpdate[] {
    const since = this.#firstCycleStart;
    if (since === undefined) return [];
    return [...this.#finished.values()].filter((u) => u.endTime > since);
  }

  /** The update counters and the duration histogram, cumulative over every observed cycle. */
  counters(): Series {
    const out: Series = {};
    const add = (key: string, value: number) => {
      out[key] = (out[key] ?? 0) + value;
    };
    for (const update of this.#counted()) {
      const { org, project, stack, kind } = update.labels;
      add(seriesKey("pulumi_update_total", update.labels), 1);
      if (update.durationSeconds !== undefined) {
        add(seriesKey("pulumi_update_duration_seconds_count", update.labels), 1);
        add(seriesKey("pulumi_update_duration_seconds_sum", update.labels), update.durationSeconds);
      }
      for (const [operation, count] of Object.entries(update.resourceChanges)) {
        if (count > 0)
          add(seriesKey("pulumi_update_resource_changes", { org, project, stack, kind, operation }), count);
      }
    }
    return out;
  }

  /** The stack gauges of the model's current state. */
  stackGauges(): Series {
    const out: Series = {};
    for (const org of this.#organizations) {
      for (const summary of this.#model.listStacks(org)) {
        const labels = { org, project: summary.projectName, stack: summary.stackName };
        const record = this.#model.stack(labels);
        const updates = this.#model.stackUpdates(labels) ?? [];
        out[seriesKey("pulumi_stack_resource_count", labels)] = record?.resourceCount ?? 0;
        const ends = updates
          .filter((u) => u.result === "succeeded" || u.result === "failed")
          .map((u) => u.endTime ?? 0);
        const lastEnd = ends.length > 0 ? Math.max(...ends) : undefined;
        const timestamp = lastEnd ?? summary.lastUpdate;
        if (timestamp !== undefined) out[seriesKey("pulumi_stack_last_update_timestamp", labels)] = timestamp;
        const running = updates.find((u) => u.result !== "succeeded" && u.result !== "failed");
        if (running) out[seriesKey("pulumi_stack_update_in_progress", { ...labels, kind: running.kind })] = 1;
      }
    }
    return out;
  }

  /** The organization gauges of the model's current state, as the exporter reads them at `clockMs()`. */
  orgGauges(): Series {
    const out: Series = {};
    const now = new Date(this.#monthClock ? this.#monthClock() : this.clockMs());
    for (const org of this.#organizations) {
      const one = (name: string, value: number) => {
        out[seriesKey(name, { org })] = value;
      };
      const counts = this.#model.deploymentCounts(org);
      if (counts) {
        for (const [status, field] of Object.entries(DEPLOYMENT_STATUS_FIELDS))
          out[seriesKey("pulumi_deployment_status", { org, status })] = counts[field];
        out[seriesKey("pulumi_deployment_status", { org, status: "other" })] = 0;
      }
      one("pulumi_org_member_count", this.#model.members(org).length);
      one("pulumi_org_team_count", this.#model.teams(org).length);
      one("pulumi_org_environment_count", this.#model.environments(org).length);
      one("pulumi_org_policy_group_count", this.#model.policyGroups(org).length);
      one("pulumi_org_policy_pack_count", this.#model.policyPacks(org).length);
      for (const level of VIOLATION_LEVELS) {
        for (const kind of VIOLATION_KINDS)
          out[seriesKey("pulumi_org_policy_violations", { org, level, kind })] = 0;
      }
      for (const v of this.#model.violations(org)) {
        const key = seriesKey("pulumi_org_policy_violations", { org, level: v.level, kind: v.kind });
        out[key] = (out[key] ?? 0) + 1;
      }
      const meta = this.#model.policyResultsMetadata(org);
      if (meta) {
        one("pulumi_org_policy_total", meta.policyTotalCount);
        one("pulumi_org_policy_with_issues", meta.policyWithIssuesCount);
        one("pulumi_org_governed_resources_total", meta.resourcesTotalCount);
        one("pulumi_org_governed_resources_with_issues", meta.resourcesWithIssuesCount);
      }
      for (const status of NEO_STATUSES) out[seriesKey("pulumi_org_neo_task_count", { org, status })] = 0;
      let tokensTotal = 0;
      let tokensMonth = 0;
      for (const task of this.#model.neoTasks(org)) {
        const key = seriesKey("pulumi_org_neo_task_count", { org, status: task.status });
        out[key] = (out[key] ?? 0) + 1;
        const tokens = task.tokensUsed ?? 0;
        tokensTotal += tokens;
        const created = new Date(task.createdAt);
        if (created.getUTCFullYear() === now.getUTCFullYear() && created.getUTCMonth() === now.getUTCMonth())
          tokensMonth += tokens;
      }
      one("pulumi_org_neo_tokens_used_current_month", tokensMonth);
      one("pulumi_org_neo_tokens_used_total", tokensTotal);
      const budget = this.#model.neoBudget(org);
      if (budget) {
        one("pulumi_org_neo_token_budget_consumed", budget.consumedTokens);
        one("pulumi_org_neo_token_budget_allowance", budget.effectiveAllowanceTokens);
        one("pulumi_org_neo_token_budget_exhausted", budget.exhausted ? 1 : 0);
      }
    }
    return out;
  }

  /** Every series the truth covers: current gauges and cumulative counters. */
  expected(): Series {
    return { ...this.stackGauges(), ...this.orgGauges(), ...this.counters() };
  }
}

/** The series of `family` whose value changed from `before` to `after`, as differences. */
export function changes(before: Series, after: Series, family: string): Series {
  const out: Series = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (familyOf(key) !== family) continue;
    const difference = (after[key] ?? 0) - (before[key] ?? 0);
    if (difference !== 0) out[key] = difference;
  }
  return out;
}

/**
 * `current` with the series matching `labels` (optionally only of `families`) as they were in `earlier`: what the
 * exporter shows for the part a failed step could not refresh (it keeps the previous values).
 */
export function stale(
  current: Series,
  earlier: Series,
  labels: Readonly<Record<string, string>>,
  families?: readonly string[],
): Series {
  const scope = (series: Series) => {
    const matching = withLabels(series, labels);
    return families ? pick(matching, families) : matching;
  };
  const replaced = scope(current);
  return {
    ...Object.fromEntries(Object.entries(current).filter(([key]) => !(key in replaced))),
    ...scope(earlier),
  };
}

/** `series` without the series of `families` whose labels include `labels`. */
export function drop(
  series: Series,
  labels: Readonly<Record<string, string>>,
  families: readonly string[],
): Series {
  const gone = pick(withLabels(series, labels), families);
  return Object.fromEntries(Object.entries(series).filter(([key]) => !(key in gone)));
}

/** `series` with `amount` added to one series (which must exist). */
export function adjust(series: Series, key: string, amount: number): Series {
  if (!(key in series)) throw new Error(`no series ${key}`);
  return { ...series, [key]: (series[key] ?? 0) + amount };
}
