/**
 * What the collector needs from Pulumi Cloud. The HTTP client implements it; tests may implement it in memory.
 * List methods walk every page; items that fail validation are dropped (and reported through the client hooks).
 */
import type { SourceEndpoint } from "./endpoints.ts";
import { PULUMI_OPERATIONS } from "./operations.gen.ts";
import type {
  DeploymentCounts,
  DeploymentSummary,
  NeoTask,
  NeoTokenBudget,
  OrgEnvironment,
  PolicyGroup,
  PolicyPack,
  PolicyResultsMetadata,
  StackSummary,
  StackUpdate,
  Team,
} from "./types.ts";

export interface StackRef {
  org: string;
  project: string;
  stack: string;
}

/** Pick the fields the exporter reads; validation checks exactly these. Members are counted: role may be absent. */
export type Member = { role?: string };
export type TeamItem = Pick<Team, "name">;
export type Environment = Pick<OrgEnvironment, "name">;
export type PolicyGroupItem = Pick<PolicyGroup, "name">;
export type PolicyPackItem = Pick<PolicyPack, "name">;
export type Violation = { level: string; kind: string };
export type NeoTaskItem = Pick<NeoTask, "id" | "createdAt" | "tokensUsed"> & { status: string };
/** The organization's plan and counts (GetOrganizationMetadata); optional fields are absent when unset. */
export interface OrgMetadata {
  stackCount: number;
  maxStacks?: number;
  maxMembers?: number;
  /** RFC 3339. */
  subscriptionPeriodEnd?: string;
  product?: string;
  subscriptionStatus?: string;
}
/** An access token: `expires` is Unix seconds, 0 when it never expires. */
export type AccessTokenItem = { name: string; expires: number };
/** Which machine token the exporter uses (GetCurrentUser's `tokenInfo`); Pulumi sends none for personal tokens. */
export interface TokenInfo {
  name: string;
  /** "" when the token is not an organization's. */
  organization: string;
  /** "" when the token is not a team's. */
  team: string;
}

/** A stack's latest drift detection (StackDeploymentsMetadata's `drift`), for a stack that has had one. */
export interface StackDrift {
  readonly driftDetected: boolean;
  /** The id of the latest drift run. */
  readonly latestDriftRun: string;
}

/** One job of a deployment run: its times as Unix milliseconds, parsed from the API's RFC 3339 strings. */
export interface DeploymentRunJob {
  readonly startedMs?: number;
  readonly lastUpdatedMs?: number;
}

/**
 * A deployment as the incremental deployments source reads it, times parsed: `created` is the API's
 * `2026-05-20 11:57:05.650` (UTC without a zone), the jobs' times RFC 3339. An item whose times do not parse is
 * dropped by validation, so every value here is usable.
 */
export interface DeploymentRun {
  readonly id: string;
  readonly createdMs: number;
  /** Any string: a status Pulumi adds later is not a malformed item. */
  readonly status: string;
  /** `pulumiOperation`; any string, bounded to the spec's values when it becomes a label. */
  readonly operation: string;
  /** The agent pool's name; absent when Pulumi's hosted runners ran it. */
  readonly agentPool?: string;
  /** The stack it ran on; absent when the API names none. */
  readonly project?: string;
  readonly stack?: string;
  readonly jobs: readonly DeploymentRunJob[];
}

export interface DeploymentRunsPage {
  readonly deployments: DeploymentRun[];
  /** Items the server sent on this page, valid or not: a page with fewer than asked for is the last. */
  readonly received: number;
  /** Deployments across all pages, when the API reports it. */
  readonly total: number | undefined;
}

/** `OrgDeploymentsMetadata` whole: the counts by status, the concurrency limit and whether deployments are paused. */
export interface DeploymentsMetadata {
  readonly deploymentCounts: DeploymentCounts;
  /** How many deployments of the organization may run at once. */
  readonly concurrency: number;
  /** True while new deployments of the organization are paused. */
  readonly paused: boolean;
}

export interface UpdatesPage {
  updates: StackUpdate[];
  /** Total number of updates in the stack's history, when the API reports it. */
  total: number | undefined;
  /**
   * One entry per item of the page that failed validation and was dropped: how many valid updates of the page
   * came before it. The collector uses it to tell whether a dropped update could have mattered.
   */
  droppedAfter?: readonly number[];
}

/** Who the token belongs to and which organizations it can see (their URL names). */
export interface CurrentUser {
  login: string;
  organizations: string[];
}

/** The start-up check's one call: kept apart from PulumiApi, which collection fakes implement. */
export interface UserApi {
  getCurrentUser(): Promise<CurrentUser>;
  /**
   * Whether the token may list the organization's stacks (one stack asked for): false on 403 or 404. Asked for
   * organizations the user's memberships do not list, since organization and team tokens list none.
   */
  organizationVisible(org: string): Promise<boolean>;
}

export interface PulumiApi {
  /**
   * Every stack of the organization. `onPage` sees each page's stacks as it arrives, so work on the first page
   * can start before the last one is read; the next page is fetched once the promise it returns resolves.
   */
  listStacks(
    org: string,
    onPage?: (stacks: readonly StackSummary[]) => void | Promise<void>,
  ): Promise<StackSummary[]>;
  getStackResourceCount(ref: StackRef): Promise<number>;
  /** One page of a stack's update history, newest first. Pages start at 1. */
  getStackUpdates(ref: StackRef, page: number, pageSize: number): Promise<UpdatesPage>;
  getOrgDeploymentCounts(org: string): Promise<DeploymentCounts>;
  getOrgDeploymentsMetadata(org: string): Promise<DeploymentsMetadata>;
  listOrgDeployments(org: string): Promise<DeploymentSummary[]>;
  /**
   * One page of the organization's deployments, newest first by creation (`sort=created`, descending). Pages
   * start at 1; the caller decides whether to read the next one.
   */
  listOrgDeploymentsPage(org: string, page: number, pageSize: number): Promise<DeploymentRunsPage>;
  listMembers(org: string): Promise<Member[]>;
  listTeams(org: string): Promise<TeamItem[]>;
  listEnvironments(org: string): Promise<Environment[]>;
  listPolicyGroups(org: string): Promise<PolicyGroupItem[]>;
  listPolicyPacks(org: string): Promise<PolicyPackItem[]>;
  listPolicyViolations(org: string): Promise<Violation[]>;
  getPolicyResultsMetadata(org: string): Promise<PolicyResultsMetadata>;
  listNeoTasks(org: string): Promise<NeoTaskItem[]>;
  /** `null` when the organization has no Neo token budget (HTTP 404). */
  getNeoTokenBudget(org: string): Promise<NeoTokenBudget | null>;
  getOrgMetadata(org: string): Promise<OrgMetadata>;
  listOrgTokens(org: string): Promise<AccessTokenItem[]>;
  listPersonalTokens(): Promise<AccessTokenItem[]>;
  listTeamTokens(org: string, team: string): Promise<AccessTokenItem[]>;
  /** GetCurrentUser's `tokenInfo`; undefined when it has none (a personal token). */
  getTokenInfo(): Promise<TokenInfo | undefined>;
  /** The stack's latest drift detection (StackDeploymentsMetadata); undefined when it has had none. */
  getStackDrift(ref: StackRef): Promise<StackDrift | undefined>;
  /** A source's own endpoint (see {@link SourceEndpoint}), called with its arguments. */
  read<A extends unknown[], R>(endpoint: SourceEndpoint<A, R>, ...args: A): Promise<R>;
  /**
   * A view of the same API for one user of it (a collection cycle): its requests, and every wait between retries,
   * are abandoned once `scope.signal` aborts, so a cycle that reaches its deadline stops its calls instead of
   * letting them hold concurrency slots into the next; and every HTTP attempt is also reported to
   * `scope.onRequest`, so the cycle can count its own calls. Views nest: both signals and both reporters apply.
   */
  scoped?(scope: ApiScope): PulumiApi;
  /** `scoped({ signal })`, kept for existing callers. */
  withSignal?(signal: AbortSignal): PulumiApi;
}

/** See {@link PulumiApi.scoped}. */
export interface ApiScope {
  readonly signal?: AbortSignal | undefined;
  /** Once per HTTP attempt of this view, as {@link ClientHooks.onRequest}. */
  readonly onRequest?: ClientHooks["onRequest"];
}

/**
 * The operations the exporter calls (openapi/operations.json, generated with their paths): the names used in logs,
 * hooks and the `operation` label of self-metrics.
 */
export type Operation = keyof typeof PULUMI_OPERATIONS;
export const OPERATIONS = Object.keys(PULUMI_OPERATIONS) as readonly Operation[];

/** Observation hooks: the exporter turns these into self-metrics. */
export interface ClientHooks {
  /** Once per HTTP attempt. `status` is the HTTP status, or "error" / "timeout" when no response arrived. */
  onRequest?(operation: Operation, status: number | "error" | "timeout", durationSeconds: number): void;
  onRetry?(operation: Operation, attempt: number, delayMs: number): void;
  /** Items that failed validation and were skipped. */
  onDropped?(operation: Operation, count: number, reason: string): void;
}
