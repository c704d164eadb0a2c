/**
 * The start-up check: before the first cycle, ask Pulumi Cloud who the token belongs to and which organizations
 * it sees, so a rejected token or a mistyped organization is one clear line instead of an error every cycle.
 * Shared by `run` (before collecting) and `check` (once, then exit).
 */
import { closest } from "../config/argv.ts";
import { formatDuration } from "../config/duration.ts";
import type { Logger } from "../log/logger.ts";
import type { CurrentUser, UserApi } from "../pulumi/api.ts";
import { describeStatus, PulumiApiError } from "../pulumi/pulumi-api-error.ts";

/** What a start-up failure is about: `check` prints it in front of the line. */
export type StartupSubject = "token" | "api" | "organizations";

/** Why the exporter cannot start: printed as the one `error:` line, exit 1. */
export class StartupError extends Error {
  override readonly name = "StartupError";
  readonly subject: StartupSubject;

  constructor(subject: StartupSubject, message: string) {
    super(message);
    this.subject = subject;
  }
}

/** How long, and how, a start that cannot reach the API is retried before giving up. */
export interface StartupRetry {
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const STARTUP_RETRY: StartupRetry = { budgetMs: 30_000, baseDelayMs: 1_000, maxDelayMs: 8_000 };

/** The check's clock (tests drive it): `sleep` is expected to move `now` on. */
export interface StartupClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemStartupClock: StartupClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface StartupCheckInput {
  api: UserApi;
  organizations: readonly string[];
  /** Where the token came from (`env PULUMI_ACCESS_TOKEN`); named when it is rejected. */
  tokenSource: string | undefined;
  /** The Pulumi API's URL, whose host is named when it cannot be reached. */
  apiUrl: string;
  clock?: StartupClock;
  retry?: StartupRetry;
}

export interface MissingOrg {
  org: string;
  suggestion: string | undefined;
}

export type StartupReport =
  | { kind: "verified"; user: string; visible: string[]; usable: string[]; missing: MissingOrg[] }
  /** The API answered, but not usably (a 5xx after retries, a malformed body): collection goes on unchecked. */
  | { kind: "unverified"; reason: string };

/** Splits the configured organizations into those the token sees and those it does not, with a did-you-mean. */
export function judgeOrganizations(
  configured: readonly string[],
  visible: readonly string[],
): { usable: string[]; missing: MissingOrg[] } {
  const seen = new Set(visible);
  const usable = configured.filter((org) => seen.has(org));
  const missing = configured
    .filter((org) => !seen.has(org))
    .map((org) => ({ org, suggestion: closest(org, visible) }));
  return { usable, missing };
}

/** `organization acme-typo: not visible to the token; did you mean acme?` */
export function describeMissing(missing: MissingOrg): string {
  const hint = missing.suggestion === undefined ? "" : `; did you mean ${missing.suggestion}?`;
  return `organization ${missing.org}: not visible to the token${hint}`;
}

export function describeVisible(visible: readonly string[]): string {
  return visible.length === 0 ? "none" : visible.join(", ");
}

function hostOf(apiUrl: string): string {
  try {
    return new URL(apiUrl).host;
  } catch {
    return apiUrl;
  }
}

/** No answer at all: the only failure worth waiting out at start. */
function isUnreachable(error: unknown): error is PulumiApiError {
  return error instanceof PulumiApiError && (error.status === "error" || error.status === "timeout");
}

/** The client's message without the operation in front: `network error (ECONNREFUSED)`. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^GetCurrentUser: /, "");
}

/** GetCurrentUser, retried with backoff while the API cannot be reached, for at most `retry.budgetMs`. */
export async function fetchUserWithin(
  api: UserApi,
  apiUrl: string,
  clock: StartupClock,
  retry: StartupRetry,
): Promise<CurrentUser> {
  const start = clock.now();
  let delay = retry.baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.getCurrentUser();
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      const elapsed = clock.now() - start;
      const left = retry.budgetMs - elapsed;
      if (left <= 0) {
        throw new StartupError(
          "api",
          `cannot reach the Pulumi API at ${hostOf(apiUrl)}: ${reasonOf(error)}; gave up after ${attempt} attempts in ${formatDuration(elapsed)}`,
        );
      }
      await clock.sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
  }
}

/**
 * Runs the check. Throws a StartupError when the token is rejected (401/403) or the API stays unreachable;
 * organizations the token cannot see are reported, not thrown: the caller decides.
 */
export async function checkStartup(input: StartupCheckInput): Promise<StartupReport> {
  let user: CurrentUser;
  try {
    user = await fetchUserWithin(
      input.api,
      input.apiUrl,
      input.clock ?? systemStartupClock,
      input.retry ?? STARTUP_RETRY,
    );
  } catch (error) {
    if (error instanceof PulumiApiError && (error.status === 401 || error.status === 403)) {
      const source = input.tokenSource ?? "the configuration";
      throw new StartupError(
        "token",
        `the Pulumi access token from ${source} was rejected: ${describeStatus(error.status)}; check that it is valid and not expired or revoked`,
      );
    }
    if (error instanceof StartupError) throw error;
    return { kind: "unverified", reason: reasonOf(error) };
  }
  const judged = judgeOrganizations(input.organizations, user.organizations);
  const confirmed = await confirmMissing(input.api, judged.missing);
  const usable = input.organizations.filter(
    (org) => judged.usable.includes(org) || !confirmed.some((m) => m.org === org),
  );
  return { kind: "verified", user: user.login, visible: user.organizations, usable, missing: confirmed };
}

/**
 * The organizations that stay invisible when asked directly: a token of an organization or a team lists no
 * memberships, yet sees its organization. A probe that fails otherwise proves nothing: the organization stays.
 */
async function confirmMissing(api: UserApi, missing: readonly MissingOrg[]): Promise<MissingOrg[]> {
  const verdicts = await Promise.all(
    missing.map(async (m) => {
      try {
        return (await api.organizationVisible(m.org)) ? undefined : m;
      } catch {
        return undefined;
      }
    }),
  );
  return verdicts.filter((m): m is MissingOrg => m !== undefined);
}

/** The line when no configured organization is usable. */
export function noUsableOrganization(configured: readonly string[], visible: readonly string[]): string {
  return `none of the configured organizations (${configured.join(", ")}) is visible to the token; it can see: ${describeVisible(visible)}`;
}

/**
 * What `run` does with the report: one line per problem, then collection goes on with the usable organizations.
 * An invisible organization stays configured, so each cycle still reports the exporter down (`up` 0) for it.
 */
export function applyToRun(report: StartupReport, configured: readonly string[], logger: Logger): void {
  if (report.kind === "unverified") {
    logger.warn(`could not verify the token at start (GetCurrentUser: ${report.reason}); collecting anyway`);
    return;
  }
  if (report.usable.length === 0)
    throw new StartupError("organizations", noUsableOrganization(configured, report.visible));
  for (const missing of report.missing) {
    const head = describeMissing(missing);
    logger.error(
      `${head}${head.endsWith("?") ? "" : "."} It can see: ${describeVisible(report.visible)}. Collecting the others; ${missing.org} is reported as down`,
    );
  }
  logger.debug("token verified", { user: report.user, organizations: report.usable.join(",") });
}
