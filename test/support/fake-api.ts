/**
 * An in-memory Pulumi Cloud for collector tests: mutable data, per-operation call counts that model the real
 * API's pages, and injectable failures.
 */
import type {
  AccessTokenItem,
  ApiScope,
  DeploymentRun,
  DeploymentRunsPage,
  DeploymentsMetadata,
  Environment,
  Member,
  NeoTaskItem,
  Operation,
  OrgMetadata,
  PolicyGroupItem,
  PolicyPackItem,
  PulumiApi,
  StackDrift,
  StackRef,
  TeamItem,
  TokenInfo,
  UpdatesPage,
  Violation,
} from "../../src/pulumi/api.ts";
import type { SourceEndpoint } from "../../src/pulumi/endpoints.ts";
import { PULUMI_OPERATIONS } from "../../src/pulumi/operations.gen.ts";
import { describeStatus, PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import type {
  DeploymentCounts,
  DeploymentSummary,
  NeoTokenBudget,
  PolicyResultsMetadata,
  StackSummary,
  StackUpdate,
} from "../../src/pulumi/types.ts";

export interface FakeStack {
  id: string;
  org: string;
  project: string;
  stack: string;
  resourceCount?: number;
  /** Newest last. */
  updates: StackUpdate[];
  /** Its latest drift detection (StackDeploymentsMetadata); absent when it has had none. */
  drift?: StackDrift;
}

export interface FakeOrg {
  deploymentCounts: DeploymentCounts;
  deployments: DeploymentSummary[];
  /** What the incremental deployments read sees, oldest first (the API serves them newest first). */
  deploymentRuns: DeploymentRun[];
  concurrency: number;
  paused: boolean;
  members: number;
  teams: number;
  environments: number;
  policyGroups: number;
  policyPacks: number;
  violations: Violation[];
  policyResults: PolicyResultsMetadata;
  neoTasks: NeoTaskItem[];
  budget: NeoTokenBudget | null;
  metadata: OrgMetadata;
  tokens: AccessTokenItem[];
  /** Team name → its tokens. */
  teamTokens: Record<string, AccessTokenItem[]>;
}

export const STACKS_PAGE_SIZE = 100;
export const DEPLOYMENTS_PAGE_SIZE = 100;

export function fakeOrg(overrides: Partial<FakeOrg> = {}): FakeOrg {
  return {
    deploymentCounts: {
      notStarted: 0,
      accepted: 0,
      running: 0,
      failed: 0,
      succeeded: 0,
      skipped: 0,
      total: 0,
    },
    deployments: [],
    deploymentRuns: [],
    concurrency: 1,
    paused: false,
    members: 0,
    teams: 0,
    environments: 0,
    policyGroups: 0,
    policyPacks: 0,
    violations: [],
    policyResults: {
      policyTotalCount: 0,
      policyWithIssuesCount: 0,
      resourcesTotalCount: 0,
      resourcesWithIssuesCount: 0,
    },
    neoTasks: [],
    budget: null,
    metadata: { stackCount: 0 },
    tokens: [],
    teamTokens: {},
    ...overrides,
  };
}

export function update(
  version: number,
  result: string,
  startTime: number,
  endTime?: number,
  kind = "update",
  resourceChanges?: Record<string, number>,
): StackUpdate {
  return {
    version,
    kind,
    result,
    startTime,
    ...(endTime === undefined ? {} : { endTime }),
    ...(resourceChanges ? { resourceChanges } : {}),
  };
}

export class FakeApi implements PulumiApi {
  readonly stacks: FakeStack[] = [];
  readonly orgs = new Map<string, FakeOrg>();
  readonly calls = new Map<Operation, number>();
  /** Operations (optionally for one org) that fail until removed. */
  readonly failing = new Set<string>();
  /** Operations (optionally `operation:org`) answered with this HTTP status, as the client's PulumiApiError. */
  readonly statuses = new Map<string, number>();
  personalTokens: AccessTokenItem[] = [];
  tokenInfo: TokenInfo | undefined;
  /** Set by a test to see the cycle's deadline signal (the real client cancels its calls with it). */
  withSignal?: (signal: AbortSignal) => PulumiApi;
  /** Set by a test to hold every history read until it resolves. */
  historiesHeld: Promise<void> | undefined;
  /**
   * Updates (`org/project/stack@version`) and deployment runs (`org#id`) served as malformed items: left out of
   * the page and reported.
   */
  readonly malformed = new Set<string>();

  /** What each source endpoint (`api.read`) answers: set by the tests of its source with {@link FakeApi.serve}. */
  readonly #served = new Map<object, (...args: readonly unknown[]) => unknown>();

  /**
   * Answers `api.read(endpoint, ...)` with `handler`; the call is counted and fails as any other. A list endpoint
   * not served answers an empty list.
   */
  serve<A extends unknown[], R>(
    endpoint: SourceEndpoint<A, R>,
    handler: (...args: A) => R | Promise<R>,
  ): void {
    this.#served.set(endpoint, handler as unknown as (...args: readonly unknown[]) => unknown);
  }

  async read<A extends unknown[], R>(endpoint: SourceEndpoint<A, R>, ...args: A): Promise<R> {
    const first: unknown = args[0];
    const org = typeof first === "string" ? first : ((first as Partial<StackRef> | undefined)?.org ?? "");
    this.#call(endpoint.operation, org);
    const handler = this.#served.get(endpoint);
    if (handler) return (await handler(...args)) as R;
    // An organization without any: what a list the test did not serve answers.
    if ("items" in PULUMI_OPERATIONS[endpoint.operation]) return [] as R;
    throw new Error(`${endpoint.operation}: no answer served (FakeApi.serve)`);
  }

  get totalCalls(): number {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  resetCalls(): void {
    this.calls.clear();
  }

  addStack(stack: FakeStack): FakeStack {
    this.stacks.push(stack);
    return stack;
  }

  removeStack(org: string, project: string, stack: string): void {
    const index = this.stacks.findIndex((s) => s.org === org && s.project === project && s.stack === stack);
    if (index >= 0) this.stacks.splice(index, 1);
  }

  /** The cycle's request listener: one request per page, as the real client reports each HTTP attempt. */
  #onRequest: ApiScope["onRequest"] | undefined;

  scoped(scope: ApiScope): PulumiApi {
    this.#onRequest = scope.onRequest;
    return (scope.signal && this.withSignal?.(scope.signal)) ?? this;
  }

  #call(operation: Operation, org: string, pages = 1): void {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + pages);
    const failing = this.failing.has(operation) || this.failing.has(`${operation}:${org}`);
    for (let page = 0; page < pages; page++) this.#onRequest?.(operation, failing ? 503 : 200, 0);
    if (failing) throw new Error(`${operation}: HTTP 503 Service Unavailable`);
    const status = this.statuses.get(`${operation}:${org}`) ?? this.statuses.get(operation);
    if (status !== undefined)
      throw new PulumiApiError({ operation, status, attempts: 1, reason: describeStatus(status) });
  }

  #org(org: string): FakeOrg {
    const found = this.orgs.get(org);
    if (!found) throw new Error(`unknown org ${org}`);
    return found;
  }

  #stack(ref: StackRef): FakeStack {
    const found = this.stacks.find(
      (s) => s.org === ref.org && s.project === ref.project && s.stack === ref.stack,
    );
    if (!found) throw new Error(`GetStackUpdates: HTTP 404 Not Found`);
    return found;
  }

  async listStacks(org: string, onPage?: (stacks: readonly StackSummary[]) => void): Promise<StackSummary[]> {
    const stacks = this.stacks.filter((s) => s.org === org);
    this.#call("ListUserStacks", org, Math.max(1, Math.ceil(stacks.length / STACKS_PAGE_SIZE)));
    const summaries = stacks.map((s): StackSummary => {
      const newest = s.updates.at(-1);
      return {
        id: s.id,
        orgName: s.org,
        projectName: s.project,
        stackName: s.stack,
        ...(newest ? { lastUpdate: newest.startTime } : {}),
        ...(s.resourceCount === undefined ? {} : { resourceCount: s.resourceCount }),
      };
    });
    for (let i = 0; i < summaries.length; i += STACKS_PAGE_SIZE)
      onPage?.(summaries.slice(i, i + STACKS_PAGE_SIZE));
    return summaries;
  }

  async getStackResourceCount(ref: StackRef): Promise<number> {
    this.#call("GetStackResourceCount", ref.org);
    return this.#stack(ref).updates.length * 3;
  }

  async getStackUpdates(ref: StackRef, page: number, pageSize: number): Promise<UpdatesPage> {
    this.#call("GetStackUpdates", ref.org);
    await this.historiesHeld;
    const newestFirst = [...this.#stack(ref).updates].reverse();
    const updates: StackUpdate[] = [];
    const droppedAfter: number[] = [];
    for (const u of newestFirst.slice((page - 1) * pageSize, page * pageSize)) {
      if (this.malformed.has(`${ref.org}/${ref.project}/${ref.stack}@${u.version}`))
        droppedAfter.push(updates.length);
      else updates.push({ ...u });
    }
    return { updates, total: newestFirst.length, droppedAfter };
  }

  async getOrgDeploymentCounts(org: string): Promise<DeploymentCounts> {
    this.#call("OrgDeploymentsMetadata", org);
    return { ...this.#org(org).deploymentCounts };
  }

  async getOrgDeploymentsMetadata(org: string): Promise<DeploymentsMetadata> {
    this.#call("OrgDeploymentsMetadata", org);
    const { deploymentCounts, concurrency, paused } = this.#org(org);
    return { deploymentCounts: { ...deploymentCounts }, concurrency, paused };
  }

  async listOrgDeploymentsPage(org: string, page: number, pageSize: number): Promise<DeploymentRunsPage> {
    this.#call("ListOrgDeployments", org);
    const runs = this.#org(org).deploymentRuns;
    const served = [...runs].reverse().slice((page - 1) * pageSize, page * pageSize);
    // A malformed item is sent (and received) but dropped by validation, as the client does.
    const deployments = served.filter((d) => !this.malformed.has(`${org}#${d.id}`)).map((d) => ({ ...d }));
    return { deployments, received: served.length, total: runs.length };
  }

  async listOrgDeployments(org: string): Promise<DeploymentSummary[]> {
    const deployments = this.#org(org).deployments;
    this.#call("ListOrgDeployments", org, Math.max(1, Math.ceil(deployments.length / DEPLOYMENTS_PAGE_SIZE)));
    return [...deployments];
  }

  async listMembers(org: string): Promise<Member[]> {
    this.#call("ListOrganizationMembers", org);
    return Array.from({ length: this.#org(org).members }, () => ({ role: "member" as const }));
  }

  async listTeams(org: string): Promise<TeamItem[]> {
    this.#call("ListTeams", org);
    return Array.from({ length: this.#org(org).teams }, (_, i) => ({ name: `team-${i}` }));
  }

  async listEnvironments(org: string): Promise<Environment[]> {
    this.#call("ListOrgEnvironments_esc", org);
    return Array.from({ length: this.#org(org).environments }, (_, i) => ({ name: `env-${i}` }));
  }

  async listPolicyGroups(org: string): Promise<PolicyGroupItem[]> {
    this.#call("ListPolicyGroups", org);
    return Array.from({ length: this.#org(org).policyGroups }, (_, i) => ({ name: `group-${i}` }));
  }

  async listPolicyPacks(org: string): Promise<PolicyPackItem[]> {
    this.#call("ListPolicyPacks_orgs", org);
    return Array.from({ length: this.#org(org).policyPacks }, (_, i) => ({ name: `pack-${i}` }));
  }

  async listPolicyViolations(org: string): Promise<Violation[]> {
    this.#call("ListPolicyViolationsV2", org);
    return [...this.#org(org).violations];
  }

  async getPolicyResultsMetadata(org: string): Promise<PolicyResultsMetadata> {
    this.#call("GetPolicyResultsMetadata", org);
    return { ...this.#org(org).policyResults };
  }

  async listNeoTasks(org: string): Promise<NeoTaskItem[]> {
    this.#call("ListTasks", org);
    return [...this.#org(org).neoTasks];
  }

  async getNeoTokenBudget(org: string): Promise<NeoTokenBudget | null> {
    this.#call("GetOrgNeoTokenBudget", org);
    return this.#org(org).budget;
  }

  async getOrgMetadata(org: string): Promise<OrgMetadata> {
    this.#call("GetOrganizationMetadata", org);
    return { ...this.#org(org).metadata };
  }

  async listOrgTokens(org: string): Promise<AccessTokenItem[]> {
    this.#call("ListOrgTokens", org);
    return [...this.#org(org).tokens];
  }

  async listPersonalTokens(): Promise<AccessTokenItem[]> {
    this.#call("ListPersonalTokens", "");
    return [...this.personalTokens];
  }

  async listTeamTokens(org: string, team: string): Promise<AccessTokenItem[]> {
    this.#call("ListTeamTokens", org);
    return [...(this.#org(org).teamTokens[team] ?? [])];
  }

  async getStackDrift(ref: StackRef): Promise<StackDrift | undefined> {
    this.#call("StackDeploymentsMetadata", ref.org);
    const { drift } = this.#stack(ref);
    return drift && { ...drift };
  }

  async getTokenInfo(): Promise<TokenInfo | undefined> {
    this.#call("GetCurrentUser", "");
    return this.tokenInfo && { ...this.tokenInfo };
  }
}
