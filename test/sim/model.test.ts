import { describe, expect, test } from "bun:test";
import { createSimulator } from "../../src/sim/app.ts";
import { SimModel } from "../../src/sim/model.ts";
import { RESOURCE_OPS, type StackRef, UPDATE_KINDS, UPDATE_RESULTS } from "../../src/sim/stacks.ts";
import { SMALL } from "./helpers.ts";

const refOf = (s: { orgName: string; projectName: string; stackName: string }): StackRef => ({
  org: s.orgName,
  project: s.projectName,
  stack: s.stackName,
});

const PATHS = [
  "/api/user/stacks?maxResults=1000",
  "/api/orgs/org-1/deployments?pageSize=100",
  "/api/orgs/org-2/members",
  "/api/esc/environments/org-3",
  "/api/orgs/org-1/policyresults/violationsv2",
  "/api/preview/agents/org-2/tasks",
  "/api/orgs/org-1/neo/token-budget",
  "/api/orgs/org-1/policyresults/metadata",
];

async function responses(seed: number, ticks: number): Promise<string[]> {
  const sim = createSimulator({ ...SMALL, seed });
  sim.model.tick(ticks);
  const headers = { authorization: `token ${sim.token}` };
  const stacks = sim.model.listStacks();
  const paths = [
    ...PATHS,
    ...stacks.slice(0, 5).map((s) => `/api/stacks/${s.orgName}/${s.projectName}/${s.stackName}/updates`),
  ];
  return Promise.all(paths.map(async (p) => (await sim.app.request(p, { headers })).text()));
}

describe("determinism", () => {
  test("the same seed gives byte-identical responses, before and after ticks", async () => {
    expect(await responses(5, 0)).toEqual(await responses(5, 0));
    expect(await responses(5, 12)).toEqual(await responses(5, 12));
  });

  test("another seed gives different data everywhere", async () => {
    const a = await responses(5, 3);
    const b = await responses(6, 3);
    a.forEach((body, i) => {
      expect(b[i]).not.toBe(body);
    });
  });
});

describe("scenario contents", () => {
  const model = new SimModel(SMALL);

  test("sizes follow the options", () => {
    expect(model.orgNames()).toEqual(["org-1", "org-2", "org-3"]);
    expect(model.listStacks().length).toBe(60);
    for (const org of model.orgNames()) {
      expect(model.members(org).length).toBe(23);
      expect(model.teams(org).length).toBe(3);
      expect(model.environments(org).length).toBe(17);
      expect(model.policyGroups(org).length).toBe(2);
      expect(model.policyPacks(org).length).toBe(3);
      expect(model.violations(org).length).toBe(29);
      expect(model.neoTasks(org).length).toBe(21);
      expect(model.deploymentCounts(org)?.total).toBe(35);
    }
  });

  test("histories hold every kind and result, lastUpdate is the newest update's start", () => {
    const kinds = new Set<string>();
    const results = new Set<string>();
    for (const summary of model.listStacks()) {
      const updates = model.stackUpdates(refOf(summary)) ?? [];
      expect(updates.length).toBe(12);
      expect(updates.map((u) => u.version)).toEqual(Array.from({ length: 12 }, (_, i) => 12 - i));
      expect(summary.lastUpdate).toBe(updates[0]?.startTime as number);
      for (let i = 1; i < updates.length; i++) {
        expect(updates[i]?.startTime as number).toBeLessThan(updates[i - 1]?.startTime as number);
        expect(updates[i]?.endTime as number).toBeLessThanOrEqual(updates[i - 1]?.startTime as number);
      }
      for (const u of updates) {
        kinds.add(u.kind);
        results.add(u.result);
        if (u.result === "in-progress") {
          expect(u.endTime).toBe(0);
          expect(u.resourceChanges).toBeUndefined();
        } else {
          expect(u.endTime as number).toBeGreaterThan(u.startTime);
          expect(u.endTime as number).toBeLessThanOrEqual(model.now);
          for (const op of Object.keys(u.resourceChanges ?? {}))
            expect(RESOURCE_OPS as readonly string[]).toContain(op);
        }
      }
    }
    expect([...kinds].sort()).toEqual([...UPDATE_KINDS].sort());
    expect([...results].sort()).toEqual([...UPDATE_RESULTS].sort());
  });

  test("deployments in every status with Pulumi's timestamp format", () => {
    for (const org of model.orgNames()) {
      const counts = model.deploymentCounts(org);
      for (const key of ["notStarted", "accepted", "running", "failed", "succeeded", "skipped"] as const) {
        expect(counts?.[key]).toBeGreaterThan(0);
      }
      for (const d of model.deployments(org)) {
        expect(d.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
        expect(d.modified >= d.created).toBe(true);
      }
    }
  });

  test("violations of every level and kind", () => {
    for (const org of model.orgNames()) {
      const pairs = new Set(model.violations(org).map((v) => `${v.level}/${v.kind}`));
      for (const level of ["advisory", "mandatory", "remediate"]) {
        for (const kind of ["audit", "preventative"]) expect(pairs).toContain(`${level}/${kind}`);
      }
    }
  });

  test("the last org has no Neo budget; the others one that matches their tasks", () => {
    expect(model.neoBudget("org-3")).toBeNull();
    for (const org of ["org-1", "org-2"]) {
      const budget = model.neoBudget(org);
      const consumed = model.neoTasks(org).reduce((sum, t) => sum + (t.tokensUsed ?? 0), 0);
      expect(budget?.consumedTokens).toBe(consumed);
      expect(budget?.exhausted).toBe(consumed >= (budget?.effectiveAllowanceTokens ?? 0));
    }
    expect(new SimModel({ ...SMALL, orgsWithoutNeoBudget: [] }).neoBudget("org-3")).not.toBeNull();
  });
});

describe("tick", () => {
  test("advances the clock by tickSeconds per tick", () => {
    const model = new SimModel({ ...SMALL, tickSeconds: 30 });
    const start = model.now;
    const report = model.tick(4);
    expect(report.now).toBe(start + 120);
    expect(report.tick).toBe(4);
    expect(model.now).toBe(start + 120);
  });

  test("a running update finishes on a later tick with a final result, endTime and resource changes", () => {
    const model = new SimModel({ ...SMALL, churn: 0, stacksCreatedPerTick: 0, stacksDeletedPerTick: 0 });
    const summary = model.listStacks().find((s) => model.stack(refOf(s))?.isRunning);
    if (!summary) throw new Error("no running update in the scenario");
    const ref = refOf(summary);
    const running = model.stackUpdates(ref)?.[0];
    expect(running).toMatchObject({ result: "in-progress", endTime: 0 });
    let ticks = 0;
    while (model.stack(ref)?.isRunning && ticks < 100) {
      model.tick(1);
      ticks++;
    }
    expect(ticks).toBeGreaterThan(0);
    const finished = model.stackUpdates(ref)?.[0];
    expect(finished?.version).toBe(running?.version as number);
    expect(finished?.startTime).toBe(running?.startTime as number);
    expect(["succeeded", "failed"]).toContain(finished?.result as string);
    expect(finished?.endTime as number).toBeGreaterThan(model.now - 60);
    expect(finished?.endTime as number).toBeLessThanOrEqual(model.now);
    expect(finished?.resourceChanges).toBeDefined();
    expect(
      model
        .listStacks()
        .find((s) => s.stackName === ref.stack && s.projectName === ref.project && s.orgName === ref.org)
        ?.lastUpdate,
    ).toBe(running?.startTime as number);
  });

  test("churn starts new updates: lastUpdate becomes the new update's start time", () => {
    const model = new SimModel({ ...SMALL, churn: 1, stacksCreatedPerTick: 0, stacksDeletedPerTick: 0 });
    const before = new Map(model.listStacks().map((s) => [s.id, model.stack(refOf(s))?.updateCount ?? 0]));
    const report = model.tick(1);
    let grown = 0;
    for (const summary of model.listStacks()) {
      const updates = model.stackUpdates(refOf(summary)) ?? [];
      if (updates.length === (before.get(summary.id) ?? 0) + 1) {
        grown++;
        expect(updates[0]?.startTime as number).toBeGreaterThan(model.now - 60);
      } else expect(updates.length).toBe(before.get(summary.id) as number);
      expect(summary.lastUpdate).toBe(updates[0]?.startTime as number);
    }
    expect(grown).toBe(report.updatesStarted);
    expect(grown).toBeGreaterThan(50);
  });

  test("deleted stacks disappear, created stacks appear without updates", () => {
    const model = new SimModel({ ...SMALL, churn: 0, stacksCreatedPerTick: 2, stacksDeletedPerTick: 3 });
    const report = model.tick(1);
    expect(report.stacksDeleted.length).toBe(3);
    expect(report.stacksCreated.length).toBe(2);
    expect(model.listStacks().length).toBe(60 - 3 + 2);
    for (const ref of report.stacksDeleted) {
      expect(model.stack(ref)).toBeUndefined();
      expect(model.stackUpdates(ref)).toBeUndefined();
    }
    for (const ref of report.stacksCreated) {
      const summary = model
        .listStacks(ref.org)
        .find((s) => s.projectName === ref.project && s.stackName === ref.stack);
      expect(summary).toBeDefined();
      expect(summary?.lastUpdate).toBeUndefined();
      expect(model.stackUpdates(ref)).toEqual([]);
    }
  });

  test("deployments move through their statuses and new ones arrive", () => {
    const model = new SimModel({ ...SMALL, deploymentsPerTick: 1 });
    const before = model.deploymentCounts("org-1");
    const known = new Set(model.org("org-1")?.deployments.records.map((d) => d.id));
    model.tick(30);
    const after = model.deploymentCounts("org-1");
    // One a tick, and a remediation queued after each detection that found drift (one for this seed).
    const added = model.org("org-1")?.deployments.records.filter((d) => !known.has(d.id)) ?? [];
    const followUps = added.filter((d) => d.operation === "remediate-drift" && d.createdMs % 1000 === 0);
    expect(followUps).toHaveLength(1);
    expect(after?.total).toBe((before?.total ?? 0) + 30 + followUps.length);
    const sum = (c: typeof after) =>
      (c?.notStarted ?? 0) +
      (c?.accepted ?? 0) +
      (c?.running ?? 0) +
      (c?.failed ?? 0) +
      (c?.succeeded ?? 0) +
      (c?.skipped ?? 0);
    expect(sum(after)).toBe(after?.total as number);
    expect((after?.succeeded ?? 0) + (after?.failed ?? 0)).toBeGreaterThan(
      (before?.succeeded ?? 0) + (before?.failed ?? 0),
    );
  });

  test("rejects a negative tick count", () => {
    expect(() => new SimModel(SMALL).tick(-1)).toThrow("tick count must be a whole number >= 0 (got -1)");
  });
});

describe("scale", () => {
  test("10,000 stacks × 20 updates keep histories packed at 40 bytes per update", async () => {
    const sim = createSimulator({ stacks: 10_000, updatesPerStack: 20, orgs: 3 });
    let bytes = 0;
    let updates = 0;
    for (const stack of sim.model.stacks.values()) {
      bytes += stack.historyBytes;
      updates += stack.updateCount;
    }
    expect(updates).toBe(200_000);
    expect(bytes).toBe(200_000 * 40);
    const response = await sim.app.request("/api/user/stacks?organization=org-2", {
      headers: { authorization: `token ${sim.token}` },
    });
    const body = (await response.json()) as { stacks: unknown[]; continuationToken?: string };
    expect(body.stacks).toEqual(sim.model.listStacks("org-2").slice(0, 500));
    expect(typeof body.continuationToken).toBe("string");
  });
});

describe("options", () => {
  test("bad values are rejected with the option named", () => {
    expect(() => new SimModel({ stacks: -1 })).toThrow(
      "invalid simulator option: stacks must be a whole number >= 0 (got -1)",
    );
    expect(() => new SimModel({ churn: 2 })).toThrow(
      "invalid simulator option: churn must be between 0 and 1 (got 2)",
    );
    expect(() => new SimModel({ orgs: 0 })).toThrow("invalid simulator option: orgs must be at least 1");
    expect(() => new SimModel({ pageSizes: { stacks: 0 } })).toThrow(
      "invalid simulator option: pageSizes.stacks must be a whole number >= 1 (got 0)",
    );
  });
});
