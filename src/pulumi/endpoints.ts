/**
 * The Pulumi Cloud endpoints: for each method of the API, its operation, parameters, validation and paging; the
 * path and a list's array come from the generated operation table. Most are one of four shapes (an object, a list
 * in one response, token pages, numbered pages), made by the factories below; the few with rules of their own are
 * written out. The older families' endpoints are the rows of `ENDPOINTS`, methods of `PulumiApi`; a new family
 * declares its endpoints in its source file with the same factories and calls them with `api.read`. Parameters are
 * checked against the generated `paths` either way.
 */
import type { Operation, PulumiApi, StackRef, UserApi } from "./api.ts";
import { PULUMI_OPERATIONS } from "./operations.gen.ts";
import { decodeBody, listByNumber, listByToken, listOnce, type Reader, tally } from "./read.ts";
import type { GetParams, GetPath } from "./transport.ts";
import {
  accessTokenItem,
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

/** Every method a row of the table provides (the views, `scoped` and `withSignal`, and `read` are the client's). */
export type Methods = Omit<PulumiApi, "scoped" | "withSignal" | "read"> & UserApi;

/** An endpoint: given a reader (the requests of one scope), the method. */
export type Endpoint<K extends keyof Methods> = (read: Reader) => Methods[K];

/** An operation's path, as generated from the spec. */
type PathOf<O extends Operation> = Extract<(typeof PULUMI_OPERATIONS)[O]["path"], GetPath>;

/** The operations whose response is a list: openapi/operations.json names its array (`items`). */
export type ListOperation = {
  [O in Operation]: (typeof PULUMI_OPERATIONS)[O] extends { items: string } ? O : never;
}[Operation];

function pathOf<O extends Operation>(operation: O): PathOf<O> {
  return PULUMI_OPERATIONS[operation].path as PathOf<O>;
}

function itemsOf(operation: ListOperation): string {
  return PULUMI_OPERATIONS[operation].items;
}

/**
 * A method made of a reader, with the operation it calls: what each factory below builds. The table's rows are
 * these, and so is a source's own endpoint (src/collect/sources/), declared beside the source and called with
 * `api.read(endpoint, ...args)`: a new family adds no method to `PulumiApi`, no row here and nothing to the fakes
 * of the tests.
 */
export type SourceEndpoint<A extends unknown[], R> = ((read: Reader) => (...args: A) => Promise<R>) & {
  readonly operation: Operation;
};

function endpoint<A extends unknown[], R>(
  operation: Operation,
  method: (read: Reader) => (...args: A) => Promise<R>,
): SourceEndpoint<A, R> {
  return Object.assign(method, { operation });
}

/** One JSON object, validated, then mapped to what the method returns. */
export function object<O extends Operation, A extends unknown[], T, R = T>(spec: {
  operation: O;
  params: (...args: A) => GetParams<PathOf<O>>;
  validator: Validator<T>;
  map?: (value: T) => R;
}): SourceEndpoint<A, R> {
  const { operation, validator } = spec;
  // Without `map` the method returns the validated value itself: `R` is then its default, `T`.
  const map = spec.map ?? ((value: T) => value as unknown as R);
  return endpoint(
    operation,
    (read) =>
      async (...args) =>
        map(await read.fetchObject(operation, read.get(pathOf(operation), spec.params(...args)), validator)),
  );
}

interface ListSpec<O extends ListOperation, A extends unknown[], T> {
  operation: O;
  params: (...args: A) => GetParams<PathOf<O>>;
  validator: Validator<T>;
}

/**
 * A list that fits one response: the operation's `items`, item by item. With `goneOn404`, a 404 is an answer
 * (what was asked for no longer exists: `null`), not a failure.
 */
export function list<O extends ListOperation, A extends unknown[], T>(
  spec: ListSpec<O, A, T>,
): SourceEndpoint<A, T[]>;
export function list<O extends ListOperation, A extends unknown[], T>(
  spec: ListSpec<O, A, T> & { goneOn404: true },
): SourceEndpoint<A, T[] | null>;
export function list<O extends ListOperation, A extends unknown[], T>(
  spec: ListSpec<O, A, T> & { goneOn404?: true },
): SourceEndpoint<A, T[] | null> {
  const { operation, validator } = spec;
  const field = itemsOf(operation);
  return endpoint(operation, (read) => async (...args) => {
    const call = read.get(pathOf(operation), spec.params(...args));
    if (!spec.goneOn404) return listOnce(read, operation, field, validator, call);
    const reply = await read.send(operation, call, [404]);
    if (reply.status === 404) return null;
    const dropped = tally();
    const page = await read.readPage(operation, reply, field, validator, dropped);
    read.reportDropped(operation, dropped);
    return page.valid;
  });
}

/** A list walked by continuation token. `extraQuery` carries query parameters the spec omits. */
export function tokenPages<O extends ListOperation, A, T>(spec: {
  operation: O;
  params: (arg: A, token: string | undefined) => GetParams<PathOf<O>>;
  extraQuery?: (token: string | undefined) => Record<string, string | undefined>;
  tokenField: string;
  validator: Validator<T>;
}): SourceEndpoint<[arg: A, onPage?: (items: readonly T[]) => void | Promise<void>], T[]> {
  const { operation } = spec;
  const paging = { ...spec, field: itemsOf(operation) };
  return endpoint(
    operation,
    (read) => (arg, onPage) =>
      listByToken(
        read,
        paging,
        (token) => read.get(pathOf(operation), spec.params(arg, token), spec.extraQuery?.(token)),
        onPage,
      ),
  );
}

/** A list walked by page number, `pageSize` to a page, until the envelope's `total`. */
export function numberedPages<O extends ListOperation, A, T>(spec: {
  operation: O;
  params: (arg: A, page: number, pageSize: number) => GetParams<PathOf<O>>;
  pageSize: number;
  validator: Validator<T>;
}): SourceEndpoint<[A], T[]> {
  const { operation } = spec;
  const paging = { ...spec, field: itemsOf(operation) };
  return endpoint(
    operation,
    (read) => (arg) =>
      listByNumber(
        read,
        paging,
        (page) => read.envelopeField(operation, page, readOptionalCount, "total"),
        (page, pageSize) => read.get(pathOf(operation), spec.params(arg, page, pageSize)),
      ),
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
    params: (org: string, token) => ({ query: { organization: org, continuationToken: token } }),
    tokenField: "continuationToken",
    validator: stackItem,
  }),
  getStackResourceCount: object({
    operation: "GetStackResourceCount",
    params: (ref: StackRef) => ({ path: stackPath(ref) }),
    validator: resourceCount,
    map: (count) => count.resourceCount,
  }),
  getStackUpdates,
  getOrgDeploymentCounts,
  getOrgDeploymentsMetadata: object({
    operation: "OrgDeploymentsMetadata",
    params: orgPath,
    validator: deploymentsMetadata,
  }),
  listOrgDeploymentsPage,
  listOrgDeployments: numberedPages({
    operation: "ListOrgDeployments",
    params: (org: string, page, pageSize) => ({ path: { orgName: org }, query: { page, pageSize } }),
    pageSize: DEPLOYMENTS_PAGE_SIZE,
    validator: deploymentItem,
  }),
  listMembers: tokenPages({
    operation: "ListOrganizationMembers",
    params: (org: string, token) => ({ path: { orgName: org }, query: { continuationToken: token } }),
    tokenField: "continuationToken",
    validator: memberItem,
  }),
  listTeams: list({
    operation: "ListTeams",
    params: orgPath,
    validator: namedItem,
  }),
  listEnvironments: tokenPages({
    operation: "ListOrgEnvironments_esc",
    params: (org: string, token) => ({ path: { orgName: org }, query: { continuationToken: token } }),
    tokenField: "nextToken",
    validator: namedItem,
  }),
  listPolicyGroups: list({
    operation: "ListPolicyGroups",
    params: orgPath,
    validator: namedItem,
  }),
  listPolicyPacks: list({
    operation: "ListPolicyPacks_orgs",
    params: orgPath,
    validator: namedItem,
  }),
  listPolicyViolations: tokenPages({
    operation: "ListPolicyViolationsV2",
    params: (org: string) => orgPath(org),
    // The spec declares no query parameters here, yet the response pages with a continuation token.
    extraQuery: (token) => ({ continuationToken: token }),
    tokenField: "continuationToken",
    validator: violationItem,
  }),
  getPolicyResultsMetadata: object({
    operation: "GetPolicyResultsMetadata",
    params: orgPath,
    validator: policyResultsMetadata,
  }),
  listNeoTasks: tokenPages({
    operation: "ListTasks",
    // The largest page the API documents (1-1000): fewer calls for organizations with many tasks.
    params: (org: string, token) => ({
      path: { orgName: org },
      query: { continuationToken: token, pageSize: NEO_TASKS_PAGE_SIZE },
    }),
    tokenField: "continuationToken",
    validator: neoTaskItem,
  }),
  getNeoTokenBudget,
  getCurrentUser: object({
    operation: "GetCurrentUser",
    params: () => ({}),
    validator: currentUser,
    map: (user) => ({ login: user.githubLogin, organizations: user.organizations.map((o) => o.githubLogin) }),
  }),
  organizationVisible,
  getOrgMetadata: object({
    operation: "GetOrganizationMetadata",
    params: orgPath,
    validator: orgMetadata,
  }),
  listOrgTokens: list({
    operation: "ListOrgTokens",
    params: orgPath,
    validator: accessTokenItem,
  }),
  listPersonalTokens: list({
    operation: "ListPersonalTokens",
    params: () => ({}),
    validator: accessTokenItem,
  }),
  listTeamTokens: list({
    operation: "ListTeamTokens",
    params: (org: string, team: string) => ({ path: { orgName: org, teamName: team } }),
    validator: accessTokenItem,
  }),
  getTokenInfo,
  getStackDrift: object({
    operation: "StackDeploymentsMetadata",
    params: (ref: StackRef) => ({ path: stackPath(ref) }),
    validator: stackDrift,
  }),
};

/** Every method of the table, its requests made with `read`. */
export function bindEndpoints(read: Reader): Methods {
  const methods: Partial<Record<keyof Methods, unknown>> = {};
  for (const name of Object.keys(ENDPOINTS) as (keyof Methods)[]) methods[name] = ENDPOINTS[name](read);
  // Each entry is typed `Endpoint<K>` above, so the method at each name has the type `Methods` asks for.
  return methods as Methods;
}
