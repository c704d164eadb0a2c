/** Pulumi Deployments runs of one organization, moving through their statuses as the clock ticks. */
import type { components } from "../pulumi/schema.gen.ts";
import { DEPLOYMENT_STATUSES, type DeploymentCounts, type DeploymentStatus } from "../pulumi/types.ts";
import type { Rng } from "./random.ts";
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
    this.records.push({
      id: rng.uuid(),
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
    });
  }

  counts(): DeploymentCounts {
    return countByStatus(this.records);
  }

  /** Moves queued and running deployments along; `nowMs` is the end of the tick. */
  advance(rng: Rng, nowMs: number): void {
    for (const d of this.records) {
      if (TERMINAL.has(d.status)) continue;
      const before = d.status;
      if (d.status === "not-started" && rng.chance(0.7)) d.status = "accepted";
      else if (d.status === "accepted" && rng.chance(0.7)) d.status = "running";
      else if (d.status === "running" && rng.chance(0.5)) {
        d.status = rng.chance(0.8) ? "succeeded" : "failed";
        d.updateId = rng.uuid();
      }
      if (d.status !== before) d.modifiedMs = Math.max(d.modifiedMs + 1, nowMs - rng.int(0, 30_000));
    }
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

export function toDeploymentSnapshot(d: DeploymentRecord): DeploymentSnapshot {
  const started = d.status === "running" || d.status === "failed" || d.status === "succeeded";
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
    paused: false,
    jobs: [
      {
        status: d.status,
        ...(started ? { started: formatIsoTime(d.createdMs), lastUpdated: formatIsoTime(d.modifiedMs) } : {}),
        steps: STEP_NAMES.map((name, i) => ({ name, status: stepStatuses(d.status)[i] ?? "not-started" })),
      },
    ],
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

export { DEPLOYMENT_STATUSES };
