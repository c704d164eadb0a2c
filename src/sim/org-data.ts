/** Members, teams, ESC environments, policies and Neo tasks of one organization. */
import type { components } from "../pulumi/schema.gen.ts";
import type {
  NeoTask,
  NeoTokenBudget,
  OrganizationMember,
  OrgEnvironment,
  PolicyGroup,
  PolicyPack,
  PolicyViolation,
  Team,
} from "../pulumi/types.ts";
import type { UserInfo } from "./deployments.ts";
import {
  FIRST_NAMES,
  LAST_NAMES,
  NEO_TASK_NAMES,
  POLICY_NAMES,
  POLICY_PACK_NAMES,
  RESOURCE_TYPES,
  STACK_ENVIRONMENTS,
  TEAM_NAMES,
} from "./names.ts";
import type { Rng } from "./random.ts";
import { formatIsoTime } from "./time.ts";

type MemberRole = OrganizationMember["role"];
type AgentEntity = components["schemas"]["AgentEntity"];

export const VIOLATION_LEVELS = ["advisory", "mandatory", "remediate"] as const;
export type ViolationLevel = (typeof VIOLATION_LEVELS)[number];
export const VIOLATION_KINDS = ["audit", "preventative"] as const;

const DAY_MS = 86_400_000;

/** `name`, then `name-2`, `name-3`… once a list of names runs out. */
export function nthName(names: readonly string[], n: number): string {
  const base = names[n % names.length] as string;
  const round = Math.floor(n / names.length);
  return round === 0 ? base : `${base}-${round + 1}`;
}

export function makeUser(rng: Rng, index: number): UserInfo {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const login = `${first}${last}${index + 1}`.toLowerCase();
  return {
    name: `${first} ${last}`,
    githubLogin: login,
    avatarUrl: `https://avatars.githubusercontent.com/u/${100000 + index}?v=4`,
  };
}

export function makeMembers(rng: Rng, count: number, nowMs: number): OrganizationMember[] {
  const members: OrganizationMember[] = [];
  for (let i = 0; i < count; i++) {
    const user = makeUser(rng, i);
    const role: MemberRole =
      i === 0
        ? "admin"
        : rng.weighted({ member: 85, admin: 8, "billing-manager": 4, "stack-collaborator": 3 });
    const created = nowMs - rng.int(1, 900) * DAY_MS - rng.int(0, DAY_MS);
    members.push({
      created: formatIsoTime(created),
      role,
      user,
      fgaRole: {
        id: `role-${role}`,
        name: role === "admin" ? "Admin" : role === "billing-manager" ? "Billing Manager" : "Member",
        modifiedAt: formatIsoTime(created),
      },
      knownToPulumi: true,
      virtualAdmin: false,
    });
  }
  // Pages walk members by login, the order the API returns them in.
  return members.sort((a, b) => a.user.githubLogin.localeCompare(b.user.githubLogin));
}

export function makeTeams(rng: Rng, count: number, members: readonly OrganizationMember[]): Team[] {
  const teams: Team[] = [];
  for (let i = 0; i < count; i++) {
    const name = nthName(TEAM_NAMES, i);
    const size = Math.min(members.length, rng.int(1, 8));
    const start = members.length === 0 ? 0 : rng.int(0, members.length - size);
    teams.push({
      name,
      displayName: name.replaceAll("-", " ").replace(/^./, (c) => c.toUpperCase()),
      description: `The ${name} team`,
      kind: rng.weighted({ pulumi: 70, github: 20, scim: 10 }),
      userRole: "none",
      members: members
        .slice(start, start + size)
        .map((m, j) => ({ ...m.user, role: j === 0 ? "admin" : "member" })),
    });
  }
  return teams;
}

export function makeEnvironments(
  rng: Rng,
  org: string,
  projects: readonly string[],
  count: number,
  users: readonly UserInfo[],
  nowMs: number,
): OrgEnvironment[] {
  const envProjects = ["default", ...projects];
  const perProject = new Map<string, number>();
  const environments: OrgEnvironment[] = [];
  for (let i = 0; i < count; i++) {
    const project = rng.pick(envProjects);
    const n = perProject.get(project) ?? 0;
    perProject.set(project, n + 1);
    const created = nowMs - rng.int(1, 500) * DAY_MS;
    environments.push({
      id: rng.uuid(),
      organization: org,
      project,
      name: nthName(STACK_ENVIRONMENTS, n),
      created: formatIsoTime(created),
      modified: formatIsoTime(created + (rng.int(0, 400) * DAY_MS) / 4),
      ownedBy:
        users.length > 0 ? rng.pick(users) : { name: "Pulumi", githubLogin: "pulumi-bot", avatarUrl: "" },
      referrerMetadata: {
        environmentReferrerCount: rng.int(0, 5),
        stackReferrerCount: rng.int(0, 20),
        insightsAccountReferrerCount: rng.int(0, 2),
      },
      settings: { deletionProtected: rng.chance(0.2) },
      tags: { team: rng.pick(TEAM_NAMES) },
      links: { self: `https://api.pulumi.com/api/esc/environments/${org}/${project}` },
    });
  }
  return environments.sort((a, b) => environmentKey(a).localeCompare(environmentKey(b)));
}

export function environmentKey(env: OrgEnvironment): string {
  return `${env.project ?? ""}/${env.name}`;
}

export interface PolicyPackRecord {
  pack: PolicyPack;
  policies: string[];
}

export function makePolicyPacks(rng: Rng, count: number): PolicyPackRecord[] {
  const packs: PolicyPackRecord[] = [];
  for (let i = 0; i < count; i++) {
    const name = nthName(POLICY_PACK_NAMES, i);
    const versions = rng.int(1, 6);
    const policies = POLICY_NAMES.filter(() => rng.chance(0.6));
    packs.push({
      pack: {
        name,
        displayName: name
          .split("-")
          .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
          .join(" "),
        versions: Array.from({ length: versions }, (_, v) => v + 1),
        versionTags: Array.from({ length: versions }, (_, v) => `1.${v}.0`),
      },
      policies: policies.length > 0 ? policies : [POLICY_NAMES[0]],
    });
  }
  return packs;
}

export function makePolicyGroups(rng: Rng, count: number, stacks: number, packs: number): PolicyGroup[] {
  const groups: PolicyGroup[] = [];
  for (let i = 0; i < count; i++) {
    const accounts = i > 0 && rng.chance(0.3);
    groups.push({
      name:
        i === 0
          ? "default-policy-group"
          : nthName(["production", "staging", "insights-accounts", "pci"], i - 1),
      isOrgDefault: i === 0,
      entityType: accounts ? "accounts" : "stacks",
      mode: i === 0 ? "audit" : rng.weighted({ audit: 50, preventative: 50 }),
      numStacks: accounts ? 0 : i === 0 ? stacks : rng.int(0, stacks),
      numAccounts: accounts ? rng.int(1, 5) : 0,
      numEnabledPolicyPacks: rng.int(0, packs),
    });
  }
  return groups;
}

export interface ViolationTarget {
  project: string;
  stack: string;
}

export function makeViolations(
  rng: Rng,
  count: number,
  packs: readonly PolicyPackRecord[],
  targets: readonly ViolationTarget[],
  nowMs: number,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (let i = 0; i < count; i++) {
    // The first six cover every level × kind pair; the rest follow realistic weights.
    const level: ViolationLevel =
      i < 6
        ? (VIOLATION_LEVELS[i % 3] as ViolationLevel)
        : rng.weighted({ advisory: 60, mandatory: 30, remediate: 10 });
    const kind = i < 6 ? (i < 3 ? "audit" : "preventative") : rng.weighted({ audit: 70, preventative: 30 });
    const pack = packs.length > 0 ? rng.pick(packs) : undefined;
    const policyName = pack ? rng.pick(pack.policies) : rng.pick(POLICY_NAMES);
    const target = targets.length > 0 ? rng.pick(targets) : { project: "default", stack: "dev" };
    const resourceType = rng.pick(RESOURCE_TYPES);
    const resourceName = `${resourceType.split(":").pop()?.toLowerCase() ?? "resource"}-${rng.int(1, 40)}`;
    violations.push({
      id: rng.uuid(),
      kind,
      level,
      message: `${policyName}: ${resourceName} does not comply`,
      observedAt: formatIsoTime(nowMs - rng.int(0, 30 * DAY_MS)),
      policyName,
      policyPack: pack?.pack.name ?? "aws-compliance",
      policyPackTag: pack?.pack.versionTags.at(-1) ?? "1.0.0",
      projectName: target.project,
      stackName: target.stack,
      resourceName,
      resourceType,
      resourceURN: `urn:pulumi:${target.stack}::${target.project}::${resourceType}::${resourceName}`,
      stackVersion: rng.int(1, 40),
      resourceVersion: rng.int(1, 10),
    });
  }
  return violations.sort((a, b) => b.observedAt.localeCompare(a.observedAt) || a.id.localeCompare(b.id));
}

export interface NeoTaskRecord {
  task: NeoTask;
  /** Milliseconds of the task's latest event: the default sort key. */
  lastEventMs: number;
}

export function makeNeoTask(
  rng: Rng,
  users: readonly UserInfo[],
  targets: readonly ViolationTarget[],
  createdMs: number,
  running: boolean,
): NeoTaskRecord {
  const target = targets.length > 0 ? rng.pick(targets) : undefined;
  const entities: AgentEntity[] = target
    ? [{ type: "stack", name: target.stack, project: target.project } as AgentEntity]
    : [];
  const taskType = rng.weighted({ sync: 80, async: 20 });
  const task: NeoTask = {
    id: rng.uuid(),
    name: rng.pick(NEO_TASK_NAMES),
    status: running ? "running" : "idle",
    createdAt: formatIsoTime(createdMs),
    createdBy:
      users.length > 0 ? rng.pick(users) : { name: "Pulumi", githubLogin: "pulumi-bot", avatarUrl: "" },
    entities,
    isShared: rng.chance(0.2),
    planMode: rng.chance(0.3),
    approvalMode: rng.weighted({ manual: 50, auto: 20, balanced: 30 }),
    taskType,
    tokensUsed: rng.int(2_000, 400_000),
  };
  if (taskType === "async") task.asyncTriggerType = rng.weighted({ scheduled: 50, external_signal: 50 });
  return { task, lastEventMs: createdMs + rng.int(0, 3_600_000) };
}

export interface NeoBudgetRecord {
  baseAllowanceTokens: number;
  bonusTokens: number;
}

/** The budget covers the calendar month of `nowMs`. */
export function neoBudget(record: NeoBudgetRecord, consumed: number, nowMs: number): NeoTokenBudget {
  const now = new Date(nowMs);
  const windowEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000;
  const effective = record.baseAllowanceTokens + record.bonusTokens;
  return {
    baseAllowanceTokens: record.baseAllowanceTokens,
    effectiveAllowanceTokens: effective,
    consumedTokens: consumed,
    windowEnd,
    windowKind: "monthly",
    exhausted: consumed >= effective,
  };
}

/** Running tasks use tokens and may go idle; `nowMs` is the end of the tick. */
export function advanceNeoTasks(rng: Rng, tasks: readonly NeoTaskRecord[], nowMs: number): void {
  for (const record of tasks) {
    if (record.task.status !== "running") continue;
    record.task.tokensUsed = (record.task.tokensUsed ?? 0) + rng.int(1_000, 20_000);
    record.lastEventMs = nowMs - rng.int(0, 30_000);
    if (rng.chance(0.3)) record.task.status = "idle";
  }
}
