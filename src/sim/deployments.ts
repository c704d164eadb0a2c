/** Pulumi Deployments runs of one organization, moving through their statuses as the clock ticks. */
import type { components } from "../pulumi/schema.gen.ts";
import { DEPLOYMENT_STATUSES, type DeploymentCounts, type DeploymentStatus } from "../pulumi/types.ts";
import { hashSeed, Rng } from "./random.ts";
import { formatDbTime, formatIsoTime } from "./time.ts";

type Schemas = components["schemas"];
export type DeploymentSnapshot = Schemas["ListDeploymentSnapshot"];
export type UserInfo = Schemas["UserInfo"];
type PulumiOperation = DeploymentSnapshot["pulumiOperation"];
type StepStatus = Schemas["StepRun"]["status"];

const OPERATIONS: Record<PulumiOperation, number> = {
  update: 50,
  preview: 25,
  refresh: 10,
  destroy: 5,
  "detect-drift": 7,
  "remediate-drift": 3,
};
const INITIATORS = ["console", "api", "github", "schedule", "cli"] as const;
const STEP_NAMES = ["Get source", "Install dependencies", "Pulumi operation"] as const;
const TERMINAL: ReadonlySet<DeploymentStatus> = new Set(["failed", "succeeded", "skipped"]);
/** Self-hosted agent pools some deployments run on; the rest run on Pulumi's hosted runners (no `agentPool`). */
export const AGENT_POOLS: readonly Schemas["ListDeploymentSnapshotAgentPool"][] = [
  { id: "00000000-0000-4000-8000-0000000000a1", name: "linux-runners" },
  { id: "00000000-0000-4000-8000-0000000000a2", name: "gpu-runners" },
];
const STARTED: ReadonlySet<DeploymentStatus> = new Set(["running", "failed", "succeeded"]);

/**
 * Randomness of one deployment drawn from its id rather than the model's stream, so adding a value here does not
 * shift every value the model makes up after it (tests and benchmarks rely on a seed's data).
 */
function ownRng(id: string): Rng {
  return new Rng(hashSeed(Number.parseInt(id.slice(0, 8), 16) || 0, 3));
}

export interface DeploymentRecord {
  id: string;
  project: string;
  stack: string;
  version: number;
  status: DeploymentStatus;
  createdMs: number;
  modifiedMs: number;
  operation: PulumiOperation;
  initiator: string;
  requestedBy: UserInfo;
  /** The stack update a finished run produced. */
  updateId: string | undefined;
  agentPool: Schemas["ListDeploymentSnapshotAgentPool"] | undefined;
  /** When its job started (it went `running`); undefined before, and for a skipped run. */
  startedMs: number | undefined;
}

export interface DeploymentTarget {
  project: string;
  stack: string;
}

export function emptyCounts(): DeploymentCounts {
  return { notStarted: 0, accepted: 0, running: 0, failed: 0, succeeded: 0, skipped: 0, total: 0 };
}

export function countKey(status: DeploymentStatus): Exclude<keyof DeploymentCounts, "total"> {
  return status === "not-started" ? "notStarted" : status;
}

export function countByStatus(deployments: Iterable<DeploymentRecord>): DeploymentCounts {
  const counts = emptyCounts();
  for (const d of deployments) {
    counts[countKey(d.status)]++;
    counts.total++;
  }
  return counts;
}

/** Statuses for `n` runs ordered newest first: recent ones still queued or running, every status present. */
export function initialStatuses(rng: Rng, n: number): DeploymentStatus[] {
  const active = Math.max(1, Math.round(n * 0.02));
  const statuses: DeploymentStatus[] = [];
  for (const status of ["not-started", "accepted", "running"] as const) {
    for (let i = 0; i < active; i++) statuses.push(status);
  }
  statuses.push("failed", "skipped", "succeeded");
  while (statuses.length < n) statuses.push(rng.weighted({ succeeded: 80, failed: 15, skipped: 5 }));
  return statuses.slice(0, n);
}

export class OrgDeployments {
  /** Oldest first; new runs are appended. */
  readonly records: DeploymentRecord[] = [];
  readonly concurrency: number;
  /** While true, queued deployments are not picked up (the metadata's `paused`). */
  paused = false;
  readonly #versions = new Map<string, number>();

  constructor(concurrency: number) {
    this.concurrency = concurrency;
  }

  #nextVersion(target: DeploymentTarget): number {
    const key = `${target.project}/${target.stack}`;
    const version = (this.#versions.get(key) ?? 0) + 1;
    this.#versions.set(key, version);
    return version;
  }

  add(rng: Rng, target: DeploymentTarget, status: DeploymentStatus, createdMs: number, user: UserInfo): void {
    const modifiedMs = status === "not-started" ? createdMs : createdMs + rng.int(1_000, 600_000);
    const id = rng.uuid();
    const own = ownRng(id);
    const agentPool = own.chance(1 / 3) ? own.pick(AGENT_POOLS) : undefined;
    // A run that started waited in the queue first: up to two minutes, never past its last change.
    const queueMs = Math.min(own.int(500, 120_000), Math.floor((modifiedMs - createdMs) / 2));
    this.records.push({
      id,
      project: target.project,
      stack: target.stack,
      version: this.#nextVersion(target),
      status,
      createdMs,
      modifiedMs,
      operation: rng.weighted(OPERATIONS),
      initiator: rng.pick(INITIATORS),
      requestedBy: user,
      updateId: status === "failed" || status === "succeeded" ? rng.uuid() : undefined,
      agentPool,
      startedMs: STARTED.has(status) ? createdMs + queueMs : undefined,
    });
  }

  counts(): DeploymentCounts {
    return countByStatus(this.records);
  }

  /**
   * Moves queued and running deployments along; `nowMs` is the end of the tick. `moved` hears of each change, and
   * of each remediation queued.
   */
  advance(rng: Rng, nowMs: number, moved?: (deployment: DeploymentRecord) => void): void {
    const found: DeploymentRecord[] = [];
    for (const d of this.records) {
      if (TERMINAL.has(d.status)) continue;
      const before = d.status;
      if (d.status === "not-started") {
        // Drawn while paused too, so pausing changes nothing else the seed makes.
        if (rng.chance(0.7) && !this.paused) d.status = "accepted";
      } else if (d.status === "accepted" && rng.chance(0.7)) d.status = "running";
      else if (d.status === "running" && rng.chance(0.5)) {
        d.status = rng.chance(0.8) ? "succeeded" : "failed";
        d.updateId = rng.uuid();
      }
      if (d.status !== before) d.modifiedMs = Math.max(d.modifiedMs + 1, nowMs - rng.int(0, 30_000));
      if (d.status === "running" && before !== "running") d.startedMs = d.modifiedMs;
      if (d.status !== before) moved?.(d);
      if (d.status === "succeeded" && before !== "succeeded" && driftFound(d)) found.push(d);
    }
    for (const detection of found) {
      const remediation = this.#remediate(detection, nowMs);
      moved?.(remediation);
    }
  }

  /**
   * A detection that found drift is followed by a remediation of the stack (auto-remediation), queued at once. Its
   * randomness is the detection's own, so the model's stream is not shifted by it.
   */
  #remediate(detection: DeploymentRecord, nowMs: number): DeploymentRecord {
    const own = ownRng(detection.id);
    own.float(); // The draw that decided the detection found drift.
    const target = { project: detection.project, stack: detection.stack };
    const remediation: DeploymentRecord = {
      id: own.uuid(),
      project: detection.project,
      stack: detection.stack,
      version: this.#nextVersion(target),
      status: "not-started",
      createdMs: nowMs,
      modifiedMs: nowMs,
      operation: "remediate-drift",
      initiator: "schedule",
      requestedBy: detection.requestedBy,
      updateId: undefined,
      agentPool: detection.agentPool,
      startedMs: undefined,
    };
    this.records.push(remediation);
    return remediation;
  }
}

function stepStatuses(status: DeploymentStatus): StepStatus[] {
  switch (status) {
    case "running":
      return ["succeeded", "succeeded", "running"];
    case "succeeded":
      return ["succeeded", "succeeded", "succeeded"];
    case "failed":
      return ["succeeded", "succeeded", "failed"];
    default:
      return ["not-started", "not-started", "not-started"];
  }
}

/** Its one job: `started` once it went running, `lastUpdated` its last change since (RFC 3339, as the spec says). */
function jobOf(d: DeploymentRecord): DeploymentSnapshot["jobs"][number] {
  return {
    status: d.status,
    ...(d.startedMs === undefined
      ? {}
      : {
          started: formatIsoTime(d.startedMs),
          lastUpdated: formatIsoTime(Math.max(d.startedMs, d.modifiedMs)),
        }),
    steps: STEP_NAMES.map((name, i) => ({ name, status: stepStatuses(d.status)[i] ?? "not-started" })),
  };
}

export function toDeploymentSnapshot(d: DeploymentRecord, paused = false): DeploymentSnapshot {
  const snapshot: DeploymentSnapshot = {
    id: d.id,
    created: formatDbTime(d.createdMs),
    modified: formatDbTime(d.modifiedMs),
    status: d.status,
    version: d.version,
    requestedBy: d.requestedBy,
    projectName: d.project,
    stackName: d.stack,
    pulumiOperation: d.operation,
    initiator: d.initiator,
    paused,
    ...(d.agentPool === undefined ? {} : { agentPool: { ...d.agentPool } }),
    jobs: [jobOf(d)],
    updates: [],
  };
  if (d.updateId && (d.status === "failed" || d.status === "succeeded")) {
    const kind =
      d.operation === "detect-drift" ? "preview" : d.operation === "remediate-drift" ? "update" : d.operation;
    snapshot.updates.push({
      id: d.updateId,
      updateID: d.updateId,
      kind,
      result: d.status,
      message: "",
      environment: {},
      startTime: Math.floor(d.createdMs / 1000),
      endTime: Math.floor(d.modifiedMs / 1000),
      version: d.version,
    });
  }
  return snapshot;
}

/** The share of drift detections that find drift (drawn from the run's id, so a seed's data stays the same). */
const DRIFT_FOUND_CHANCE = 0.5;
const DRIFT_OPERATIONS: ReadonlySet<PulumiOperation> = new Set(["detect-drift", "remediate-drift"]);

/**
 * A stack's drift status as StackDeploymentsMetadata serves it, from its drift deployments: the latest one that
 * succeeded decides (a detection finds drift or not, a remediation clears it); a queued or running one is a run in
 * progress. Absent (undefined) while the stack has had no successful drift run.
 */
export function driftStatus(
  records: readonly DeploymentRecord[],
  target: DeploymentTarget,
): Schemas["StackDriftStatus"] | undefined {
  let latest: DeploymentRecord | undefined;
  let runInProgress = false;
  for (const d of records) {
    if (d.project !== target.project || d.stack !== target.stack || !DRIFT_OPERATIONS.has(d.operation))
      continue;
    if (!TERMINAL.has(d.status)) runInProgress = true;
    else if (d.status === "succeeded" && (latest === undefined || d.modifiedMs >= latest.modifiedMs))
      latest = d;
  }
  if (latest === undefined) return undefined;
  return { driftDetected: driftFound(latest), latestDriftRun: latest.id, runInProgress };
}

/** Whether a successful drift run left the stack drifted: a detection finds drift half the time, a remediation never. */
export function driftFound(d: DeploymentRecord): boolean {
  return d.operation === "detect-drift" && ownRng(d.id).chance(DRIFT_FOUND_CHANCE);
}

export { DEPLOYMENT_STATUSES };
