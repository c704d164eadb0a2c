/** What each operation answers, computed from the model. HTTP concerns (auth, faults, stats) live in app.ts. */
import type { Operation } from "../pulumi/api.ts";
import type { NeoTask } from "../pulumi/types.ts";
import { ApiError, orgNotFound, stackNotFound } from "./api-error.ts";
import { driftStatus, toDeploymentSnapshot } from "./deployments.ts";
import {
  getAgentPool,
  listAgentPools,
  organizationMetadata,
  orgTokens,
  personalTokens,
  simTokenInfo,
  teamTokens,
} from "./estate.ts";
import type { OrgState, SimModel } from "./model.ts";
import { environmentKey, type NeoTaskRecord } from "./org-data.ts";
import { afterOf, boolParam, encodeToken, intParam, offsetOf, pageAfter, pageAt } from "./paging.ts";
import { type StackRecord, stackKey, toStackSummary, toStackUpdate } from "./stacks.ts";

export interface ApiRequest {
  params: Record<string, string>;
  query(name: string): string | undefined;
}

export type Handler = (model: SimModel, request: ApiRequest) => unknown;

function requireOrg(model: SimModel, name: string | undefined): OrgState {
  const org = name === undefined ? undefined : model.org(name);
  if (!org) throw orgNotFound(name ?? "");
  return org;
}

function requireStack(model: SimModel, params: Record<string, string>): StackRecord {
  const org = requireOrg(model, params.orgName);
  const project = params.projectName ?? "";
  const stack = params.stackName ?? "";
  const record = model.stacks.get(stackKey(org.name, project, stack));
  if (!record) throw stackNotFound(org.name, project, stack);
  return record;
}

function oneOf<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === "") return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new ApiError(400, `Invalid '${name}' value.`);
  return value as T;
}

const listUserStacks: Handler = (model, request) => {
  const orgName = request.query("organization") || undefined;
  if (orgName !== undefined) requireOrg(model, orgName);
  if (request.query("tagName") || request.query("tagValue")) {
    throw new ApiError(400, "tag filters (tagName, tagValue) are not supported by the simulator");
  }
  const project = request.query("project") || undefined;
  const requested = intParam(request.query("maxResults"), "maxResults", { min: 0, fallback: 0 });
  const limit = requested === 0 ? model.options.pageSizes.stacks : requested;
  const after = afterOf(request.query("continuationToken"));
  const store = model.stacks;
  const [start, end] = store.range(orgName === undefined ? undefined : `${orgName}/`);
  const matches = (stack: StackRecord | undefined): stack is StackRecord =>
    stack !== undefined && (project === undefined || stack.project === project);

  const page: StackRecord[] = [];
  let i = after === undefined ? start : Math.max(start, store.indexAfter(after));
  for (; i < end && page.length < limit; i++) {
    const stack = store.get(store.keyAt(i) ?? "");
    if (matches(stack)) page.push(stack);
  }
  let more = false;
  for (; i < end && !more; i++) more = matches(store.get(store.keyAt(i) ?? ""));
  const last = page.at(-1);
  return {
    stacks: page.map(toStackSummary),
    ...(more && last ? { continuationToken: encodeToken({ after: last.key }) } : {}),
  };
};

const getStackUpdates: Handler = (model, request) => {
  const stack = requireStack(model, request.params);
  const page = intParam(request.query("page"), "page", { min: 0, fallback: 0 });
  const total = stack.updateCount;
  if (page === 0) {
    // Page 0 (or none) is the whole history.
    return { updates: stack.updatesNewestFirst(0, total).map(toStackUpdate), itemsPerPage: total, total };
  }
  const pageSize = intParam(request.query("pageSize"), "pageSize", { min: 1, fallback: Number.NaN });
  if (Number.isNaN(pageSize)) throw new ApiError(400, "Invalid 'pageSize' value.");
  const updates = stack.updatesNewestFirst((page - 1) * pageSize, pageSize).map(toStackUpdate);
  return { updates, itemsPerPage: pageSize, total };
};

const SORTS = ["created", "modified", "version"] as const;

function deploymentPage(
  records: readonly OrgState["deployments"]["records"][number][],
  request: ApiRequest,
  paused: boolean,
) {
  const page = intParam(request.query("page"), "page", { min: 1, fallback: 1 });
  const pageSize = intParam(request.query("pageSize"), "pageSize", { min: 1, max: 100, fallback: 10 });
  const asc = boolParam(request.query("asc"), "asc");
  const sort = oneOf(request.query("sort"), "sort", SORTS, "created");
  const key = (d: (typeof records)[number]): number =>
    sort === "modified" ? d.modifiedMs : sort === "version" ? d.version : d.createdMs;
  // Records are kept oldest first; a stable sort keeps that order among equal keys.
  const sorted = [...records].sort((a, b) => key(a) - key(b));
  if (!asc) sorted.reverse();
  const slice = sorted.slice((page - 1) * pageSize, page * pageSize);
  const deployments = slice.map((d) => toDeploymentSnapshot(d, paused));
  return { deployments, itemsPerPage: pageSize, total: records.length };
}

const TASK_SORTS = ["lastEvent", "created", "status", "name"] as const;

function compareTasks(sortBy: (typeof TASK_SORTS)[number]): (a: NeoTaskRecord, b: NeoTaskRecord) => number {
  const byId = (a: NeoTaskRecord, b: NeoTaskRecord) => a.task.id.localeCompare(b.task.id);
  const rank = (t: NeoTask) => (t.status === "running" ? 0 : 1);
  switch (sortBy) {
    case "created":
      return (a, b) => a.task.createdAt.localeCompare(b.task.createdAt) || byId(a, b);
    case "status":
      return (a, b) => rank(a.task) - rank(b.task) || byId(a, b);
    case "name":
      return (a, b) => a.task.name.localeCompare(b.task.name) || byId(a, b);
    default:
      return (a, b) => a.lastEventMs - b.lastEventMs || byId(a, b);
  }
}

/** The token's user: a member of every simulated organization, so an organization outside the model is invisible. */
export const SIM_USER = "sim-operator";

const getCurrentUser: Handler = (model) => ({
  id: "00000000-0000-4000-8000-000000000001",
  githubLogin: SIM_USER,
  name: "Simulated Operator",
  email: `${SIM_USER}@example.com`,
  avatarUrl: "",
  hasMFA: false,
  identities: ["Pulumi"],
  isOrgManaged: false,
  isManagedByMultiOrg: false,
  organizations: model.orgNames().map((name) => ({ name, githubLogin: name, avatarUrl: "", role: "admin" })),
  tokenInfo: simTokenInfo(model),
});

export const HANDLERS: Record<Operation, Handler> = {
  GetCurrentUser: getCurrentUser,

  ListUserStacks: listUserStacks,

  GetStackResourceCount: (model, request) => {
    const stack = requireStack(model, request.params);
    return { resourceCount: stack.resourceCount, version: stack.version };
  },

  GetStackUpdates: getStackUpdates,

  ListStackDeploymentsHandlerV2: (model, request) => {
    const stack = requireStack(model, request.params);
    const deployments = requireOrg(model, stack.org).deployments;
    const records = deployments.records.filter((d) => d.project === stack.project && d.stack === stack.name);
    return deploymentPage(records, request, deployments.paused);
  },

  ListOrgDeployments: (model, request) => {
    const deployments = requireOrg(model, request.params.orgName).deployments;
    return deploymentPage(deployments.records, request, deployments.paused);
  },

  OrgDeploymentsMetadata: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    return {
      concurrency: org.deployments.concurrency,
      deploymentCounts: org.deployments.counts(),
      paused: org.deployments.paused,
    };
  },

  ListOrganizationMembers: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    oneOf(request.query("type"), "type", ["frontend", "backend"], "frontend");
    const after = afterOf(request.query("continuationToken"));
    const { items, next } = pageAfter(
      org.members,
      (m) => m.user.githubLogin,
      after,
      model.options.pageSizes.members,
    );
    return { members: items, ...(next ? { continuationToken: next } : {}) };
  },

  ListTeams: (model, request) => ({ teams: requireOrg(model, request.params.orgName).teams }),

  ListOrgEnvironments_esc: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const requested = intParam(request.query("maxResults"), "maxResults", { min: 0, fallback: 0 });
    const limit = requested === 0 ? model.options.pageSizes.environments : requested;
    const after = afterOf(request.query("continuationToken"));
    const { items, next } = pageAfter(org.environments, environmentKey, after, limit);
    return { environments: items, ...(next ? { nextToken: next } : {}) };
  },

  ListPolicyGroups: (model, request) => ({
    policyGroups: requireOrg(model, request.params.orgName).policyGroups,
  }),

  ListPolicyPacks_orgs: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const name = request.query("policypack") || undefined;
    const packs = org.policyPacks.map((p) => p.pack).filter((p) => name === undefined || p.name === name);
    return { policyPacks: packs };
  },

  ListPolicyViolationsV2: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const offset = offsetOf(request.query("continuationToken"));
    const { items, next } = pageAt(org.violations, offset, model.options.pageSizes.violations);
    return { policyViolations: items, ...(next ? { continuationToken: next } : {}) };
  },

  GetPolicyResultsMetadata: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    return model.policyResultsMetadata(org.name);
  },

  ListTasks: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const pageSize = intParam(request.query("pageSize"), "pageSize", {
      min: 1,
      max: 1000,
      fallback: model.options.pageSizes.tasks,
      message: "pageSize must be between 1 and 1000",
    });
    const sortBy = oneOf(request.query("sortBy"), "sortBy", TASK_SORTS, "lastEvent");
    const direction = oneOf(request.query("sortDirection"), "sortDirection", ["asc", "desc"], "desc");
    const taskType = request.query("taskType") || undefined;
    if (taskType !== undefined) oneOf(taskType, "taskType", ["sync", "async"], "sync");
    const offset = offsetOf(request.query("continuationToken"));
    const sorted = org.neoTasks
      .filter((r) => taskType === undefined || r.task.taskType === taskType)
      .sort(compareTasks(sortBy));
    if (direction === "desc") sorted.reverse();
    const { items, next } = pageAt(sorted, offset, pageSize);
    return { tasks: items.map((r) => r.task), ...(next ? { continuationToken: next } : {}) };
  },

  GetOrgNeoTokenBudget: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const budget = model.neoBudget(org.name);
    if (!budget) throw new ApiError(404, `Organization '${org.name}' has no Neo token budget`);
    return budget;
  },

  ListOrgAgentPool: (model, request) => listAgentPools(model, requireOrg(model, request.params.orgName).name),

  GetAgentPool: (model, request) =>
    getAgentPool(model, requireOrg(model, request.params.orgName).name, request.params.poolId),

  GetOrganizationMetadata: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const stacks = model.summary().orgs.find((o) => o.name === org.name)?.stacks ?? 0;
    return organizationMetadata(model, org.name, {
      stacks,
      members: org.members.length,
      environments: org.environments.length,
    });
  },

  ListOrgTokens: (model, request) => orgTokens(model, requireOrg(model, request.params.orgName).name),

  ListTeamTokens: (model, request) => {
    const org = requireOrg(model, request.params.orgName);
    const team = org.teams.find((t) => t.name === request.params.teamName);
    if (!team) throw new ApiError(404, `Team '${request.params.teamName ?? ""}' not found`);
    return teamTokens(model, org.name, team.name);
  },

  ListPersonalTokens: (model) => personalTokens(model, SIM_USER),

  StackDeploymentsMetadata: (model, request) => {
    const stack = requireStack(model, request.params);
    const deployments = requireOrg(model, stack.org).deployments;
    const drift = driftStatus(deployments.records, { project: stack.project, stack: stack.name });
    return {
      paused: deployments.paused,
      stackPaused: false,
      organizationPaused: deployments.paused,
      hasSchedules: false,
      ...(drift ? { drift } : {}),
    };
  },
};
