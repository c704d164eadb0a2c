/** Collector states for state-file tests: every field set, and many stacks. */

import { type CollectorState, type OrgValues, type StackTrack, stackKey } from "../../src/collect/state.ts";
import { createLogger, type Logger } from "../../src/log/logger.ts";

export function track(n: number, overrides: Partial<StackTrack> = {}): StackTrack {
  return {
    id: `id-${n}`,
    org: "acme",
    project: "web",
    stack: `stack-${n}`,
    listLastUpdate: 1_700_000_000 + n,
    lastVersion: 7,
    pending: [
      { version: 6, kind: "update" },
      { version: 7, kind: "preview" },
    ],
    resourceCount: 12,
    lastUpdateTimestamp: 1_700_000_100 + n,
    ...overrides,
  };
}

/** Every value an organization keeps, each set. */
export const FULL_ORG: OrgValues = {
  deployments: { "not-started": 1, accepted: 2, running: 3, failed: 4, succeeded: 5, skipped: 6 },
  members: 9,
  teams: 3,
  environments: 4,
  policyGroups: 2,
  policyPacks: 5,
  violations: { "advisory|audit": 0, "mandatory|preventative": 3, "unknown|unknown": 1 },
  policyResults: { policyTotal: 10, policyWithIssues: 2, resourcesTotal: 300, resourcesWithIssues: 7 },
  neo: { tasksByStatus: { running: 1, idle: 4 }, tokensCurrentMonth: 1200, tokensTotal: 90_000 },
  neoBudget: { consumed: 1200, allowance: 50_000, exhausted: false },
};

export function stateOf(
  stacks: readonly StackTrack[],
  tombstones: readonly StackTrack[] = [],
  orgs: Readonly<Record<string, OrgValues>> = {},
): CollectorState {
  return {
    firstCycleStartedAt: 1_700_000_000,
    stacks: new Map(stacks.map((t) => [stackKey(t.org, t.project, t.stack), t])),
    tombstones: new Map(tombstones.map((t) => [t.id as string, t])),
    orgs: new Map(Object.entries(orgs)),
  };
}

/** A state with every field of every kind of entry set (and the optional ones of one stack unset). */
export function fullState(): CollectorState {
  return stateOf(
    [track(1), track(2, { id: undefined, listLastUpdate: undefined, resourceCount: undefined, pending: [] })],
    [track(3, { stack: "gone" })],
    { acme: FULL_ORG, beta: { members: 0, neoBudget: null } },
  );
}

/** A logger whose logfmt lines, at a fixed time, are kept for exact assertions. */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug",
    write: (line) => lines.push(line),
    now: () => new Date("2025-01-02T03:04:05.000Z"),
  });
  return { logger, lines };
}

export const AT = "time=2025-01-02T03:04:05.000Z";
