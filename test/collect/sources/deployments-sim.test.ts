/**
 * The deployments source against the simulator through the real client: over 30 ticks, one run per tick, with a
 * restart through the state file and a malformed item, the events are exactly what the simulator's truth says.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type DeploymentEvent,
  type DeploymentRunsState,
  deploymentRunsCodec,
  deploymentRunsSource,
} from "../../../src/collect/sources/deployments.ts";
import { DropTally } from "../../../src/collect/state-check.ts";
import type { Operation } from "../../../src/pulumi/api.ts";
import { createPulumiClient } from "../../../src/pulumi/client.ts";
import { parseDbTime, parseRfc3339 } from "../../../src/pulumi/times.ts";
import type { DeploymentSnapshot } from "../../../src/sim/deployments.ts";
import { type Api, SMALL, start } from "../../sim/helpers.ts";
import { ALONE } from "../../support/source-input.ts";

let api: Api;
beforeAll(async () => {
  // About 12 new deployments a tick, and each run reads down to the oldest still unfinished: some runs read past
  // the first page of 50.
  api = await start({ ...SMALL, deploymentsPerOrg: 120, deploymentsPerTick: 12 });
});
afterAll(() => api.sim.stop());

const UNFINISHED = new Set(["not-started", "accepted", "running"]);

function startedMs(d: DeploymentSnapshot): number | undefined {
  const started = d.jobs[0]?.started;
  return started === undefined ? undefined : parseRfc3339(started);
}

/** The events' values, as sorted keys: what must be equal to the truth. */
function keys(events: readonly DeploymentEvent[]): string[] {
  return events
    .map((e) =>
      e.kind === "started"
        ? `started ${e.org} ${e.operation} ${e.agentPool} ${e.queueWaitSeconds}`
        : `finished ${e.org} ${e.operation} ${e.agentPool} ${e.result} ${e.durationSeconds}`,
    )
    .sort();
}

/** What the source must have reported for `org`, given what the simulator held at the baseline. */
function expected(org: string, baseline: readonly DeploymentSnapshot[], now: readonly DeploymentSnapshot[]) {
  const known = new Set(baseline.map((d) => d.id));
  const unfinished = new Set(baseline.filter((d) => UNFINISHED.has(d.status)).map((d) => d.id));
  const startedThen = new Set(baseline.filter((d) => startedMs(d) !== undefined).map((d) => d.id));
  const events: DeploymentEvent[] = [];
  for (const d of now) {
    const labels = { org, operation: d.pulumiOperation, agentPool: d.agentPool?.name ?? "pulumi-hosted" };
    const created = parseDbTime(d.created) as number;
    const started = startedMs(d);
    const tracked = unfinished.has(d.id) || !known.has(d.id);
    if (started !== undefined && (!known.has(d.id) || (unfinished.has(d.id) && !startedThen.has(d.id))))
      events.push({ kind: "started", ...labels, queueWaitSeconds: (started - created) / 1000 });
    if (tracked && !UNFINISHED.has(d.status)) {
      const ended = parseRfc3339(d.jobs.at(-1)?.lastUpdated ?? "");
      const duration = started === undefined || ended === undefined ? undefined : (ended - started) / 1000;
      events.push({
        kind: "finished",
        ...labels,
        result: d.status as "succeeded" | "failed" | "skipped",
        ...(duration === undefined ? {} : { durationSeconds: duration }),
      });
    }
  }
  return events;
}

describe("deployments source against the simulator", () => {
  test("30 runs over 30 ticks, a restart and a malformed item: every event once, as the truth says", async () => {
    const model = api.sim.model;
    const requests: Operation[] = [];
    const dropped: Array<[Operation, number]> = [];
    const client = createPulumiClient({
      baseUrl: api.sim.url,
      token: api.sim.token,
      retry: { maxRetries: 0 },
      hooks: {
        onRequest: (operation) => requests.push(operation),
        onDropped: (operation, count) => dropped.push([operation, count]),
      },
    });
    const orgs = model.orgNames();
    const baselineSeconds = model.now;
    const baseline = new Map(orgs.map((org) => [org, model.deployments(org)]));
    const states = new Map<string, DeploymentRunsState | undefined>();
    const events: DeploymentEvent[] = [];
    const cycle = async (): Promise<number> => {
      requests.length = 0;
      for (const org of orgs) {
        const output = await deploymentRunsSource.run({
          ...ALONE,
          api: client,
          org,
          previous: states.get(org),
          now: new Date(model.now * 1000),
          baselineSeconds,
        });
        states.set(org, output.state);
        events.push(...(output.events ?? []));
      }
      return requests.length;
    };

    expect(await cycle()).toBe(orgs.length);
    expect(events).toEqual([]);
    // Nothing changed: one call per organization, nothing counted.
    expect(await cycle()).toBe(orgs.length);
    expect(events).toEqual([]);

    let mostCalls = 0;
    for (let tick = 1; tick <= 30; tick++) {
      api.sim.tick(1);
      if (tick === 10) {
        for (const org of orgs) {
          const tally = new DropTally();
          const saved = JSON.parse(
            JSON.stringify(deploymentRunsCodec.save(states.get(org) as DeploymentRunsState)),
          );
          states.set(org, deploymentRunsCodec.load(saved, `deployments.${org}`, tally));
          expect(tally.total).toBe(0);
        }
      }
      if (tick === 20)
        api.sim.setFaults([{ type: "invalid-item", operation: "ListOrgDeployments", times: 1 }]);
      mostCalls = Math.max(mostCalls, await cycle());
    }
    expect(mostCalls).toBeGreaterThan(orgs.length);
    expect(dropped).toEqual([["ListOrgDeployments", 1]]);

    const truth = orgs.flatMap((org) => expected(org, baseline.get(org) ?? [], model.deployments(org)));
    expect(truth.filter((e) => e.kind === "finished").length).toBeGreaterThan(5);
    expect(truth.filter((e) => e.kind === "started").length).toBeGreaterThan(5);
    expect(keys(events)).toEqual(keys(truth));
  });
});
