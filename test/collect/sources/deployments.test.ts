/** The deployments source over successive runs against an in-memory API: what is counted, once, and what it costs. */
import { describe, expect, test } from "bun:test";
import type { OrgSourceOutput } from "../../../src/collect/source.ts";
import {
  applyDeployments,
  DEPLOYMENTS_PAGE_SIZE,
  type DeploymentEvent,
  type DeploymentRunsState,
  deploymentRunsCodec,
  deploymentRunsSource,
  EMPTY_DEPLOYMENT_RUNS_STATE,
  MAX_AGENT_POOLS,
  MAX_UNFINISHED,
} from "../../../src/collect/sources/deployments.ts";
import { DropTally } from "../../../src/collect/state-check.ts";
import type { DeploymentRun, DeploymentRunJob } from "../../../src/pulumi/api.ts";
import { finished, started } from "../../support/deployment-events.ts";
import { FakeApi, fakeOrg } from "../../support/fake-api.ts";
import { ALONE } from "../../support/source-input.ts";

/** The exporter's first cycle began here (Unix ms); every time below is relative to it. */
const T0 = Date.UTC(2026, 4, 20, 12, 0, 0);
const s = (seconds: number) => T0 + seconds * 1000;

interface Spec {
  status: string;
  operation?: string;
  pool?: string;
  /** Seconds after T0. */
  started?: number;
  lastUpdated?: number;
  jobs?: DeploymentRunJob[];
}

function run(id: string, createdSeconds: number, spec: Spec): DeploymentRun {
  const job: DeploymentRunJob = {
    ...(spec.started === undefined ? {} : { startedMs: s(spec.started) }),
    ...(spec.lastUpdated === undefined ? {} : { lastUpdatedMs: s(spec.lastUpdated) }),
  };
  return {
    id,
    createdMs: s(createdSeconds),
    status: spec.status,
    operation: spec.operation ?? "update",
    ...(spec.pool === undefined ? {} : { agentPool: spec.pool }),
    jobs: spec.jobs ?? [job],
  };
}

class Harness {
  readonly api = new FakeApi();
  state: DeploymentRunsState | undefined;
  /** `baselineSeconds` of every run (Unix seconds). */
  baselineSeconds = T0 / 1000;

  constructor(runs: DeploymentRun[] = []) {
    this.api.orgs.set("acme", fakeOrg({ deploymentRuns: runs }));
  }

  get runs(): DeploymentRun[] {
    return this.api.orgs.get("acme")?.deploymentRuns ?? [];
  }

  /** Adds a deployment (the newest) or replaces the one with its id. */
  put(d: DeploymentRun): void {
    const i = this.runs.findIndex((r) => r.id === d.id);
    if (i >= 0) this.runs[i] = d;
    else this.runs.push(d);
  }

  async cycle(): Promise<{
    events: readonly DeploymentEvent[];
    calls: number;
    output: OrgSourceOutput<DeploymentRunsState, DeploymentEvent>;
  }> {
    this.api.resetCalls();
    const output = await deploymentRunsSource.run({
      ...ALONE,
      api: this.api,
      org: "acme",
      previous: this.state,
      now: new Date(s(0)),
      baselineSeconds: this.baselineSeconds,
    });
    this.state = output.state;
    return { events: output.events ?? [], calls: this.api.calls.get("ListOrgDeployments") ?? 0, output };
  }

  /** A restart with the state file: the state goes through JSON and is checked on load. */
  restart(): DropTally {
    const tally = new DropTally();
    const saved = JSON.parse(
      JSON.stringify(deploymentRunsCodec.save(this.state ?? EMPTY_DEPLOYMENT_RUNS_STATE)),
    );
    this.state = deploymentRunsCodec.load(saved, "sources.deployments.acme", tally);
    return tally;
  }
}

/** History at the first look: finished long ago, one running, one queued. */
function history(): DeploymentRun[] {
  return [
    run("old-1", -3600, { status: "succeeded", started: -3590, lastUpdated: -3500 }),
    run("old-2", -1800, { status: "failed", started: -1790, lastUpdated: -1700 }),
    run("old-3", -900, { status: "skipped", jobs: [] }),
    run("run-1", -120, { status: "running", started: -100, lastUpdated: -10 }),
    run("queued-1", -60, { status: "not-started", jobs: [] }),
  ];
}

describe("deployments source: counting over runs", () => {
  test("the baseline: nothing already terminal is counted, not even on the next run; one call each", async () => {
    const h = new Harness(history());
    expect(await h.cycle()).toMatchObject({ events: [], calls: 1 });
    expect(h.state).toEqual({
      newestCreatedMs: s(-60),
      newestIds: ["queued-1"],
      unfinished: [
        { id: "run-1", createdMs: s(-120), started: true, misses: 0 },
        { id: "queued-1", createdMs: s(-60), started: false, misses: 0 },
      ],
      pools: [],
      abandoned: 0,
    });
    expect(await h.cycle()).toMatchObject({ events: [], calls: 1 });
  });

  test("not-started, then running, then succeeded: queue wait once when it starts, counted once with its duration", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.put(run("new-1", 10, { status: "not-started", pool: "runners", operation: "preview", jobs: [] }));
    expect((await h.cycle()).events).toEqual([]);
    h.put(run("new-1", 10, { status: "accepted", pool: "runners", operation: "preview", jobs: [{}] }));
    expect((await h.cycle()).events).toEqual([]);
    h.put(
      run("new-1", 10, {
        status: "running",
        pool: "runners",
        operation: "preview",
        started: 40,
        lastUpdated: 50,
      }),
    );
    expect((await h.cycle()).events).toEqual([started(30, { operation: "preview", agentPool: "runners" })]);
    h.put(
      run("new-1", 10, {
        status: "running",
        pool: "runners",
        operation: "preview",
        started: 40,
        lastUpdated: 90,
      }),
    );
    expect((await h.cycle()).events).toEqual([]);
    h.put(
      run("new-1", 10, {
        status: "succeeded",
        pool: "runners",
        operation: "preview",
        started: 40,
        lastUpdated: 160,
      }),
    );
    expect((await h.cycle()).events).toEqual([
      finished({ result: "succeeded", operation: "preview", agentPool: "runners", durationSeconds: 120 }),
    ]);
    const after = await h.cycle();
    expect(after).toMatchObject({ events: [], calls: 1 });
    expect(h.state?.pools).toEqual(["runners"]);
  });

  test("deployments seen unfinished at the baseline are counted when they end; the running one's queue wait is history", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.put(run("run-1", -120, { status: "failed", started: -100, lastUpdated: 80 }));
    h.put(run("queued-1", -60, { status: "running", started: 30 }));
    expect((await h.cycle()).events).toEqual([
      finished({ result: "failed", durationSeconds: 180 }),
      started(90),
    ]);
    h.put(run("queued-1", -60, { status: "succeeded", started: 30, lastUpdated: 45 }));
    expect((await h.cycle()).events).toEqual([finished({ result: "succeeded", durationSeconds: 15 })]);
    expect(h.state?.unfinished).toEqual([]);
  });

  test("one first seen terminal after start is counted, with its queue wait; one without jobs has no duration", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.put(run("new-1", 5, { status: "succeeded", started: 8, lastUpdated: 20 }));
    h.put(run("new-2", 6, { status: "skipped", jobs: [] }));
    h.put(
      run("new-3", 7, {
        status: "failed",
        pool: "gpu",
        operation: "destroy",
        jobs: [
          { startedMs: s(9), lastUpdatedMs: s(10) },
          { startedMs: s(11), lastUpdatedMs: s(19) },
        ],
      }),
    );
    expect((await h.cycle()).events).toEqual([
      started(3),
      finished({ result: "succeeded", durationSeconds: 12 }),
      finished({ result: "skipped" }),
      started(2, { operation: "destroy", agentPool: "gpu" }),
      finished({ result: "failed", operation: "destroy", agentPool: "gpu", durationSeconds: 10 }),
    ]);
    expect((await h.cycle()).events).toEqual([]);
  });

  test("state lost after the baseline: only deployments created since the baseline are counted", async () => {
    const h = new Harness([
      ...history(),
      run("new-1", 5, { status: "succeeded", started: 8, lastUpdated: 20 }),
      run("new-2", 30, { status: "running", started: 35 }),
    ]);
    h.baselineSeconds = T0 / 1000;
    // No state, as for an organization added to the configuration after the exporter's first cycle.
    expect((await h.cycle()).events).toEqual([
      started(3),
      finished({ result: "succeeded", durationSeconds: 12 }),
      started(5),
    ]);
    expect(h.state?.unfinished.map((t) => [t.id, t.started])).toEqual([
      ["run-1", true],
      ["queued-1", false],
      ["new-2", true],
    ]);
  });

  test("two deployments created in the same millisecond: the one seen later is still new", async () => {
    const h = new Harness([run("a", 10, { status: "succeeded", jobs: [] })]);
    await h.cycle();
    h.put(run("b", 10, { status: "succeeded", jobs: [] }));
    expect((await h.cycle()).events).toEqual([finished({ result: "succeeded" })]);
    expect(h.state).toMatchObject({ newestCreatedMs: s(10), newestIds: ["a", "b"] });
    expect((await h.cycle()).events).toEqual([]);
  });

  test("an operation the spec does not list is `other`, and reported once when counted", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.put(run("new-1", 5, { status: "running", operation: "teleport", started: 6 }));
    const first = await h.cycle();
    expect(first.events).toEqual([started(1, { operation: "other" })]);
    expect(first.output.unknown).toEqual([]);
    h.put(run("new-1", 5, { status: "succeeded", operation: "teleport", started: 6, lastUpdated: 7 }));
    const second = await h.cycle();
    expect(second.events).toEqual([
      finished({ result: "succeeded", operation: "other", durationSeconds: 1 }),
    ]);
    expect(second.output.unknown).toEqual([
      { operation: "ListOrgDeployments", field: "pulumiOperation", count: 1 },
    ]);
  });

  test("a status the spec does not list ends tracking without a count, reported once", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.put(run("queued-1", -60, { status: "cancelled", jobs: [] }));
    const out = await h.cycle();
    expect(out.events).toEqual([]);
    expect(out.output.unknown).toEqual([{ operation: "ListOrgDeployments", field: "status", count: 1 }]);
    expect(h.state?.unfinished.map((t) => t.id)).toEqual(["run-1"]);
    expect((await h.cycle()).output.unknown).toEqual([]);
  });
});

describe("deployments source: paging", () => {
  function many(prefix: string, n: number, fromSeconds: number, status = "succeeded"): DeploymentRun[] {
    return Array.from({ length: n }, (_, i) => run(`${prefix}-${i}`, fromSeconds + i, { status, jobs: [] }));
  }

  test("120 new deployments since the last run: three pages, each counted once", async () => {
    const h = new Harness(history());
    await h.cycle();
    for (const d of many("new", 120, 100)) h.put(d);
    const out = await h.cycle();
    expect(out.calls).toBe(3);
    expect(out.events).toHaveLength(120);
    expect(out.events.every((e) => e.kind === "finished" && e.result === "succeeded")).toBe(true);
    // The two deployments still unfinished now lie on page 3: each run reads down to them until they end.
    expect(await h.cycle()).toMatchObject({ events: [], calls: 3 });
    h.put(run("run-1", -120, { status: "succeeded", started: -100, lastUpdated: 0 }));
    h.put(run("queued-1", -60, { status: "skipped", jobs: [] }));
    expect(await h.cycle()).toMatchObject({
      events: [finished({ result: "succeeded", durationSeconds: 100 }), finished({ result: "skipped" })],
      calls: 3,
    });
    expect(await h.cycle()).toMatchObject({ events: [], calls: 1 });
  });

  test("the baseline reads on while a page holds only unfinished deployments", async () => {
    const h = new Harness([
      ...many("done", 10, -5000),
      ...many("queued", DEPLOYMENTS_PAGE_SIZE + 5, -1000, "not-started"),
    ]);
    const out = await h.cycle();
    expect(out).toMatchObject({ events: [], calls: 2 });
    expect(h.state?.unfinished).toHaveLength(DEPLOYMENTS_PAGE_SIZE + 5);
  });

  test("a tracked deployment further down than the first page is re-checked until it ends", async () => {
    const h = new Harness([
      run("slow", -7200, { status: "running", started: -7100 }),
      ...many("done", 70, -3600),
    ]);
    // The baseline's first page is all history; the running one sits on page 2, beyond what the baseline reads.
    expect(await h.cycle()).toMatchObject({ events: [], calls: 1 });
    expect(h.state?.unfinished).toEqual([]);

    // Seen unfinished: once it is tracked, every run reads as far down as it lies.
    const g = new Harness([...many("done", 70, -3600), run("slow", 10, { status: "running", started: 20 })]);
    await g.cycle();
    for (const d of many("new", 60, 100)) g.put(d);
    const out = await g.cycle();
    expect(out.calls).toBe(2);
    expect(out.events).toHaveLength(60);
    expect(await g.cycle()).toMatchObject({ events: [], calls: 2 });
    g.put(run("slow", 10, { status: "succeeded", started: 20, lastUpdated: 620 }));
    expect(await g.cycle()).toMatchObject({
      events: [finished({ result: "succeeded", durationSeconds: 600 })],
      calls: 2,
    });
    expect(await g.cycle()).toMatchObject({ events: [], calls: 1 });
  });

  test("a malformed deployment is left out (the client counts it) and the pages around it still read", async () => {
    const h = new Harness(history());
    await h.cycle();
    for (const d of many("new", 60, 100)) h.put(d);
    h.api.malformed.add("acme#new-59");
    h.api.malformed.add("acme#new-10");
    const out = await h.cycle();
    expect(out.calls).toBe(2);
    expect(out.events).toHaveLength(58);
    expect(h.state?.newestIds).toEqual(["new-58"]);
  });

  test("an empty organization: one call, nothing counted", async () => {
    const h = new Harness([]);
    expect(await h.cycle()).toMatchObject({ events: [], calls: 1 });
    expect(h.state).toEqual(EMPTY_DEPLOYMENT_RUNS_STATE);
    h.put(run("new-1", 5, { status: "succeeded", jobs: [] }));
    expect(await h.cycle()).toMatchObject({ events: [finished({ result: "succeeded" })], calls: 1 });
  });
});

describe("deployments source: bounds", () => {
  test(`agent pools beyond ${MAX_AGENT_POOLS} are other; hosted runs are pulumi-hosted`, async () => {
    const h = new Harness([]);
    await h.cycle();
    for (let i = 0; i < MAX_AGENT_POOLS + 2; i++)
      h.put(run(`d-${i}`, i + 1, { status: "succeeded", pool: `pool-${i}`, jobs: [] }));
    h.put(run("hosted", 100, { status: "succeeded", jobs: [] }));
    const pools = (await h.cycle()).events.map((e) => e.agentPool);
    expect(pools.slice(MAX_AGENT_POOLS - 1)).toEqual([
      `pool-${MAX_AGENT_POOLS - 1}`,
      "other",
      "other",
      "pulumi-hosted",
    ]);
    expect(h.state?.pools).toHaveLength(MAX_AGENT_POOLS);
  });

  test(`at most ${MAX_UNFINISHED} unfinished deployments are tracked; the oldest are given up and counted`, async () => {
    const queued = Array.from({ length: MAX_UNFINISHED + 7 }, (_, i) =>
      run(`q-${i}`, i + 1, { status: "not-started", jobs: [] }),
    );
    // More than one run reads (MAX_DEPLOYMENT_PAGES pages): applied directly, newest first as read.
    const { state } = applyDeployments(EMPTY_DEPLOYMENT_RUNS_STATE, queued.reverse(), T0, "acme");
    expect(state.unfinished).toHaveLength(MAX_UNFINISHED);
    expect(state.unfinished[0]?.id).toBe("q-7");
    expect(state.unfinished.at(-1)?.id).toBe(`q-${MAX_UNFINISHED + 6}`);
    expect(state.abandoned).toBe(7);
  });

  test("a tracked deployment missing from the list three runs in a row is given up", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.runs.splice(
      h.runs.findIndex((d) => d.id === "queued-1"),
      1,
    );
    await h.cycle();
    await h.cycle();
    expect(h.state?.unfinished.map((t) => [t.id, t.misses])).toEqual([
      ["run-1", 0],
      ["queued-1", 2],
    ]);
    await h.cycle();
    expect(h.state?.unfinished.map((t) => t.id)).toEqual(["run-1"]);
    expect(h.state?.abandoned).toBe(1);
  });
});

describe("deployments source: restarts through the state file", () => {
  test("nothing lost, nothing twice", async () => {
    const h = new Harness(history());
    await h.cycle();
    h.put(run("new-1", 10, { status: "running", started: 15 }));
    expect((await h.cycle()).events).toEqual([started(5)]);
    expect(h.restart().total).toBe(0);

    // While the exporter was down: the running one ended, a new one ran through, the queued one started.
    h.put(run("new-1", 10, { status: "succeeded", started: 15, lastUpdated: 75 }));
    h.put(run("new-2", 80, { status: "failed", started: 82, lastUpdated: 90 }));
    h.put(run("queued-1", -60, { status: "running", started: 70 }));
    expect((await h.cycle()).events).toEqual([
      started(130),
      finished({ result: "succeeded", durationSeconds: 60 }),
      started(2),
      finished({ result: "failed", durationSeconds: 8 }),
    ]);
    expect(h.restart().total).toBe(0);
    expect(await h.cycle()).toMatchObject({ events: [], calls: 1 });
  });

  test("the saved state is plain JSON and loads back equal", async () => {
    const h = new Harness(history());
    await h.cycle();
    const before = h.state;
    h.restart();
    expect(h.state).toEqual(before as DeploymentRunsState);
  });

  test("bad values are dropped one by one and noted; a bad high-water mark drops the entry", () => {
    const tally = new DropTally();
    const loaded = deploymentRunsCodec.load(
      {
        newestCreatedMs: s(0),
        newestIds: ["a", 7],
        unfinished: [
          { id: "ok", createdMs: s(-5), started: false, misses: 1 },
          { id: "", createdMs: s(-4), started: false, misses: 0 },
          { id: "bad-time", createdMs: -1, started: false, misses: 0 },
          { id: "bad-misses", createdMs: s(-3), started: true, misses: 3 },
          "junk",
        ],
        pools: "runners",
        abandoned: 1.5,
      },
      "sources.deployments.acme",
      tally,
    );
    expect(loaded).toEqual({
      newestCreatedMs: s(0),
      newestIds: ["a"],
      unfinished: [{ id: "ok", createdMs: s(-5), started: false, misses: 1 }],
      pools: [],
      abandoned: 0,
    });
    expect(tally.fields()).toEqual({
      stacks: 0,
      tombstones: 0,
      orgs: 0,
      values: 7,
      first: "sources.deployments.acme.abandoned must be a non-negative safe integer (was 1.5)",
    });

    const dropped = new DropTally();
    expect(
      deploymentRunsCodec.load({ newestCreatedMs: "yesterday" }, "sources.deployments.acme", dropped),
    ).toBeUndefined();
    expect(deploymentRunsCodec.load(null, "sources.deployments.beta", dropped)).toBeUndefined();
    expect(dropped.fields()).toEqual({
      stacks: 0,
      tombstones: 0,
      orgs: 2,
      values: 0,
      first: "sources.deployments.acme.newestCreatedMs must be a non-negative safe integer (was a string)",
    });
  });
});
