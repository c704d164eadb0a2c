/**
 * The simulator's drift: StackDeploymentsMetadata follows each stack's drift deployments over ticks (a detection
 * that finds drift is followed by a remediation that clears it), and its faults apply as on every route.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { DeploymentSnapshot } from "../../src/sim/deployments.ts";
import { type Api, SMALL, start } from "./helpers.ts";
import { loadSpecValidator } from "./spec.ts";

let current: Api | undefined;
afterEach(() => {
  current?.sim.stop();
  current = undefined;
});

interface Metadata {
  drift?: { driftDetected: boolean; latestDriftRun: string; runInProgress: boolean };
}

const metadataPath = (org: string, project: string, stack: string) =>
  `/api/stacks/${org}/${project}/${stack}/deployments/metadata`;

describe("drift over ticks", () => {
  test("a detection finds drift (1), the remediation that follows clears it (0); every body is the spec's", async () => {
    const spec = await loadSpecValidator();
    current = await start({ ...SMALL, deploymentsPerTick: 5 });
    const api = current;
    const model = api.sim.model;
    const recordsOf = (org: string) => model.org(org)?.deployments.records ?? [];
    const before = new Set(model.orgNames().flatMap((org) => recordsOf(org).map((d) => d.id)));
    const read = async (org: string, d: { project: string; stack: string }) => {
      const body = await api.json<Metadata>(metadataPath(org, d.project, d.stack));
      expect(spec.validate("StackDeploymentsMetadata", body)).toEqual([]);
      return body.drift;
    };
    // Detections made during the ticks that found drift, each with the remediation queued after it.
    let checked = 0;
    for (let tick = 0; tick < 200 && checked === 0; tick++) {
      api.sim.tick(1);
      for (const org of model.orgNames()) {
        for (const detection of recordsOf(org)) {
          if (before.has(detection.id) || detection.operation !== "detect-drift") continue;
          const drift = await read(org, detection);
          if (drift?.latestDriftRun !== detection.id || !drift.driftDetected) continue;
          before.add(detection.id);
          const remediation = recordsOf(org).find(
            (d) =>
              !before.has(d.id) &&
              d.operation === "remediate-drift" &&
              d.project === detection.project &&
              d.stack === detection.stack &&
              d.createdMs >= detection.modifiedMs,
          );
          if (!remediation) throw new Error(`no remediation queued after ${detection.id}`);
          expect(drift).toEqual({ driftDetected: true, latestDriftRun: detection.id, runInProgress: true });
          for (
            let more = 0;
            more < 50 && ["not-started", "accepted", "running"].includes(remediation.status);
            more++
          )
            api.sim.tick(1);
          const after = await read(org, detection);
          if (remediation.status !== "succeeded" || after?.latestDriftRun !== remediation.id) continue;
          expect(after).toEqual({
            driftDetected: false,
            latestDriftRun: remediation.id,
            runInProgress: after.runInProgress,
          });
          checked++;
        }
      }
    }
    expect(checked).toBe(1);
  });

  test("each stack's drift is its latest successful drift deployment as the stack's deployment list shows it", async () => {
    current = await start(SMALL);
    const api = current;
    api.sim.tick(10);
    let withDrift = 0;
    for (const s of api.sim.model.listStacks()) {
      const base = `/api/stacks/${s.orgName}/${s.projectName}/${s.stackName}`;
      const list = await api.json<{ deployments: DeploymentSnapshot[] }>(`${base}/deployments?pageSize=100`);
      const runs = list.deployments.filter(
        (d) => d.pulumiOperation === "detect-drift" || d.pulumiOperation === "remediate-drift",
      );
      const latest = runs
        .filter((d) => d.status === "succeeded")
        .sort((a, b) => (a.modified < b.modified ? 1 : a.modified > b.modified ? -1 : 0))[0];
      const { drift } = await api.json<Metadata>(`${base}/deployments/metadata`);
      expect(drift?.latestDriftRun).toBe(latest?.id);
      if (drift) {
        withDrift++;
        expect(drift.runInProgress).toBe(
          runs.some((d) => !["succeeded", "failed", "skipped"].includes(d.status)),
        );
        if (latest?.pulumiOperation === "remediate-drift") expect(drift.driftDetected).toBe(false);
      }
    }
    expect(withDrift).toBe(9);
  });
});

describe("faults", () => {
  test("a status fault for one organization's drift reads answers 403 there, the other organizations as before", async () => {
    current = await start({
      ...SMALL,
      faults: [{ type: "status", status: 403, operation: "StackDeploymentsMetadata", org: "org-2" }],
    });
    const api = current;
    const stacks = api.sim.model.listStacks();
    const of = (org: string) => stacks.find((s) => s.orgName === org) ?? expect.unreachable();
    const two = of("org-2");
    const one = of("org-1");
    expect((await api.get(metadataPath("org-2", two.projectName, two.stackName))).status).toBe(403);
    expect((await api.get(metadataPath("org-1", one.projectName, one.stackName))).status).toBe(200);
    expect(api.sim.stats().operations.StackDeploymentsMetadata).toEqual({
      calls: 2,
      statuses: { "403": 1, "200": 1 },
      faults: { status: 1 },
      injectedDelayMs: 0,
    });
  });
});
