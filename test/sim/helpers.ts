/** Shared pieces of the simulator tests: a running simulator and an authenticated fetch. */
import { type RunningSimulator, type StartOptions, startSimulator } from "../../src/sim/server.ts";

/** A small scenario that still has every kind of data and needs paging everywhere with small page sizes. */
export const SMALL: StartOptions = {
  seed: 7,
  orgs: 3,
  projectsPerOrg: 3,
  stacks: 60,
  updatesPerStack: 12,
  deploymentsPerOrg: 35,
  membersPerOrg: 23,
  teamsPerOrg: 3,
  environmentsPerOrg: 17,
  policyGroups: 2,
  policyPacks: 3,
  violationsPerOrg: 29,
  neoTasksPerOrg: 21,
  pageSizes: { stacks: 7, members: 5, environments: 4, tasks: 6, violations: 8 },
};

export interface Api {
  sim: RunningSimulator;
  get(path: string, init?: RequestInit): Promise<Response>;
  /** GET, expect 200, parse JSON. */
  json<T = Record<string, unknown>>(path: string): Promise<T>;
}

export function api(sim: RunningSimulator): Api {
  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${sim.url}${path}`, {
      ...init,
      headers: { authorization: `token ${sim.token}`, ...init.headers },
    });
  return {
    sim,
    get,
    async json<T>(path: string): Promise<T> {
      const response = await get(path);
      if (response.status !== 200)
        throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
  };
}

export async function start(options: StartOptions = SMALL): Promise<Api> {
  return api(await startSimulator(options));
}
