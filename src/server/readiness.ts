/**
 * The answer of `/readyz`: ready or not, and why not, in one line of text or as JSON with each organization's
 * detail. Everything here comes from the collector's view of the API; error messages are the client's, which
 * never carry the token.
 */

export interface FailingStep {
  readonly operation: string;
  readonly error: string;
  /** Epoch ms of the first failure of the streak. */
  readonly since: number;
  readonly failures: number;
}

export interface OrgHealth {
  readonly org: string;
  /** Its stacks were listed in the last cycle. */
  readonly listed: boolean;
  /** Epoch ms at which a cycle that listed them last ended. */
  readonly lastListedAt: number | undefined;
  readonly failing: readonly FailingStep[];
}

export interface ReadinessInput {
  readonly ready: boolean;
  readonly restoring?: boolean;
  /** Collection cycles finished so far. */
  readonly cycles?: number;
  readonly organizations?: readonly OrgHealth[];
}

export interface Readiness {
  readonly ready: boolean;
  /** `ok`, or `not ready: …`. */
  readonly text: string;
  readonly document: Record<string, unknown>;
}

const LISTING = "ListUserStacks";

/** Why an org's stacks were not listed: the listing's error, or the cycle's deadline when it did not fail. */
function notListedReason(org: OrgHealth): string {
  const listing = org.failing.find((step) => step.operation === LISTING);
  if (!listing) return "not listed before the cycle deadline";
  return listing.error.startsWith(`${LISTING}:`) ? listing.error : `${LISTING}: ${listing.error}`;
}

function reasonText(input: ReadinessInput): string {
  if (input.ready) return "ok";
  if (input.restoring) return "not ready: restoring state";
  if ((input.cycles ?? 0) === 0) return "not ready: no collection cycle has finished yet";
  const unlisted = (input.organizations ?? []).filter((org) => !org.listed);
  if (unlisted.length === 0) return "not ready: no collection cycle has listed every organization yet";
  const orgs = unlisted.map((org) => `${org.org} (${notListedReason(org)})`).join(", ");
  return `not ready: organizations not listed: ${orgs}`;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function readiness(input: ReadinessInput): Readiness {
  const text = reasonText(input);
  return {
    ready: input.ready,
    text,
    document: {
      ready: input.ready,
      reason: text,
      cycles: input.cycles ?? 0,
      organizations: (input.organizations ?? []).map((org) => ({
        org: org.org,
        listed: org.listed,
        last_listed_at: iso(org.lastListedAt),
        failing: org.failing.map((step) => ({
          operation: step.operation,
          error: step.error,
          since: iso(step.since),
          failures: step.failures,
        })),
      })),
    },
  };
}
