/**
 * The simulated Pulumi Cloud: organizations, stacks with update histories, deployments, members, policies, ESC
 * and Neo, all derived from a seed, plus a clock that moves them forward. Tests read the truth from here.
 */
import type {
  DeploymentCounts,
  NeoTask,
  NeoTokenBudget,
  OrganizationMember,
  OrgEnvironment,
  PolicyGroup,
  PolicyPack,
  PolicyResultsMetadata,
  PolicyViolation,
  StackSummary,
  StackUpdate,
  Team,
} from "../pulumi/types.ts";
import {
  type DeploymentRecord,
  type DeploymentSnapshot,
  type DeploymentTarget,
  initialStatuses,
  OrgDeployments,
  toDeploymentSnapshot,
  type UserInfo,
} from "./deployments.ts";
import { PROJECT_NAMES, STACK_ENVIRONMENTS } from "./names.ts";
import { orgNames, resolveScenario, type ScenarioInput, type ScenarioOptions } from "./options.ts";
import {
  advanceNeoTasks,
  makeEnvironments,
  makeMembers,
  makeNeoTask,
  makePolicyGroups,
  makePolicyPacks,
  makeTeams,
  makeViolations,
  type NeoBudgetRecord,
  type NeoTaskRecord,
  neoBudget,
  nthName,
  type PolicyPackRecord,
} from "./org-data.ts";
import { hashSeed, Rng } from "./random.ts";
import {
  StackRecord,
  type StackRef,
  StackStore,
  seedHistory,
  stackKey,
  startUpdate,
  toStackSummary,
  toStackUpdate,
  type UpdateRecord,
} from "./stacks.ts";

export interface OrgState {
  name: string;
  projects: string[];
  members: OrganizationMember[];
  users: UserInfo[];
  teams: Team[];
  environments: OrgEnvironment[];
  policyGroups: PolicyGroup[];
  policyPacks: PolicyPackRecord[];
  violations: PolicyViolation[];
  neoTasks: NeoTaskRecord[];
  /** Undefined for an organization without a Neo token budget. */
  neoBudget: NeoBudgetRecord | undefined;
  deployments: OrgDeployments;
}

export interface TickReport {
  /** Ticks since the start. */
  tick: number;
  /** The simulated clock after the tick, Unix seconds. */
  now: number;
  stacksCreated: StackRef[];
  stacksDeleted: StackRef[];
  updatesStarted: number;
  updatesFinished: number;
}

/**
 * What happened in one tick, for listeners such as the webhook sender. Deployments are copies as of the end of
 * the tick (the records move on).
 */
export type SimEvent =
  | { readonly type: "stack-created" | "stack-deleted"; readonly ref: StackRef }
  | { readonly type: "update-finished"; readonly ref: StackRef; readonly update: UpdateRecord }
  | { readonly type: "deployment-status"; readonly org: string; readonly deployment: DeploymentRecord };

/** Told of every tick's events, in the order they happened. */
export type TickListener = (tick: number, events: readonly SimEvent[]) => void;

export interface OrgSummary {
  name: string;
  stacks: number;
  runningUpdates: number;
  deployments: DeploymentCounts;
  members: number;
  teams: number;
  environments: number;
  policyGroups: number;
  policyPacks: number;
  violations: number;
  neoTasks: number;
  neoBudget: NeoTokenBudget | null;
}

const DAY = 86_400;

function refOf(stack: StackRecord): StackRef {
  return { org: stack.org, project: stack.project, stack: stack.name };
}

export class SimModel {
  readonly options: ScenarioOptions;
  readonly stacks = new StackStore();
  readonly #orgs = new Map<string, OrgState>();
  readonly #stackNames = new Map<string, number>();
  #now: number;
  #ticks = 0;
  readonly #listeners: TickListener[] = [];

  constructor(input: ScenarioInput = {}) {
    this.options = resolveScenario(input);
    this.#now = this.options.startTime;
    this.#generate(new Rng(hashSeed(this.options.seed, 1)));
  }

  /** The simulated clock, Unix seconds. */
  get now(): number {
    return this.#now;
  }

  get ticks(): number {
    return this.#ticks;
  }

  orgNames(): string[] {
    return [...this.#orgs.keys()];
  }

  org(name: string): OrgState | undefined {
    return this.#orgs.get(name);
  }

  #nextStackName(org: string, project: string): string {
    const key = `${org}/${project}`;
    const n = this.#stackNames.get(key) ?? 0;
    this.#stackNames.set(key, n + 1);
    return nthName(STACK_ENVIRONMENTS, n);
  }

  #generate(rng: Rng): void {
    const o = this.options;
    const nowMs = this.#now * 1000;
    const names = orgNames(o.orgs);
    const withoutBudget = new Set(o.orgsWithoutNeoBudget ?? (names.length >= 2 ? names.slice(-1) : []));
    for (const name of names) {
      const offset = rng.int(0, PROJECT_NAMES.length - 1);
      const projects = Array.from({ length: o.projectsPerOrg }, (_, i) => nthName(PROJECT_NAMES, offset + i));
      const members = makeMembers(rng, o.membersPerOrg, nowMs);
      const users = members.map((m) => m.user);
      this.#orgs.set(name, {
        name,
        projects,
        members,
        users,
        teams: makeTeams(rng, o.teamsPerOrg, members),
        environments: makeEnvironments(rng, name, projects, o.environmentsPerOrg, users, nowMs),
        policyGroups: [],
        policyPacks: makePolicyPacks(rng, o.policyPacks),
        violations: [],
        neoTasks: [],
        neoBudget: withoutBudget.has(name) ? undefined : { baseAllowanceTokens: 0, bonusTokens: 0 },
        deployments: new OrgDeployments(rng.int(1, 10)),
      });
    }

    for (let i = 0; i < o.stacks; i++) {
      const org = this.#orgs.get(rng.pick(names)) as OrgState;
      const project = rng.pick(org.projects);
      const createdAt =
        this.#now - rng.int(o.updatesPerStack * 4 * DAY + DAY, o.updatesPerStack * 4 * DAY + 400 * DAY);
      const stack = new StackRecord(
        rng.uuid(),
        org.name,
        project,
        this.#nextStackName(org.name, project),
        createdAt,
      );
      // The first stack always has an update running so even tiny scenarios show one.
      seedHistory(rng, stack, o.updatesPerStack, this.#now, i === 0 || rng.chance(0.06));
      this.stacks.add(stack);
    }

    for (const org of this.#orgs.values()) {
      const targets = this.#targets(org);
      this.#seedDeployments(rng, org, targets, nowMs);
      org.policyGroups = makePolicyGroups(rng, o.policyGroups, targets.length, o.policyPacks);
      org.violations = makeViolations(rng, o.violationsPerOrg, org.policyPacks, targets, nowMs);
      for (let i = 0; i < o.neoTasksPerOrg; i++) {
        const created = nowMs - rng.int(0, 60 * DAY * 1000);
        org.neoTasks.push(makeNeoTask(rng, org.users, targets, created, i === 0 || rng.chance(0.1)));
      }
      if (org.neoBudget) {
        const consumed = this.#neoConsumed(org);
        org.neoBudget.baseAllowanceTokens =
          Math.max(1, Math.ceil((consumed * (1.5 + rng.float() * 1.5)) / 1e6)) * 1e6;
        org.neoBudget.bonusTokens = rng.chance(0.3) ? 500_000 : 0;
      }
    }
  }

  #targets(org: OrgState): DeploymentTarget[] {
    return [...this.stacks.list(`${org.name}/`)].map((s) => ({ project: s.project, stack: s.name }));
  }

  #seedDeployments(rng: Rng, org: OrgState, targets: DeploymentTarget[], nowMs: number): void {
    const n = this.options.deploymentsPerOrg;
    const statuses = initialStatuses(rng, n);
    const spacing = Math.max(60_000, Math.floor((30 * DAY * 1000) / Math.max(1, n)));
    const fallback = { project: org.projects[0] ?? "default", stack: "dev" };
    // Oldest first, so versions grow with time; statuses are listed newest first.
    for (let j = n - 1; j >= 0; j--) {
      const created = nowMs - j * spacing - rng.int(1_000, spacing - 1);
      const target = targets.length > 0 ? rng.pick(targets) : fallback;
      const user =
        org.users.length > 0 ? rng.pick(org.users) : { name: "Pulumi", githubLogin: "pulumi", avatarUrl: "" };
      org.deployments.add(rng, target, statuses[j] ?? "succeeded", created, user);
    }
  }

  #neoConsumed(org: OrgState): number {
    return org.neoTasks.reduce((sum, t) => sum + (t.task.tokensUsed ?? 0), 0);
  }

  /** Calls `listener` after every tick with what happened in it; returns how to stop. */
  onTick(listener: TickListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const at = this.#listeners.indexOf(listener);
      if (at >= 0) this.#listeners.splice(at, 1);
    };
  }

  /** Advances the clock `n` ticks, applying churn each time. */
  tick(n = 1): TickReport {
    if (!(Number.isInteger(n) && n >= 0))
      throw new Error(`tick count must be a whole number >= 0 (got ${n})`);
    const report: TickReport = {
      tick: this.#ticks,
      now: this.#now,
      stacksCreated: [],
      stacksDeleted: [],
      updatesStarted: 0,
      updatesFinished: 0,
    };
    for (let i = 0; i < n; i++) {
      // Events are only gathered for someone who listens.
      const events: SimEvent[] | undefined = this.#listeners.length > 0 ? [] : undefined;
      this.#tickOnce(report, events);
      if (events !== undefined) for (const listener of [...this.#listeners]) listener(this.#ticks, events);
    }
    return report;
  }

  #tickOnce(report: TickReport, events: SimEvent[] | undefined): void {
    const o = this.options;
    this.#ticks++;
    this.#now += o.tickSeconds;
    const now = this.#now;
    const nowMs = now * 1000;
    const rng = new Rng(hashSeed(o.seed, 2, this.#ticks));
    report.tick = this.#ticks;
    report.now = now;

    for (const stack of this.stacks.values()) {
      if (!stack.finishIfDue(now)) continue;
      report.updatesFinished++;
      events?.push({ type: "update-finished", ref: refOf(stack), update: stack.update(stack.updateCount) });
    }

    const deletions = rng.count(o.stacksDeletedPerTick);
    for (let i = 0; i < deletions && this.stacks.size > 0; i++) {
      const key = this.stacks.keyAt(rng.int(0, this.stacks.size - 1)) as string;
      const removed = this.stacks.remove(key);
      if (removed) {
        report.stacksDeleted.push(refOf(removed));
        events?.push({ type: "stack-deleted", ref: refOf(removed) });
      }
    }

    const names = this.orgNames();
    const creations = rng.count(o.stacksCreatedPerTick);
    for (let i = 0; i < creations; i++) {
      const org = this.#orgs.get(rng.pick(names)) as OrgState;
      const project = rng.pick(org.projects);
      const createdAt = now - rng.int(0, o.tickSeconds - 1);
      const stack = new StackRecord(
        rng.uuid(),
        org.name,
        project,
        this.#nextStackName(org.name, project),
        createdAt,
      );
      this.stacks.add(stack);
      report.stacksCreated.push(refOf(stack));
      events?.push({ type: "stack-created", ref: refOf(stack) });
    }

    for (const stack of this.stacks.values()) {
      if (stack.isRunning || !rng.chance(o.churn)) continue;
      startUpdate(rng, stack, now, o.tickSeconds);
      report.updatesStarted++;
      // A short update can be over within the tick it started in.
      if (!stack.isRunning)
        events?.push({ type: "update-finished", ref: refOf(stack), update: stack.update(stack.updateCount) });
    }

    for (const org of this.#orgs.values()) {
      const moved = (deployment: DeploymentRecord) =>
        events?.push({ type: "deployment-status", org: org.name, deployment: { ...deployment } });
      org.deployments.advance(rng, nowMs, events === undefined ? undefined : moved);
      const targets = this.#targets(org);
      const added = rng.count(o.deploymentsPerTick);
      for (let i = 0; i < added && targets.length > 0; i++) {
        const user = rng.pick(
          org.users.length > 0 ? org.users : [{ name: "Pulumi", githubLogin: "pulumi", avatarUrl: "" }],
        );
        org.deployments.add(
          rng,
          rng.pick(targets),
          "not-started",
          nowMs - rng.int(0, o.tickSeconds * 1000 - 1),
          user,
        );
        const queued = org.deployments.records.at(-1);
        if (queued !== undefined) moved(queued);
      }
      advanceNeoTasks(rng, org.neoTasks, nowMs);
      const tasks = rng.count(o.neoTasksPerTick);
      for (let i = 0; i < tasks; i++) {
        org.neoTasks.push(
          makeNeoTask(rng, org.users, targets, nowMs - rng.int(0, o.tickSeconds * 1000 - 1), true),
        );
      }
    }
  }

  // ---- Truth: the same objects the API serves, for tests and the demo to compare against. ----

  /** Live stacks in the order ListUserStacks returns them (by org, project, stack). */
  listStacks(org?: string): StackSummary[] {
    return [...this.stacks.list(org === undefined ? undefined : `${org}/`)].map(toStackSummary);
  }

  stack(ref: StackRef): StackRecord | undefined {
    return this.stacks.get(stackKey(ref.org, ref.project, ref.stack));
  }

  /** The whole update history of a live stack, newest first; undefined for an unknown stack. */
  stackUpdates(ref: StackRef): StackUpdate[] | undefined {
    const stack = this.stack(ref);
    return stack?.updatesNewestFirst(0, stack.updateCount).map(toStackUpdate);
  }

  /** Every deployment of the organization, newest first. */
  deployments(org: string): DeploymentSnapshot[] {
    const deployments = this.#orgs.get(org)?.deployments;
    return [...(deployments?.records ?? [])]
      .reverse()
      .map((d) => toDeploymentSnapshot(d, deployments?.paused));
  }

  /** Pauses (or resumes) the organization's deployments: queued ones stay `not-started` while paused. */
  setDeploymentsPaused(org: string, paused: boolean): void {
    const deployments = this.#orgs.get(org)?.deployments;
    if (!deployments) throw new Error(`unknown organization ${org}`);
    deployments.paused = paused;
  }

  deploymentCounts(org: string): DeploymentCounts | undefined {
    return this.#orgs.get(org)?.deployments.counts();
  }

  /** The deployments metadata's limit and pause, as `OrgDeploymentsMetadata` serves them. */
  deploymentSettings(org: string): { readonly concurrency: number; readonly paused: boolean } | undefined {
    const deployments = this.#orgs.get(org)?.deployments;
    return deployments ? { concurrency: deployments.concurrency, paused: deployments.paused } : undefined;
  }

  members(org: string): OrganizationMember[] {
    return this.#orgs.get(org)?.members ?? [];
  }

  teams(org: string): Team[] {
    return this.#orgs.get(org)?.teams ?? [];
  }

  environments(org: string): OrgEnvironment[] {
    return this.#orgs.get(org)?.environments ?? [];
  }

  policyGroups(org: string): PolicyGroup[] {
    return this.#orgs.get(org)?.policyGroups ?? [];
  }

  policyPacks(org: string): PolicyPack[] {
    return (this.#orgs.get(org)?.policyPacks ?? []).map((p) => p.pack);
  }

  violations(org: string): PolicyViolation[] {
    return this.#orgs.get(org)?.violations ?? [];
  }

  policyResultsMetadata(org: string): PolicyResultsMetadata | undefined {
    const state = this.#orgs.get(org);
    if (!state) return undefined;
    let resources = 0;
    for (const stack of this.stacks.list(`${org}/`)) resources += stack.resourceCount;
    return {
      policyTotalCount: state.policyPacks.reduce((sum, p) => sum + p.policies.length, 0),
      policyWithIssuesCount: new Set(state.violations.map((v) => `${v.policyPack}/${v.policyName}`)).size,
      resourcesTotalCount: resources,
      resourcesWithIssuesCount: new Set(state.violations.map((v) => v.resourceURN)).size,
    };
  }

  /** Neo tasks, newest event first (the API's default order). */
  neoTasks(org: string): NeoTask[] {
    return [...(this.#orgs.get(org)?.neoTasks ?? [])]
      .sort((a, b) => b.lastEventMs - a.lastEventMs || a.task.id.localeCompare(b.task.id))
      .map((r) => r.task);
  }

  /** Null for an organization without a budget (the API answers 404); undefined for an unknown one. */
  neoBudget(org: string): NeoTokenBudget | null | undefined {
    const state = this.#orgs.get(org);
    if (!state) return undefined;
    if (!state.neoBudget) return null;
    return neoBudget(state.neoBudget, this.#neoConsumed(state), this.#now * 1000);
  }

  summary(): { now: number; ticks: number; orgs: OrgSummary[] } {
    const orgs = [...this.#orgs.values()].map((org): OrgSummary => {
      let stacks = 0;
      let runningUpdates = 0;
      for (const stack of this.stacks.list(`${org.name}/`)) {
        stacks++;
        if (stack.isRunning) runningUpdates++;
      }
      return {
        name: org.name,
        stacks,
        runningUpdates,
        deployments: org.deployments.counts(),
        members: org.members.length,
        teams: org.teams.length,
        environments: org.environments.length,
        policyGroups: org.policyGroups.length,
        policyPacks: org.policyPacks.length,
        violations: org.violations.length,
        neoTasks: org.neoTasks.length,
        neoBudget: this.neoBudget(org.name) ?? null,
      };
    });
    return { now: this.#now, ticks: this.#ticks, orgs };
  }
}
