/**
 * The collector works through a long page of stacks in slices: 200,000 stacks that all need their history read
 * are admitted with the event loop getting a turn every few milliseconds, not in one loop of a second or more.
 * Why 100 ms is a safe bound and still fails without slicing: see test/app/responsiveness.test.ts.
 */
import { expect, test } from "bun:test";
import { Collector } from "../../src/collect/collector.ts";
import { silentLogger } from "../../src/log/logger.ts";
import type { StackSummary } from "../../src/pulumi/types.ts";
import { watchEventLoop } from "../support/event-loop-watch.ts";
import { FakeApi, fakeOrg } from "../support/fake-api.ts";

const STACKS = 200_000;

test(`a page of ${STACKS} stacks to read is admitted without stalling the event loop`, async () => {
  const page: StackSummary[] = Array.from({ length: STACKS }, (_, i) => ({
    id: `id-${i}`,
    orgName: "acme",
    projectName: `p${i % 50}`,
    stackName: `s${i}`,
    lastUpdate: 1_700_000_000,
    resourceCount: 1,
  }));
  const api = new FakeApi();
  api.orgs.set("acme", fakeOrg());
  // History reads wait until the page is admitted, so the stall measured is the admitting alone.
  let admitted: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    admitted = resolve;
  });
  let stall: number | undefined;
  api.listStacks = async (_org, onPage) => {
    const watch = watchEventLoop();
    await onPage?.(page);
    stall = watch.stop().cpuMs;
    admitted();
    return page;
  };
  let historyReads = 0;
  api.getStackUpdates = async () => {
    historyReads++;
    await gate;
    return { updates: [], total: 0 };
  };
  const collector = new Collector({
    api,
    logger: silentLogger,
    organizations: ["acme"],
    maxConcurrency: 4,
    cycleBudgetMs: 100_000,
  });
  const result = await collector.collect();
  expect(result.stats).toMatchObject({ orgsListed: 1, stacks: STACKS, stacksRead: STACKS, timedOut: false });
  expect(historyReads).toBe(STACKS);
  expect(stall).toBeLessThan(100);
}, 120_000);
