/** The scenario a simulator plays: sizes, rates and the seed everything is derived from. */

/** A clearly fake access token for demos and tests; never a real credential. */
export const DEMO_TOKEN = "pul-simulator-demo-token-not-a-secret";

/** A fixed start (2023-11-14T22:13:20Z) so a seed always produces the same timestamps. */
export const DEFAULT_START_TIME = 1_700_000_000;

export interface PageSizes {
  /** ListUserStacks, when `maxResults` is not given. */
  stacks: number;
  /** ListOrganizationMembers. */
  members: number;
  /** ListOrgEnvironments_esc, when `maxResults` is not given. */
  environments: number;
  /** ListTasks, when `pageSize` is not given (the API allows 1-1000). */
  tasks: number;
  /** ListPolicyViolationsV2. */
  violations: number;
}

export interface ScenarioOptions {
  seed: number;
  /** Organizations, named `org-1` … `org-N`. */
  orgs: number;
  projectsPerOrg: number;
  /** Stacks across all organizations. */
  stacks: number;
  /** Initial length of each stack's update history. */
  updatesPerStack: number;
  deploymentsPerOrg: number;
  membersPerOrg: number;
  teamsPerOrg: number;
  environmentsPerOrg: number;
  /** Policy groups per organization. */
  policyGroups: number;
  /** Policy packs per organization. */
  policyPacks: number;
  violationsPerOrg: number;
  neoTasksPerOrg: number;
  /** Fraction of stacks (without a running update) that start a new update on each tick. */
  churn: number;
  /** Expected stacks created per tick (fractions are rolled). */
  stacksCreatedPerTick: number;
  /** Expected stacks deleted per tick (fractions are rolled). */
  stacksDeletedPerTick: number;
  /** Expected new deployments per organization per tick. */
  deploymentsPerTick: number;
  /** Expected new Neo tasks per organization per tick. */
  neoTasksPerTick: number;
  /** Simulated seconds one tick advances the clock. */
  tickSeconds: number;
  /** Simulated clock at the start, Unix seconds. */
  startTime: number;
  /** Organizations with no Neo token budget (GetOrgNeoTokenBudget answers 404). Default: the last one. */
  orgsWithoutNeoBudget: string[] | undefined;
  pageSizes: PageSizes;
}

export const DEFAULT_PAGE_SIZES: PageSizes = {
  // The service answers 500 stacks a page when `maxResults` is not given (pulumi/pulumi#15332: an organization of
  // ~8,000 stacks got 500 and a continuation token).
  stacks: 500,
  members: 100,
  environments: 100,
  tasks: 100,
  violations: 100,
};

export const DEFAULT_SCENARIO: ScenarioOptions = {
  seed: 1,
  orgs: 3,
  projectsPerOrg: 5,
  stacks: 300,
  updatesPerStack: 20,
  deploymentsPerOrg: 120,
  membersPerOrg: 150,
  teamsPerOrg: 6,
  environmentsPerOrg: 130,
  policyGroups: 3,
  policyPacks: 4,
  violationsPerOrg: 250,
  neoTasksPerOrg: 120,
  churn: 0.02,
  stacksCreatedPerTick: 0.5,
  stacksDeletedPerTick: 0.3,
  deploymentsPerTick: 0.5,
  neoTasksPerTick: 0.2,
  tickSeconds: 60,
  startTime: DEFAULT_START_TIME,
  orgsWithoutNeoBudget: undefined,
  pageSizes: DEFAULT_PAGE_SIZES,
};

export type ScenarioInput = Partial<Omit<ScenarioOptions, "pageSizes">> & { pageSizes?: Partial<PageSizes> };

const COUNTS = [
  "orgs",
  "projectsPerOrg",
  "stacks",
  "updatesPerStack",
  "deploymentsPerOrg",
  "membersPerOrg",
  "teamsPerOrg",
  "environmentsPerOrg",
  "policyGroups",
  "policyPacks",
  "violationsPerOrg",
  "neoTasksPerOrg",
] as const;

const RATES = [
  "stacksCreatedPerTick",
  "stacksDeletedPerTick",
  "deploymentsPerTick",
  "neoTasksPerTick",
] as const;

function fail(message: string): never {
  throw new Error(`invalid simulator option: ${message}`);
}

/** Fills in defaults and rejects values that cannot make a scenario, naming the offending option. */
export function resolveScenario(input: ScenarioInput = {}): ScenarioOptions {
  const options: ScenarioOptions = {
    ...DEFAULT_SCENARIO,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
    pageSizes: { ...DEFAULT_PAGE_SIZES, ...input.pageSizes },
  };
  if (!Number.isInteger(options.seed)) fail(`seed must be an integer (got ${options.seed})`);
  for (const key of COUNTS) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 0) fail(`${key} must be a whole number >= 0 (got ${value})`);
  }
  if (options.orgs < 1) fail("orgs must be at least 1");
  if (options.projectsPerOrg < 1) fail("projectsPerOrg must be at least 1");
  if (!(options.churn >= 0 && options.churn <= 1))
    fail(`churn must be between 0 and 1 (got ${options.churn})`);
  for (const key of RATES) {
    const value = options[key];
    if (!(Number.isFinite(value) && value >= 0)) fail(`${key} must be a number >= 0 (got ${value})`);
  }
  if (!(Number.isInteger(options.tickSeconds) && options.tickSeconds >= 1)) {
    fail(`tickSeconds must be a whole number >= 1 (got ${options.tickSeconds})`);
  }
  if (!(Number.isInteger(options.startTime) && options.startTime > 86_400 * 400)) {
    fail(`startTime must be Unix seconds (got ${options.startTime})`);
  }
  for (const [key, value] of Object.entries(options.pageSizes)) {
    if (!Number.isInteger(value) || value < 1)
      fail(`pageSizes.${key} must be a whole number >= 1 (got ${value})`);
  }
  return options;
}

export function orgNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `org-${i + 1}`);
}
