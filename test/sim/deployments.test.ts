/** The simulator's deployments: the spec's fields and formats, runs that queue and run over ticks, and pausing. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseDbTime, parseRfc3339 } from "../../src/pulumi/times.ts";
import type { DeploymentSnapshot } from "../../src/sim/deployments.ts";
import { type Api, start } from "./helpers.ts";
import { loadSpecValidator, type SpecValidator } from "./spec.ts";

let spec: SpecValidator;
let api: Api;

beforeAll(async () => {
  spec = await loadSpecValidator();
  api = await start();
});
afterAll(() => api.sim.stop());

interface Page {
  deployments: DeploymentSnapshot[];
  itemsPerPage: number;
  total: number;
}

/** Every deployment of the organization, newest first, read through the API 10 to a page. */
async function listAll(org: string): Promise<DeploymentSnapshot[]> {
  const all: DeploymentSnapshot[] = [];
  for (let page = 1; ; page++) {
    const body = await api.json<Page>(`/api/orgs/${org}/deployments?page=${page}&pageSize=10`);
    expect(spec.validate("ListOrgDeployments", body)).toEqual([]);
    all.push(...body.deployments);
    if (page * 10 >= body.total) return all;
  }
}

/** What is wrong with one deployment's times, given its status; empty when nothing is. */
function timeProblems(d: DeploymentSnapshot): string[] {
  const problems: string[] = [];
  const created = parseDbTime(d.created);
  const modified = parseDbTime(d.modified);
  if (created === undefined) problems.push(`created ${d.created}`);
  if (modified === undefined) problems.push(`modified ${d.modified}`);
  const job = d.jobs[0];
  const hasStarted = ["running", "failed", "succeeded"].includes(d.status);
  if (d.jobs.length !== 1 || job === undefined) return [...problems, `${d.jobs.length} jobs`];
  if (job.status !== d.status) problems.push(`job status ${job.status}`);
  if ((job.started !== undefined) !== hasStarted) problems.push(`started ${job.started} while ${d.status}`);
  if (job.started === undefined) return problems;
  const started = parseRfc3339(job.started);
  const updated = parseRfc3339(job.lastUpdated ?? "");
  if (started === undefined || updated === undefined)
    return [...problems, `job times ${job.started} ${job.lastUpdated}`];
  if (created !== undefined && started < created) problems.push("started before created");
  if (updated < started) problems.push("lastUpdated before started");
  return problems;
}

describe("simulated deployments", () => {
  test("every deployment has the spec's formats: created/modified without a zone, job times RFC 3339", async () => {
    api.sim.tick(5);
    let withPool = 0;
    let hosted = 0;
    for (const org of api.sim.model.orgNames()) {
      const deployments = await listAll(org);
      expect(deployments).toEqual(api.sim.model.deployments(org));
      for (const d of deployments) {
        expect({ id: d.id, problems: timeProblems(d) }).toEqual({ id: d.id, problems: [] });
        if (d.agentPool) {
          expect(["linux-runners", "gpu-runners"]).toContain(d.agentPool.name);
          withPool++;
        } else hosted++;
      }
    }
    expect(withPool).toBeGreaterThan(10);
    expect(hosted).toBeGreaterThan(10);
  });

  test("a deployment queues, runs and ends over several ticks; its job starts when it runs", async () => {
    const model = api.sim.model;
    const org = "org-1";
    const before = new Set(model.deployments(org).map((d) => d.id));
    let queued: DeploymentSnapshot | undefined;
    for (let i = 0; i < 50 && !queued; i++) {
      api.sim.tick(1);
      queued = model.deployments(org).find((d) => !before.has(d.id) && d.status === "not-started");
    }
    if (!queued) throw new Error("no new deployment was queued in 50 ticks");
    const id = queued.id;
    const seen: string[] = [queued.status];
    let started: string | undefined;
    for (let i = 0; i < 100; i++) {
      api.sim.tick(1);
      const d = model.deployments(org).find((x) => x.id === id);
      if (!d) throw new Error("the deployment went away");
      if (seen.at(-1) !== d.status) seen.push(d.status);
      if (d.status === "running") started ??= d.jobs[0]?.started;
      if (["failed", "succeeded"].includes(d.status)) {
        // Once started, the start stays; the run's end moves lastUpdated on.
        expect(d.jobs[0]?.started).toBe(started as string);
        expect(timeProblems(d)).toEqual([]);
        break;
      }
    }
    expect(seen.slice(0, 3)).toEqual(["not-started", "accepted", "running"]);
    expect(["failed", "succeeded"]).toContain(seen[3] as string);
    expect(seen).toHaveLength(4);
  });

  test("paused: the metadata and every snapshot say so, queued deployments stay queued; resumed, they move on", async () => {
    const model = api.sim.model;
    const org = "org-2";
    model.setDeploymentsPaused(org, true);
    let queued = new Set<string>();
    try {
      const metadata = await api.json<{ paused: boolean; concurrency: number }>(
        `/api/orgs/${org}/deployments/metadata`,
      );
      expect(spec.validate("OrgDeploymentsMetadata", metadata)).toEqual([]);
      expect(metadata.paused).toBe(true);
      expect(metadata.concurrency).toBe(model.deploymentSettings(org)?.concurrency ?? -1);
      const page = await api.json<Page>(`/api/orgs/${org}/deployments?page=1&pageSize=100`);
      expect(spec.validate("ListOrgDeployments", page)).toEqual([]);
      expect(new Set(page.deployments.map((d) => d.paused))).toEqual(new Set([true]));

      // New deployments arrive while paused, and wait.
      api.sim.tick(10);
      queued = new Set(
        model
          .deployments(org)
          .filter((d) => d.status === "not-started")
          .map((d) => d.id),
      );
      // A precondition of what follows, not the check itself: some deployment is queued.
      expect(queued.size).toBeGreaterThan(0);
      api.sim.tick(10);
      const after = model.deployments(org);
      expect(after.filter((d) => queued.has(d.id)).map((d) => d.status)).toEqual(
        [...queued].map(() => "not-started"),
      );
    } finally {
      model.setDeploymentsPaused(org, false);
    }
    expect((await api.json<{ paused: boolean }>(`/api/orgs/${org}/deployments/metadata`)).paused).toBe(false);
    api.sim.tick(20);
    const moved = model.deployments(org).filter((d) => queued.has(d.id) && d.status !== "not-started");
    expect(moved.length).toBe(queued.size);
  });
});
