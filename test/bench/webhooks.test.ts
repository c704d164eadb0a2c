import { describe, expect, test } from "bun:test";
import { readSection, renderDocument } from "../../bench/markdown.ts";
import { parseBenchArgs } from "../../bench/run.ts";
import { renderWebhookSection, webhookTargets } from "../../bench/webhook-report.ts";
import {
  countableFinishes,
  countsNeeded,
  summarizeWebhooks,
  timeToCount,
  type WebhookCycle,
  type WebhookRun,
} from "../../bench/webhooks.ts";
import type { SimEvent } from "../../src/sim/model.ts";

const ref = (stack: string) => ({ org: "org-1", project: "p", stack });

function finished(stack: string): SimEvent {
  return { type: "update-finished", ref: ref(stack), update: {} as never };
}

function cycle(index: number, calls: number, getStackUpdates: number): WebhookCycle {
  return {
    index,
    calls,
    cycleCalls: calls - getStackUpdates,
    listPages: 12,
    byOperation: { ListUserStacks: 12, GetStackUpdates: getStackUpdates, OrgDeploymentsMetadata: 3 },
    stacks: 1_000,
    stacksRead: 20,
    goCalls: 2_042,
  };
}

function run(): WebhookRun {
  return {
    command: "PULUMI_ACCESS_TOKEN=<simulator token> ./dist/pulumi-exporter run",
    intervalMs: 8_000,
    reconcileMs: 40_000,
    cycles: [cycle(1, 1_070, 1_000), cycle(2, 60, 40), cycle(3, 40, 20)],
    ticks: [
      { tick: 31, updatesStarted: 20, updatesFinished: 18, webhooks: 25, expected: 18, latencyMs: 300 },
      { tick: 32, updatesStarted: 20, updatesFinished: 20, webhooks: 27, expected: 38, latencyMs: 500 },
      { tick: 33, updatesStarted: 19, updatesFinished: 16, webhooks: 22, expected: 54, latencyMs: 2_500 },
    ],
    webhookStats: {
      events: 74,
      sent: 74,
      delivered: 74,
      failed: 0,
      dropped: 0,
      duplicated: 0,
      delayed: 0,
      reordered: 0,
      badSignatures: 0,
      statuses: { "202": 74 },
    },
    warnings: 0,
    errors: 0,
  };
}

describe("the webhook scenario's figures", () => {
  test("a tick's countable updates, by stack, leave out those of stacks the same tick deleted", () => {
    const events: SimEvent[] = [
      finished("a"),
      finished("b"),
      finished("c"),
      finished("a"),
      { type: "stack-deleted", ref: ref("b") },
      { type: "stack-created", ref: ref("d") },
    ];
    expect(countableFinishes(events)).toEqual(
      new Map([
        ["org-1/p/a", 2],
        ["org-1/p/c", 1],
      ]),
    );
    expect(countableFinishes([]).size).toBe(0);
  });

  test("time to count: the first export at or after the tick in which every stack's counter got there", () => {
    const before = new Map([
      ["org-1/p/a", 3],
      ["org-1/p/gone", 9],
    ]);
    const needed = countsNeeded(
      before,
      new Map([
        ["org-1/p/a", 1],
        ["org-1/p/c", 2],
      ]),
    );
    expect(needed).toEqual(
      new Map([
        ["org-1/p/a", 4],
        ["org-1/p/c", 2],
      ]),
    );
    const exports = [
      {
        at: 90,
        byStack: new Map([
          ["org-1/p/a", 4],
          ["org-1/p/c", 2],
        ]),
      },
      {
        at: 120,
        byStack: new Map([
          ["org-1/p/a", 4],
          ["org-1/p/c", 1],
        ]),
      },
      // A deleted stack's series going does not matter; more than needed does not either.
      {
        at: 400,
        byStack: new Map([
          ["org-1/p/a", 5],
          ["org-1/p/c", 2],
        ]),
      },
    ];
    expect(timeToCount(100, needed, exports)).toBe(300);
    expect(timeToCount(100, new Map([["org-1/p/a", 4]]), exports)).toBe(20);
    expect(timeToCount(100, new Map([["org-1/p/c", 3]]), exports)).toBeUndefined();
    expect(timeToCount(500, new Map(), exports)).toBeUndefined();
  });

  test("summary: median latency, mean steady calls against the Go formula, targets", () => {
    const summary = summarizeWebhooks(run(), { "stack-list": 12, "stack-history": 30 });
    expect(summary).toMatchObject({
      latencyMedianMs: 500,
      latencyMaxMs: 2_500,
      ticksCounted: 3,
      ticks: 3,
      steadyCalls: 50,
      goCalls: 2_042,
      updatesPerTick: 18,
      webhooksPerTick: 25,
    });
    expect(summary.reduction).toBeCloseTo(40.84, 2);
    expect(webhookTargets(summary)).toEqual([
      [
        "Median time from an update finishing in the simulator to the OTLP export that counts it ≤ 2.00 s",
        "1,000/c10: 500 ms (max 2.50 s; 3 of 3 ticks counted before the next cycle)",
        "met",
      ],
      [
        "Steady API calls ≤ 1/50 of the Go formula at 1,000 stacks, the events' reads included",
        "1,000/c10: 50 vs 2,042 (1/40.8)",
        "**missed**",
      ],
    ]);
  });

  test("a tick never counted misses the latency target whatever the median", () => {
    const r = run();
    const ticks = [
      ...r.ticks.slice(0, 2),
      { ...(r.ticks[2] as WebhookRun["ticks"][number]), latencyMs: undefined },
    ];
    const summary = summarizeWebhooks({ ...r, ticks }, {});
    expect(summary.ticksCounted).toBe(2);
    expect(summary.ticks).toBe(3);
    // A tick that finished nothing countable is not measured.
    const idle = {
      tick: 34,
      updatesStarted: 0,
      updatesFinished: 0,
      webhooks: 0,
      expected: 0,
      latencyMs: undefined,
    };
    expect(summarizeWebhooks({ ...r, ticks: [...r.ticks, idle] }, {}).ticks).toBe(3);
    expect(webhookTargets(summary)[0]?.[2]).toBe("**missed**");
  });

  test("the section: command, per-cycle rows and the sources", () => {
    const r = run();
    const text = renderWebhookSection({
      summary: summarizeWebhooks(r, { "stack-history": 30, "stack-list": 12 }),
      run: r,
      binaryVersion: "pulumi-exporter 0.1.0",
      command: "npm run bench -- --scenario webhooks",
      startedAt: new Date(Date.UTC(2026, 0, 2, 3, 4)),
      elapsedMs: 240_000,
      latency: { meanMs: 50, jitterMs: 10 },
      floorCalls: 26,
    });
    expect(text).toContain(
      "Run on 2026-01-02 03:04 UTC with `npm run bench -- --scenario webhooks` (4.0 minutes)",
    );
    expect(text).toContain("| 2 | 60 | 20 | 12 | 40 | 2,042 | 20 | 27 | 500 ms |");
    expect(text).toContain("| `stack-history` | 30.0 |");
    expect(text).toContain("Webhooks: 74 events, 74 sent, 74 delivered, 0 failed.");
  });

  test("`--scenario webhooks` runs that scenario alone; the default runs both", () => {
    expect(parseBenchArgs(["--scenario", "webhooks"]).scenarios).toEqual(["webhooks"]);
    expect(parseBenchArgs([]).scenarios).toEqual(["polling", "webhooks"]);
    expect(() => parseBenchArgs(["--scenario", "push"])).toThrow("--scenario takes polling or webhooks");
  });

  test("the document keeps the webhook section apart from the others", () => {
    const first = renderDocument(undefined, "webhooks", "## Webhooks\n\nfigures W");
    expect(readSection(first, "webhooks")).toBe("## Webhooks\n\nfigures W");
    expect(readSection(first, "bench")).toContain("Not run yet");
    const second = renderDocument(first, "bench", "## Benchmark\n\nfigures B");
    expect(readSection(second, "webhooks")).toBe("## Webhooks\n\nfigures W");
  });
});
