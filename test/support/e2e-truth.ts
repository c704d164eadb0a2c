/**
 * What the exporter must report for a simulator it polls, computed from the simulator's model alone, and the
 * exporter's output (OTLP or Prometheus) in the same shape, so end-to-end tests compare series by series.
 *
 * A series is keyed `name{label="value",...}` with labels sorted; a histogram contributes `name_count{...}`,
 * `name_sum{...}` and `name_bucket{...,le="..."}` (cumulative, as Prometheus has them).
 *
 * Update counting follows the README: what had finished when the first cycle read a stack is the baseline;
 * every update of a known stack that reaches a terminal result later is counted once. Scenarios used with this
 * truth create and delete no stacks, so that is the whole rule.
 */

import { driftStatus } from "../../src/sim/deployments.ts";
import {
  getAgentPool,
  listAgentPools,
  organizationMetadata,
  orgTokens,
  simTokenInfo,
} from "../../src/sim/estate.ts";
import type { SimModel } from "../../src/sim/model.ts";
import { attributesOf, type Received, requestsOf } from "./otlp-points.ts";
import type { PrometheusSample } from "./prometheus.ts";
import { familyOf, ORG_GAUGES, type Series, STACK_GAUGES, seriesKey, withoutEndedStates } from "./series.ts";

export { familyOf, ORG_GAUGES, type Series, STACK_GAUGES, seriesKey };

/** Only the series of `families` (histograms: their `_count`, `_sum` and `_bucket` series). */
export function pick(series: Series, families: readonly string[]): Series {
  const wanted = new Set(families.flatMap((f) => [f, `${f}_count`, `${f}_sum`, `${f}_bucket`]));
  return withoutEndedStates(
    Object.fromEntries(Object.entries(series).filter(([key]) => wanted.has(familyOf(key)))),
  );
}

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
const TERMINAL = new Set(["succeeded", "failed"]);

/** OTLP names; Prometheus adds `_total` to pulumi_update_resource_changes. */
export const UPDATE_FAMILIES = [
  "pulumi_update_total",
  "pulumi_update_resource_changes",
  "pulumi_update_duration_seconds",
] as const;

/** The stack and organization gauges of the model's current state, as read at `now`. */
export function expectedGauges(model: SimModel, organizations: readonly string[], now: Date): Series {
  const out: Series = {};
  const set = (name: string, labels: Record<string, string>, value: number) => {
    out[seriesKey(name, labels)] = value;
  };
  const add = (name: string, labels: Record<string, string>, value: number) => {
    const key = seriesKey(name, labels);
    out[key] = (out[key] ?? 0) + value;
  };
  for (const org of organizations) {
    for (const summary of model.listStacks(org)) {
      const labels = { org, project: summary.projectName, stack: summary.stackName };
      const updates = model.stackUpdates(labels) ?? [];
      set("pulumi_stack_resource_count", labels, model.stack(labels)?.resourceCount ?? 0);
      const ends = updates.filter((u) => TERMINAL.has(u.result)).map((u) => u.endTime ?? 0);
      const timestamp = ends.length > 0 ? Math.max(...ends) : summary.lastUpdate;
      if (timestamp !== undefined) set("pulumi_stack_last_update_timestamp", labels, timestamp);
      const running = updates.find((u) => !TERMINAL.has(u.result));
      if (running) set("pulumi_stack_update_in_progress", { ...labels, kind: running.kind }, 1);
      // As read when every stack is read every cycle (--pulumi.drift-refresh equal to the collect interval).
      const drift = driftStatus(model.org(org)?.deployments.records ?? [], labels);
      if (drift) set("pulumi_stack_drift_detected", labels, drift.driftDetected ? 1 : 0);
    }

    const counts = model.deploymentCounts(org);
    if (counts) {
      for (const [status, field] of Object.entries(DEPLOYMENT_STATUS_FIELDS))
        set("pulumi_deployment_status", { org, status }, counts[field]);
      set("pulumi_deployment_status", { org, status: "other" }, 0);
    }
    const settings = model.deploymentSettings(org);
    if (settings) {
      set("pulumi_org_deployment_concurrency_limit", { org }, settings.concurrency);
      set("pulumi_org_deployments_paused", { org }, settings.paused ? 1 : 0);
    }
    set("pulumi_org_member_count", { org }, model.members(org).length);
    set("pulumi_org_team_count", { org }, model.teams(org).length);
    set("pulumi_org_environment_count", { org }, model.environments(org).length);
    set("pulumi_org_policy_group_count", { org }, model.policyGroups(org).length);
    set("pulumi_org_policy_pack_count", { org }, model.policyPacks(org).length);
    for (const level of VIOLATION_LEVELS) {
      for (const kind of VIOLATION_KINDS) set("pulumi_org_policy_violations", { org, level, kind }, 0);
    }
    for (const v of model.violations(org))
      add("pulumi_org_policy_violations", { org, level: v.level, kind: v.kind }, 1);
    const meta = model.policyResultsMetadata(org);
    if (meta) {
      set("pulumi_org_policy_total", { org }, meta.policyTotalCount);
      set("pulumi_org_policy_with_issues", { org }, meta.policyWithIssuesCount);
      set("pulumi_org_governed_resources_total", { org }, meta.resourcesTotalCount);
      set("pulumi_org_governed_resources_with_issues", { org }, meta.resourcesWithIssuesCount);
    }
    for (const status of NEO_STATUSES) set("pulumi_org_neo_task_count", { org, status }, 0);
    let month = 0;
    let total = 0;
    for (const task of model.neoTasks(org)) {
      add("pulumi_org_neo_task_count", { org, status: task.status }, 1);
      const tokens = task.tokensUsed ?? 0;
      total += tokens;
      const created = new Date(task.createdAt);
      if (created.getUTCFullYear() === now.getUTCFullYear() && created.getUTCMonth() === now.getUTCMonth())
        month += tokens;
    }
    set("pulumi_org_neo_tokens_used_current_month", { org }, month);
    set("pulumi_org_neo_tokens_used_total", { org }, total);
    const budget = model.neoBudget(org);
    if (budget) {
      set("pulumi_org_neo_token_budget_consumed", { org }, budget.consumedTokens);
      set("pulumi_org_neo_token_budget_allowance", { org }, budget.effectiveAllowanceTokens);
      set("pulumi_org_neo_token_budget_exhausted", { org }, budget.exhausted ? 1 : 0);
    }
    estateGauges(model, org, now, set);
  }
  const own = simTokenInfo(model);
  if (organizations.includes(own.organization)) {
    const token = orgTokens(model, own.organization).tokens.find((t) => t.name === own.name);
    if (token) set("pulumi_exporter_access_token_expiry_timestamp_seconds", {}, token.expires);
  }
  return out;
}

const EXPIRIES = ["never", "expired", "within_7d", "within_30d", "later"] as const;

/** Agent pools, the plan and token expiries, as the simulator serves them, at `now`. */
function estateGauges(
  model: SimModel,
  org: string,
  now: Date,
  set: (name: string, labels: Record<string, string>, value: number) => void,
): void {
  for (const pool of listAgentPools(model, org).agentPools) {
    const labels = { org, pool: pool.name };
    set("pulumi_agent_pool_up", labels, pool.status === "online" ? 1 : 0);
    set("pulumi_agent_pool_last_seen_timestamp_seconds", labels, pool.lastSeen);
    const agents = getAgentPool(model, org, pool.id).agents;
    for (const status of ["online", "offline"] as const)
      set(
        "pulumi_agent_pool_agents",
        { ...labels, status },
        agents.filter((a) => a.status === status).length,
      );
  }
  const summary = model.summary().orgs.find((o) => o.name === org);
  const meta = organizationMetadata(model, org, {
    stacks: summary?.stacks ?? 0,
    members: 0,
    environments: 0,
  });
  set("pulumi_org_stacks", { org }, meta.stackCount);
  if (meta.maxStacks !== undefined) set("pulumi_org_stacks_limit", { org }, meta.maxStacks);
  if (meta.maxMembers !== undefined) set("pulumi_org_members_limit", { org }, meta.maxMembers);
  if (meta.subscriptionPeriodEnd !== undefined)
    set(
      "pulumi_org_subscription_period_end_timestamp_seconds",
      { org },
      Date.parse(meta.subscriptionPeriodEnd) / 1000,
    );
  set(
    "pulumi_org_info",
    { org, product: meta.product ?? "", subscription_status: meta.subscriptionStatus ?? "" },
    1,
  );
  const nowSeconds = now.getTime() / 1000;
  const counts = new Map<string, number>(EXPIRIES.map((e) => [e, 0]));
  for (const { expires } of orgTokens(model, org).tokens) {
    const left = expires - nowSeconds;
    const expiry =
      expires === 0
        ? "never"
        : left <= 0
          ? "expired"
          : left <= 7 * 86_400
            ? "within_7d"
            : left <= 30 * 86_400
              ? "within_30d"
              : "later";
    counts.set(expiry, (counts.get(expiry) ?? 0) + 1);
  }
  for (const [expiry, value] of counts) set("pulumi_org_access_tokens", { org, expiry }, value);
}

/** The update counters and the duration histogram the exporter must have accumulated. */
export class UpdateLedger {
  readonly #model: SimModel;
  readonly #organizations: readonly string[];
  readonly #baseline = new Set<string>();

  /** Call before the exporter's first cycle, while the model is as that cycle will see it. */
  constructor(model: SimModel, organizations: readonly string[]) {
    this.#model = model;
    this.#organizations = organizations;
    for (const { id, update } of this.#terminal()) this.#baseline.add(`${id}#${update.version}`);
  }

  *#terminal() {
    for (const org of this.#organizations) {
      for (const summary of this.#model.listStacks(org)) {
        const ref = { org, project: summary.projectName, stack: summary.stackName };
        for (const update of this.#model.stackUpdates(ref) ?? []) {
          if (TERMINAL.has(update.result)) yield { id: summary.id, ref, update };
        }
      }
    }
  }

  /** Updates counted once every terminal update of the current model has been seen by a cycle. */
  counted(): number {
    let n = 0;
    for (const { id, update } of this.#terminal()) if (!this.#baseline.has(`${id}#${update.version}`)) n++;
    return n;
  }

  /** `pulumi_update_total`, `pulumi_update_resource_changes` and the duration histogram with `bounds`. */
  series(bounds: readonly number[]): Series {
    const out: Series = {};
    const add = (name: string, labels: Record<string, string>, value: number) => {
      const key = seriesKey(name, labels);
      out[key] = (out[key] ?? 0) + value;
    };
    for (const { id, ref, update } of this.#terminal()) {
      if (this.#baseline.has(`${id}#${update.version}`)) continue;
      const labels = { ...ref, kind: update.kind, result: update.result };
      add("pulumi_update_total", labels, 1);
      const end = update.endTime ?? 0;
      if (end > 0 && update.startTime > 0 && end >= update.startTime) {
        const duration = end - update.startTime;
        add("pulumi_update_duration_seconds_count", labels, 1);
        add("pulumi_update_duration_seconds_sum", labels, duration);
        for (const le of [...bounds.map(String), "+Inf"]) {
          const inBucket = le === "+Inf" || duration <= Number(le) ? 1 : 0;
          add("pulumi_update_duration_seconds_bucket", { ...labels, le }, inBucket);
        }
      }
      for (const [operation, count] of Object.entries(update.resourceChanges ?? {})) {
        if (count > 0) add("pulumi_update_resource_changes", { ...ref, kind: update.kind, operation }, count);
      }
    }
    return out;
  }
}

/** The series of one OTLP export (gauges, sums and histograms), keyed like the truth. */
export function otlpSeries(received: Received): Series {
  const out: Series = {};
  for (const request of requestsOf(received)) {
    for (const rm of request.resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          for (const p of [...(m.gauge?.dataPoints ?? []), ...(m.sum?.dataPoints ?? [])]) {
            out[seriesKey(m.name, attributesOf(p.attributes))] =
              p.asInt !== undefined ? Number(p.asInt) : (p.asDouble ?? 0);
          }
          for (const p of m.histogram?.dataPoints ?? []) {
            const labels = attributesOf(p.attributes);
            out[seriesKey(`${m.name}_count`, labels)] = Number(p.count ?? 0);
            out[seriesKey(`${m.name}_sum`, labels)] = p.sum ?? 0;
            let cumulative = 0;
            p.explicitBounds.forEach((bound, i) => {
              cumulative += Number(p.bucketCounts[i] ?? 0);
              out[seriesKey(`${m.name}_bucket`, { ...labels, le: String(bound) })] = cumulative;
            });
            cumulative += Number(p.bucketCounts[p.explicitBounds.length] ?? 0);
            out[seriesKey(`${m.name}_bucket`, { ...labels, le: "+Inf" })] = cumulative;
          }
        }
      }
    }
  }
  return out;
}

/** Prometheus query results keyed like the truth, without the labels Prometheus adds (job, instance). */
export function prometheusSeries(samples: readonly PrometheusSample[]): Series {
  const out: Series = {};
  for (const { metric, value } of samples) {
    const { __name__: name = "", job: _job, instance: _instance, ...labels } = metric;
    out[seriesKey(name, labels)] = value;
  }
  return out;
}
