/**
 * The table of Pulumi Cloud endpoints: for each method of the API, its operation, path, parameters, validation and
 * paging. Most entries are one of four shapes (an object, a list in one response, token pages, numbered pages);
 * the few with rules of their own are written out. Adding an endpoint is adding a row: its path and parameters are
 * checked against the generated `paths`, its result against the method in api.ts.
 */
import type { Operation, PulumiApi, StackRef, UserApi } from "./api.ts";
import { readListPage } from "./list-page.ts";
import { decodeBody, listByNumber, listByToken, listOnce, type Reader, tally } from "./read.ts";
import { timeSlicer } from "./time-slice.ts";
import type { GetParams, GetPath } from "./transport.ts";
import {
  accessTokenItem,
  agentItem,
  agentPoolItem,
  currentUser,
  deploymentCounts,
  deploymentItem,
  deploymentRunItem,
  deploymentsMetadata,
  isRecord,
  memberItem,
  namedItem,
  neoTaskItem,
  neoTokenBudget,
  orgMetadata,
  parseJson,
  policyResultsMetadata,
  readOptionalCount,
  resourceCount,
  stackDrift,
  stackItem,
  stackUpdateItem,
  userTokenInfo,
  type Validator,
  validateValue,
  violationItem,
} from "./validate.ts";

/** Neo tasks are listed 1,000 to a page, the most the API documents. */
export const NEO_TASKS_PAGE_SIZE = 1000;
/** Deployments are listed 100 to a page, the most the API allows. */
export const DEPLOYMENTS_PAGE_SIZE = 100;

/** Every method an endpoint provides (the views, `scoped` and `withSignal`, are the client's). */
export type Methods = Omit<PulumiApi, "scoped" | "withSignal"> & UserApi;

/** An endpoint: given a reader (the requests of one scope), the method. */
export type Endpoint<K extends keyof Methods> = (read: Reader) => Methods[K];

/** One JSON object, validated, then mapped to what the method returns. */
function object<P extends GetPath, A extends unknown[], T, R>(spec: {
  operation: Operation;
  path: P;
  params: (...args: A) => GetParams<P>;
  validator: Validator<T>;
  map: (value: T) => R;
}): (read: Reader) => (...args: A) => Promise<R> {
  return (read) =>
    async (...args) =>
      spec.map(
        await read.fetchObject(spec.operation, read.get(spec.path, spec.params(...args)), spec.validator),
      );
}

/** A list that fits one response: the array at `field`, item by item. */
function list<P extends GetPath, A extends unknown[], T>(spec: {
  operation: Operation;
  path: P;
  params: (...args: A) => GetParams<P>;
  field: string;
  validator: Validator<T>;
}): (read: Reader) => (...args: A) => Promise<T[]> {
  return (read) =>
    (...args) =>
      listOnce(read, spec.operation, spec.field, spec.validator, read.get(spec.path, spec.params(...args)));
}

/** A list walked by continuation token. `extraQuery` carries query parameters the spec omits. */
function tokenPages<P extends GetPath, A, T>(spec: {
  operation: Operation;
  path: P;
  params: (arg: A, token: string | undefined) => GetParams<P>;
  extraQuery?: (token: string | undefined) => Record<string, string | undefined>;
  field: string;
  tokenField: string;
  validator: Validator<T>;
}): (read: Reader) => (arg: A, onPage?: (items: readonly T[]) => void | Promise<void>) => Promise<T[]> {
  return (read) => (arg, onPage) =>
    listByToken(
      read,
      spec,
      (token) => read.get(spec.path, spec.params(arg, token), spec.extraQuery?.(token)),
      onPage,
    );
}

/** A list walked by page number, `pageSize` to a page, until the envelope's `total`. */
function numberedPages<P extends GetPath, A, T>(spec: {
  operation: Operation;
  path: P;
  params: (arg: A, page: number, pageSize: number) => GetParams<P>;
  field: string;
  pageSize: number;
  validator: Validator<T>;
}): (read: Reader) => (arg: A) => Promise<T[]> {
  return (read) => (arg) =>
    listByNumber(
      read,
      spec,
      (page) => read.envelopeField(spec.operation, page, readOptionalCount, "total"),
      (page, pageSize) => read.get(spec.path, spec.params(arg, page, pageSize)),
    );
}

const stackPath = (ref: StackRef) => ({ orgName: ref.org, projectName: ref.project, stackName: ref.stack });
const orgPath = (org: string) => ({ path: { orgName: org } });

/** One page of a stack's updates, with the envelope's total. */
const getStackUpdates: Endpoint<"getStackUpdates"> = (read) => async (ref, page, pageSize) => {
  const operation = "GetStackUpdates";
  const call = read.get("/api/stacks/{orgName}/{projectName}/{stackName}/updates", {
    path: stackPath(ref),
    query: { page, pageSize },
  });
  const dropped = tally();
  const result = await read.fetchPage(operation, call, "updates", stackUpdateItem, dropped);
  const total = read.envelopeField(operation, result, readOptionalCount, "total");
  read.reportDropped(operation, dropped);
  return { updates: result.valid, total, droppedAfter: result.droppedAfter };
};

/** The counts sit one level down, in `deploymentCounts`. */
const getOrgDeploymentCounts: Endpoint<"getOrgDeploymentCounts"> = (read) => async (org) => {
  const operation = "OrgDeploymentsMetadata";
  const { status, body } = await read.fetchJson(
    operation,
    read.get("/api/orgs/{orgName}/deployments/metadata", orgPath(org)),
  );
  if (!isRecord(body)) throw read.malformed(operation, status, "body must be an object");
  const counts = validateValue(body.deploymentCounts, deploymentCounts);
  if (!counts.ok) throw read.malformed(operation, status, `deploymentCounts: ${counts.reason}`);
  return counts.value;
};

/** One page of deployment runs, newest first by creation, with the envelope's total. */
const listOrgDeploymentsPage: Endpoint<"listOrgDeploymentsPage"> = (read) => async (org, page, pageSize) => {
  const operation = "ListOrgDeployments";
  // Newest first by creation, said explicitly (`created` is a sort field the Pulumi CLI documents).
  const call = read.get("/api/orgs/{orgName}/deployments", {
    path: { orgName: org },
    query: { page, pageSize, sort: "created" },
  });
  const dropped = tally();
  const result = await read.fetchPage(operation, call, "deployments", deploymentRunItem, dropped);
  const total = read.envelopeField(operation, result, readOptionalCount, "total");
  read.reportDropped(operation, dropped);
  return { deployments: result.valid, received: result.valid.length + result.droppedAfter.length, total };
};

/** One pool's agents; `null` when the pool was deleted since the listing (404). */
const getAgentPoolAgents: Endpoint<"getAgentPoolAgents"> = (read) => async (org, poolId) => {
  const operation = "GetAgentPool";
  const call = read.get("/api/orgs/{orgName}/agent-pools/{poolId}", { path: { orgName: org, poolId } });
  const reply = await read.send(operation, call, [404]);
  if (reply.status === 404) return null;
  const page = read.must(
    operation,
    reply.status,
    await readListPage(reply.body, "agents", agentItem, timeSlicer()),
  );
  read.reportDropped(operation, { count: page.droppedAfter.length, reason: page.firstReason });
  return page.valid;
};

/** The exporter's own token, as GetCurrentUser names it; absent for a personal token. */
const getTokenInfo: Endpoint<"getTokenInfo"> = (read) => async () => {
  const user = await read.fetchObject("GetCurrentUser", read.get("/api/user", {}), userTokenInfo);
  const info = user.tokenInfo;
  return info && { name: info.name, organization: info.organization ?? "", team: info.team ?? "" };
};

/** One stack asked for: 403 and 404 are answers here, not failures. */
const organizationVisible: Endpoint<"organizationVisible"> = (read) => async (org) => {
  const call = read.get("/api/user/stacks", { query: { organization: org, maxResults: 1 } });
  const reply = await read.send("ListUserStacks", call, [403, 404]);
  return reply.status !== 403 && reply.status !== 404;
};

/** 404: the organization has no budget. */
const getNeoTokenBudget: Endpoint<"getNeoTokenBudget"> = (read) => async (org) => {
  const operation = "GetOrgNeoTokenBudget";
  const reply = await read.send(
    operation,
    read.get("/api/orgs/{orgName}/neo/token-budget", orgPath(org)),
    [404],
  );
  if (reply.status === 404) return null;
  const body = read.must(operation, reply.status, parseJson(decodeBody(reply.body)));
  return read.must(operation, reply.status, validateValue(body, neoTokenBudget));
};

export const ENDPOINTS: { readonly [K in keyof Methods]: Endpoint<K> } = {
  listStacks: tokenPages({
    operation: "ListUserStacks",
    path: "/api/user/stacks",
    params: (org: string, token) => ({ query: { organization: org, continuationToken: token } }),
    field: "stacks",
    tokenField: "continuationToken",
    validator: stackItem,
  }),
  getStackResourceCount: object({
    operation: "GetStackResourceCount",
    path: "/api/stacks/{orgName}/{projectName}/{stackName}/resources/count",
    params: (ref: StackRef) => ({ path: stackPath(ref) }),
    validator: resourceCount,
    map: (count) => count.resourceCount,
  }),
  getStackUpdates,
  getOrgDeploymentCounts,
  getOrgDeploymentsMetadata: object({
    operation: "OrgDeploymentsMetadata",
    path: "/api/orgs/{orgName}/deployments/metadata",
    params: orgPath,
    validator: deploymentsMetadata,
    map: (metadata) => metadata,
  }),
  listOrgDeploymentsPage,
  listOrgDeployments: numberedPages({
    operation: "ListOrgDeployments",
    path: "/api/orgs/{orgName}/deployments",
    params: (org: string, page, pageSize) => ({ path: { orgName: org }, query: { page, pageSize } }),
    field: "deployments",
    pageSize: DEPLOYMENTS_PAGE_SIZE,
    validator: deploymentItem,
  }),
  listMembers: tokenPages({
    operation: "ListOrganizationMembers",
    path: "/api/orgs/{orgName}/members",
    params: (org: string, token) => ({ path: { orgName: org }, query: { continuationToken: token } }),
    field: "members",
    tokenField: "continuationToken",
    validator: memberItem,
  }),
  listTeams: list({
    operation: "ListTeams",
    path: "/api/orgs/{orgName}/teams",
    params: orgPath,
    field: "teams",
    validator: namedItem,
  }),
  listEnvironments: tokenPages({
    operation: "ListOrgEnvironments_esc",
    path: "/api/esc/environments/{orgName}",
    params: (org: string, token) => ({ path: { orgName: org }, query: { continuationToken: token } }),
    field: "environments",
    tokenField: "nextToken",
    validator: namedItem,
  }),
  listPolicyGroups: list({
    operation: "ListPolicyGroups",
    path: "/api/orgs/{orgName}/policygroups",
    params: orgPath,
    field: "policyGroups",
    validator: namedItem,
  }),
  listPolicyPacks: list({
    operation: "ListPolicyPacks_orgs",
    path: "/api/orgs/{orgName}/policypacks",
    params: orgPath,
    field: "policyPacks",
    validator: namedItem,
  }),
  listPolicyViolations: tokenPages({
    operation: "ListPolicyViolationsV2",
    path: "/api/orgs/{orgName}/policyresults/violationsv2",
    params: (org: string) => orgPath(org),
    // The spec declares no query parameters here, yet the response pages with a continuation token.
    extraQuery: (token) => ({ continuationToken: token }),
    field: "policyViolations",
    tokenField: "continuationToken",
    validator: violationItem,
  }),
  getPolicyResultsMetadata: object({
    operation: "GetPolicyResultsMetadata",
    path: "/api/orgs/{orgName}/policyresults/metadata",
    params: orgPath,
    validator: policyResultsMetadata,
    map: (metadata) => metadata,
  }),
  listNeoTasks: tokenPages({
    operation: "ListTasks",
    path: "/api/preview/agents/{orgName}/tasks",
    // The largest page the API documents (1-1000): fewer calls for organizations with many tasks.
    params: (org: string, token) => ({
      path: { orgName: org },
      query: { continuationToken: token, pageSize: NEO_TASKS_PAGE_SIZE },
    }),
    field: "tasks",
    tokenField: "continuationToken",
    validator: neoTaskItem,
  }),
  getNeoTokenBudget,
  getCurrentUser: object({
    operation: "GetCurrentUser",
    path: "/api/user",
    params: () => ({}),
    validator: currentUser,
    map: (user) => ({ login: user.githubLogin, organizations: user.organizations.map((o) => o.githubLogin) }),
  }),
  organizationVisible,
  listAgentPools: list({
    operation: "ListOrgAgentPool",
    path: "/api/orgs/{orgName}/agent-pools",
    params: orgPath,
    field: "agentPools",
    validator: agentPoolItem,
  }),
  getAgentPoolAgents,
  getOrgMetadata: object({
    operation: "GetOrganizationMetadata",
    path: "/api/orgs/{orgName}/metadata",
    params: orgPath,
    validator: orgMetadata,
    map: (metadata) => metadata,
  }),
  listOrgTokens: list({
    operation: "ListOrgTokens",
    path: "/api/orgs/{orgName}/tokens",
    params: orgPath,
    field: "tokens",
    validator: accessTokenItem,
  }),
  listPersonalTokens: list({
    operation: "ListPersonalTokens",
    path: "/api/user/tokens",
    params: () => ({}),
    field: "tokens",
    validator: accessTokenItem,
  }),
  listTeamTokens: list({
    operation: "ListTeamTokens",
    path: "/api/orgs/{orgName}/teams/{teamName}/tokens",
    params: (org: string, team: string) => ({ path: { orgName: org, teamName: team } }),
    field: "tokens",
    validator: accessTokenItem,
  }),
  getTokenInfo,
  getStackDrift: object({
    operation: "StackDeploymentsMetadata",
    path: "/api/stacks/{orgName}/{projectName}/{stackName}/deployments/metadata",
    params: (ref: StackRef) => ({ path: stackPath(ref) }),
    validator: stackDrift,
    map: (drift) => drift,
  }),
};

/** Every method of the table, its requests made with `read`. */
export function bindEndpoints(read: Reader): Methods {
  const methods: Partial<Record<keyof Methods, unknown>> = {};
  for (const name of Object.keys(ENDPOINTS) as (keyof Methods)[]) methods[name] = ENDPOINTS[name](read);
  // Each entry is typed `Endpoint<K>` above, so the method at each name has the type `Methods` asks for.
  return methods as Methods;
}
