/**
 * Failure streaks of collection steps, across cycles: a step that fails the same way cycle after cycle is logged
 * once when the streak starts and once when it recovers, so an API down for an hour does not flood the log. The
 * streaks also tell `/readyz` and the org gauges what is failing, and since when.
 */
import type { Logger } from "../log/logger.ts";
import type { Operation } from "../pulumi/api.ts";

export interface FailureStreak {
  readonly org: string;
  readonly operation: Operation;
  readonly error: string;
  /** Failures of the step in this streak so far (a stack step fails once per stack). */
  readonly failures: number;
  /** Epoch ms of the streak's first failure. */
  readonly since: number;
}

/** What a cycle did, for deciding which streaks go on, recover or end. */
export interface CycleOutcome {
  readonly organizations: readonly string[];
  /** Orgs whose stacks were listed. */
  readonly listed: ReadonlySet<string>;
  readonly timedOut: boolean;
}

const streakKey = (org: string, operation: Operation, error: string): string =>
  JSON.stringify([org, operation, error]);
const stepKey = (org: string, operation: Operation): string => JSON.stringify([org, operation]);

export class FailureStreaks {
  readonly #logger: Logger;
  readonly #streaks = new Map<string, FailureStreak>();
  /** This cycle's failing streaks and succeeding steps; reset by `endCycle`. */
  #failedNow = new Set<string>();
  #failedSteps = new Set<string>();
  #succeededSteps = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The streaks going on, oldest first. */
  get current(): readonly FailureStreak[] {
    return [...this.#streaks.values()];
  }

  /** A step failed: the first failure of a streak is logged (with the step's own fields), later ones are counted. */
  failed(
    org: string,
    operation: Operation,
    error: string,
    at: number,
    fields: Record<string, string> = {},
  ): void {
    const key = streakKey(org, operation, error);
    this.#failedNow.add(key);
    this.#failedSteps.add(stepKey(org, operation));
    const streak = this.#streaks.get(key);
    if (streak) {
      this.#streaks.set(key, { ...streak, failures: streak.failures + 1 });
      // At debug level every failure shows, e.g. each stack of an org whose history reads fail alike.
      this.#logger.debug("collection step failed again", {
        operation,
        org,
        ...fields,
        error,
        failures: streak.failures + 1,
      });
      return;
    }
    this.#streaks.set(key, { org, operation, error, failures: 1, since: at });
    this.#logger.warn("collection step failed, keeping previous values", {
      operation,
      org,
      ...fields,
      error,
      since: new Date(at).toISOString(),
    });
  }

  succeeded(org: string, operation: Operation): void {
    this.#succeededSteps.add(stepKey(org, operation));
  }

  /**
   * After a cycle: a streak whose step succeeded (and did not fail) is logged as recovered; one superseded by
   * another error of the same step, or whose step could have run and did not fail (the failing stack is gone),
   * ends silently, as does every streak of an org no longer configured. A step not tried (the cycle ran out of
   * time, or its org was not listed) keeps its streak.
   */
  endCycle(outcome: CycleOutcome): void {
    const configured = new Set(outcome.organizations);
    for (const [key, streak] of this.#streaks) {
      if (this.#failedNow.has(key)) continue;
      const step = stepKey(streak.org, streak.operation);
      if (!configured.has(streak.org) || this.#failedSteps.has(step)) {
        this.#streaks.delete(key);
      } else if (this.#succeededSteps.has(step)) {
        this.#streaks.delete(key);
        this.#logger.info("collection step recovered", {
          operation: streak.operation,
          org: streak.org,
          failures: streak.failures,
          since: new Date(streak.since).toISOString(),
          error: streak.error,
        });
      } else if (!outcome.timedOut && !untried(streak, outcome.listed)) {
        this.#streaks.delete(key);
      }
    }
    this.#failedNow = new Set();
    this.#failedSteps = new Set();
    this.#succeededSteps = new Set();
  }
}

/** A stack's history is read only after its org's stacks were listed. */
function untried(streak: FailureStreak, listed: ReadonlySet<string>): boolean {
  return streak.operation === "GetStackUpdates" && !listed.has(streak.org);
}
