/** From the collector's snapshot to the current value of every gauge in the catalog. */
import {
  DEPLOYMENT_STATUS,
  NEO_TASK_STATUS,
  UPDATE_KIND,
  VIOLATION_KIND,
  VIOLATION_LEVEL,
} from "../collect/label-values.ts";
import { violationKey } from "../collect/orgs.ts";
import type { Snapshot } from "../collect/snapshot.ts";
import type { CollectorState, OrgValues } from "../collect/state.ts";
import type { Family } from "../families.ts";
import { CATALOG, type MetricId, SOURCE_READINGS } from "./catalog.ts";
import type { GaugePoint, GaugeReadings } from "./points.ts";
import { type GaugeRecorder, gaugeRecorder } from "./recorder.ts";

// The snapshot is collect's; re-exported for the metrics and server code that reads it.
export type { ExporterStatus, Snapshot } from "../collect/snapshot.ts";

/** The current value of every gauge of the enabled families, from the snapshot. */
export function snapshotReadings(snapshot: Snapshot, disabled?: ReadonlySet<Family>): GaugeReadings {
  const recorder = gaugeRecorder(disabled);
  recordStacks(recorder, snapshot.state);
  for (const [org, values] of snapshot.state.orgs) recordOrgValues(recorder, org, values);
  recordSources(recorder, snapshot.state);
  recordExporter(recorder, snapshot.exporter);
  return recorder.readings;
}

function recordStacks({ add }: GaugeRecorder, state: CollectorState): void {
  for (const track of state.stacks.values()) {
    const stack = { org: track.org, project: track.project, stack: track.stack };
    add("stackResourceCount", stack, track.resourceCount);
    add("stackLastUpdateTimestamp", stack, track.lastUpdateTimestamp);
    for (const kind of new Set(track.pending.map((p) => UPDATE_KIND.of(p.kind)))) {
      add("stackUpdateInProgress", { ...stack, kind }, 1);
    }
  }
}

/** The inventory sources' values (src/collect/sources/org-inventory.ts). */
function recordOrgValues({ add }: GaugeRecorder, org: string, values: OrgValues): void {
  const attrs = { org };
  if (values.deployments) {
    for (const status of DEPLOYMENT_STATUS.values)
      add("deploymentStatus", { org, status }, values.deployments[status] ?? 0);
  }
  add("orgDeploymentConcurrencyLimit", attrs, values.deploymentConcurrency);
  add(
    "orgDeploymentsPaused",
    attrs,
    values.deploymentsPaused === undefined ? undefined : values.deploymentsPaused ? 1 : 0,
  );
  add("orgMemberCount", attrs, values.members);
  add("orgTeamCount", attrs, values.teams);
  add("orgEnvironmentCount", attrs, values.environments);
  add("orgPolicyGroupCount", attrs, values.policyGroups);
  add("orgPolicyPackCount", attrs, values.policyPacks);
  // The bounded label values only, 0 included: a state file may hold keys from before they were bounded.
  const violations = values.violations;
  if (violations) {
    for (const level of VIOLATION_LEVEL.values) {
      for (const kind of VIOLATION_KIND.values)
        add("orgPolicyViolations", { org, level, kind }, violations[violationKey(level, kind)] ?? 0);
    }
  }
  add("orgPolicyTotal", attrs, values.policyResults?.policyTotal);
  add("orgPolicyWithIssues", attrs, values.policyResults?.policyWithIssues);
  add("orgGovernedResourcesTotal", attrs, values.policyResults?.resourcesTotal);
  add("orgGovernedResourcesWithIssues", attrs, values.policyResults?.resourcesWithIssues);
  const tasks = values.neo?.tasksByStatus;
  if (tasks) {
    for (const status of NEO_TASK_STATUS.values) add("orgNeoTaskCount", { org, status }, tasks[status] ?? 0);
  }
  add("orgNeoTokensUsedCurrentMonth", attrs, values.neo?.tokensCurrentMonth);
  add("orgNeoTokensUsedTotal", attrs, values.neo?.tokensTotal);
  if (values.neoBudget) {
    add("orgNeoTokenBudgetConsumed", attrs, values.neoBudget.consumed);
    add("orgNeoTokenBudgetAllowance", attrs, values.neoBudget.allowance);
    add("orgNeoTokenBudgetExhausted", attrs, values.neoBudget.exhausted ? 1 : 0);
  }
}

/** The organization sources' readings (the catalog's `SOURCE_READINGS`), from each one's state. */
function recordSources({ add }: GaugeRecorder, state: CollectorState): void {
  for (const [source, states] of state.sources ?? []) SOURCE_READINGS[source]?.(add, states);
}

function recordExporter({ add }: GaugeRecorder, exporter: Snapshot["exporter"]): void {
  add("exporterUp", {}, exporter.up === undefined ? undefined : exporter.up ? 1 : 0);
  for (const { org, up } of exporter.orgsUp ?? []) add("exporterOrgUp", { org }, up ? 1 : 0);
  add("exporterCollectDuration", {}, exporter.lastCycleSeconds);
  add("exporterLastSuccess", {}, exporter.lastSuccessSeconds);
  add("exporterBuildInfo", { version: exporter.version, revision: exporter.revision }, 1);
}

/**
 * How long a state gauge's series is reported as 0 after its state ended (its series left the snapshot), before it
 * is dropped. A push backend keeps a series that stops arriving at its last value for its staleness window
 * (Prometheus' OTLP receiver: 5 minutes), so an update that finished would otherwise show as running that long.
 */
export const ENDED_STATE_HOLD_MS = 5 * 60_000;

const ENDS_AT_ZERO: readonly MetricId[] = (Object.keys(CATALOG) as MetricId[]).filter(
  (id) => (CATALOG[id] as { endsAtZero?: true }).endsAtZero === true,
);

interface EndedSeries {
  readonly id: MetricId;
  readonly point: GaugePoint;
  /** Epoch ms from which the series is dropped. */
  readonly until: number;
}

/**
 * Remembers the state-gauge series of the previous snapshot and adds, for each that has since ended, a 0 point until
 * the hold is over. A series that comes back is live again. Bounded by the series that ended within the hold.
 */
export function endedStateHold(
  holdMs = ENDED_STATE_HOLD_MS,
): (readings: GaugeReadings, at: number) => GaugeReadings {
  let live = new Map<string, { id: MetricId; point: GaugePoint }>();
  const ended = new Map<string, EndedSeries>();
  return (readings, at) => {
    const now = new Map<string, { id: MetricId; point: GaugePoint }>();
    for (const id of ENDS_AT_ZERO) {
      for (const point of readings.get(id) ?? []) now.set(seriesIdentity(id, point), { id, point });
    }
    for (const [key, series] of live) {
      if (!now.has(key) && !ended.has(key)) {
        ended.set(key, {
          id: series.id,
          point: { attributes: series.point.attributes, value: 0 },
          until: at + holdMs,
        });
      }
    }
    for (const [key, series] of ended) if (now.has(key) || at >= series.until) ended.delete(key);
    live = now;
    if (ended.size === 0) return readings;
    const out = new Map(readings);
    for (const { id, point } of ended.values()) out.set(id, [...(out.get(id) ?? []), point]);
    return out;
  };
}

function seriesIdentity(id: MetricId, point: GaugePoint): string {
  const labels = Object.keys(point.attributes)
    .sort()
    .map((key) => [key, String(point.attributes[key])]);
  return `${id}${JSON.stringify(labels)}`;
}

/**
 * `snapshotReadings` with ended state gauges held at 0 (`endedStateHold`), computed once per snapshot: the scrapes
 * and exports between two cycles share one set of points, whose attributes objects then let `/metrics` reuse its
 * rendered labels. Snapshots must be passed in the order they were taken.
 */
export function cachedSnapshotReadings(
  holdMs = ENDED_STATE_HOLD_MS,
  disabled?: ReadonlySet<Family>,
): (snapshot: Snapshot) => GaugeReadings {
  const hold = endedStateHold(holdMs);
  let last: { snapshot: Snapshot; readings: GaugeReadings } | undefined;
  return (snapshot) => {
    if (last?.snapshot !== snapshot) {
      last = { snapshot, readings: hold(snapshotReadings(snapshot, disabled), snapshot.takenAt) };
    }
    return last.readings;
  };
}
