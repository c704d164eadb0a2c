import { describe, expect, test } from "bun:test";
import type { StackTrack } from "../../src/collect/state.ts";
import {
  applyHistory,
  droppedItemsMatter,
  historyComplete,
  historyFloor,
  historyRestarted,
} from "../../src/collect/updates.ts";
import { update } from "../support/fake-api.ts";

const fresh: StackTrack = {
  id: "s1",
  org: "acme",
  project: "web",
  stack: "prod",
  listLastUpdate: undefined,
  lastVersion: 0,
  pending: [],
  resourceCount: undefined,
  lastUpdateTimestamp: undefined,
};

describe("applyHistory", () => {
  test("baseline: finished updates are history, running ones are tracked", () => {
    const history = [
      update(3, "in-progress", 300),
      update(2, "failed", 200, 230),
      update(1, "succeeded", 100, 160),
    ];
    const { track, events } = applyHistory(fresh, history, { kind: "baseline" }, 300);
    expect(events).toEqual([]);
    expect(track.lastVersion).toBe(3);
    expect(track.pending).toEqual([{ version: 3, kind: "update" }]);
    expect(track.lastUpdateTimestamp).toBe(230);
    expect(track.listLastUpdate).toBe(300);
  });

  test("an update seen running is counted once, with its final result, when it finishes", () => {
    const seen = applyHistory(
      fresh,
      [update(1, "in-progress", 100, undefined, "destroy")],
      { kind: "baseline" },
      100,
    );
    const finished = applyHistory(
      seen.track,
      [update(1, "failed", 100, 190, "destroy", { delete: 3 })],
      { kind: "known" },
      100,
    );
    expect(finished.events).toEqual([
      {
        org: "acme",
        project: "web",
        stack: "prod",
        kind: "destroy",
        result: "failed",
        version: 1,
        durationSeconds: 90,
        resourceChanges: { delete: 3 },
      },
    ]);
    expect(finished.track.pending).toEqual([]);
    const again = applyHistory(
      finished.track,
      [update(1, "failed", 100, 190, "destroy")],
      { kind: "known" },
      100,
    );
    expect(again.events).toEqual([]);
  });

  test("known stack: every newly seen finished update counts, older ones do not", () => {
    const known: StackTrack = { ...fresh, lastVersion: 2, lastUpdateTimestamp: 230 };
    const { events, track } = applyHistory(
      known,
      [update(4, "succeeded", 400, 420), update(3, "succeeded", 300, 310), update(2, "failed", 200, 230)],
      { kind: "known" },
      400,
    );
    expect(events.map((e) => e.version)).toEqual([3, 4]);
    expect(track.lastUpdateTimestamp).toBe(420);
  });

  test("a stack that appeared later counts updates that ended since the first cycle began", () => {
    const { events } = applyHistory(
      fresh,
      [update(2, "succeeded", 1050, 1080), update(1, "succeeded", 900, 990)],
      { kind: "since", since: 1000 },
      1050,
    );
    expect(events.map((e) => e.version)).toEqual([2]);
  });

  test("the timestamp falls back to the list's lastUpdate only while no completed update is known", () => {
    const running = applyHistory(fresh, [update(1, "in-progress", 500)], { kind: "baseline" }, 500);
    expect(running.track.lastUpdateTimestamp).toBe(500);
    const done = applyHistory(running.track, [update(1, "succeeded", 500, 560)], { kind: "known" }, 500);
    expect(done.track.lastUpdateTimestamp).toBe(560);
    const older = applyHistory({ ...done.track }, [update(1, "succeeded", 500, 540)], { kind: "known" }, 500);
    expect(older.track.lastUpdateTimestamp).toBe(560);
  });
});

describe("history walk", () => {
  test("the floor stays below running updates", () => {
    expect(historyFloor({ ...fresh, lastVersion: 9, pending: [{ version: 7, kind: "update" }] })).toBe(6);
    expect(historyFloor({ ...fresh, lastVersion: 9 })).toBe(9);
  });

  test("known: complete once a version at or below the floor is read", () => {
    expect(
      historyComplete([update(11, "succeeded", 1, 2), update(10, "succeeded", 1, 2)], { kind: "known" }, 9),
    ).toBe(false);
    expect(
      historyComplete([update(10, "succeeded", 1, 2), update(9, "succeeded", 1, 2)], { kind: "known" }, 9),
    ).toBe(true);
  });

  test("since: complete once an update ended before the first cycle", () => {
    const mode = { kind: "since", since: 1000 } as const;
    expect(historyComplete([update(2, "succeeded", 1001, 1005)], mode, 0)).toBe(false);
    expect(
      historyComplete([update(2, "succeeded", 1001, 1005), update(1, "failed", 900, 950)], mode, 0),
    ).toBe(true);
  });

  test("a history whose newest version is below the known one was restarted", () => {
    expect(historyRestarted({ ...fresh, lastVersion: 5 }, [update(1, "succeeded", 1, 2)])).toBe(true);
    expect(historyRestarted({ ...fresh, lastVersion: 5 }, [update(6, "succeeded", 1, 2)])).toBe(false);
  });
});

describe("droppedItemsMatter", () => {
  const page = [
    update(12, "in-progress", 500),
    update(11, "succeeded", 400, 450),
    update(10, "failed", 300, 310),
  ];

  test("baseline: harmless once a finished update came before it", () => {
    expect(droppedItemsMatter(page, [0], { kind: "baseline" }, 0)).toBe(true);
    expect(droppedItemsMatter(page, [1], { kind: "baseline" }, 0)).toBe(true);
    expect(droppedItemsMatter(page, [2], { kind: "baseline" }, 0)).toBe(false);
  });

  test("since: harmless once an update that started before the first cycle came before it", () => {
    const mode = { kind: "since", since: 420 } as const;
    expect(droppedItemsMatter(page, [1], mode, 0)).toBe(true);
    expect(droppedItemsMatter(page, [2], mode, 0)).toBe(false);
  });

  test("known: harmless once an update at most one above the floor came before it", () => {
    expect(droppedItemsMatter(page, [1], { kind: "known" }, 10)).toBe(true);
    expect(droppedItemsMatter(page, [2], { kind: "known" }, 10)).toBe(false);
    expect(droppedItemsMatter(page, [], { kind: "known" }, 10)).toBe(false);
  });
});
