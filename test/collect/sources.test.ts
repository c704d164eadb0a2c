import { describe, expect, test } from "bun:test";
import { sourceDue } from "../../src/collect/org-phase.ts";
import { ORG_SOURCES, STACK_LIST_SOURCE, STACK_SOURCES } from "../../src/collect/sources/index.ts";
import { FAMILIES } from "../../src/families.ts";
import { METRICS } from "../../src/metrics/catalog.ts";

const declared = [...STACK_SOURCES, ...ORG_SOURCES];

describe("the source registry", () => {
  test("names are unique: they key the state file and the cycle's events", () => {
    const names = declared.map((source) => source.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test("every metric a source feeds is in the catalog, of one of the source's families", () => {
    const byName = new Map(METRICS.map((m) => [m.name, m]));
    for (const source of declared) {
      const families: readonly string[] = "families" in source ? source.families : [source.family];
      for (const name of source.feeds) {
        expect(`${source.name} feeds ${name}: ${byName.has(name)}`).toBe(
          `${source.name} feeds ${name}: true`,
        );
        expect(families).toContain(byName.get(name)?.family ?? "missing");
      }
    }
  });

  test("every catalog metric but the exporter's own is fed by a source", () => {
    const fed = new Set(declared.flatMap((source) => source.feeds));
    const unfed = METRICS.filter((m) => m.family !== "exporter" && !fed.has(m.name)).map((m) => m.name);
    expect(unfed).toEqual([]);
  });

  test("a source's needs are declared data the cycle can meet: earlier sources, and the listing for its family", () => {
    const needing = ORG_SOURCES.filter((source) => source.needs !== undefined);
    expect(needing.map((source) => [source.name, source.needs])).toEqual([
      ["drift", { listing: true, events: ["deployments"] }],
    ]);
    for (const source of needing) {
      const earlier = ORG_SOURCES.slice(0, ORG_SOURCES.indexOf(source)).map((s) => s.name);
      for (const name of source.needs?.events ?? []) expect(earlier).toContain(name);
      if (source.needs?.listing) expect(STACK_LIST_SOURCE.families).toContain(source.family);
    }
  });

  test("every family has a source", () => {
    const families = new Set(
      declared.flatMap((source) => ("families" in source ? source.families : [source.family])),
    );
    expect(FAMILIES.filter((family) => !families.has(family))).toEqual([]);
  });

  test("organization inventory is read on the organization cadence; deployment counts every cycle", () => {
    const cadences = Object.fromEntries(ORG_SOURCES.map((source) => [source.name, source.cadence]));
    expect(cadences).toEqual({
      "deployment-counts": "cycle",
      members: "org",
      teams: "org",
      environments: "org",
      "policy-groups": "org",
      "policy-packs": "org",
      "policy-violations": "org",
      "policy-results": "org",
      "neo-tasks": "org",
      "neo-budget": "org",
      deployments: "cycle",
      drift: "cycle",
      "agent-pools": "cycle",
      plan: "org",
      tokens: { everyMs: 3_600_000 },
    });
  });

  test("a source on the organization cadence is due when never run, or once the interval has passed", () => {
    const org = { cadence: "org" } as const;
    expect(sourceDue(org, undefined, 1_000, 300_000)).toBe(true);
    // 5 % early is on time (timers may fire a little early): 285 s of a 300 s interval.
    expect(sourceDue(org, 1_000, 285_999, 300_000)).toBe(false);
    expect(sourceDue(org, 1_000, 286_000, 300_000)).toBe(true);
    // An interval equal to the collect interval: a cycle that starts 2 ms early still reads it.
    expect(sourceDue(org, 0, 998, 1_000)).toBe(true);
    // At 5 minutes over 60 s cycles: the fifth cycle after, never the fourth.
    expect(sourceDue(org, 0, 240_000, 300_000)).toBe(false);
    expect(sourceDue(org, 0, 299_990, 300_000)).toBe(true);
    expect(sourceDue({ cadence: "cycle" }, 1_000, 1_001, 300_000)).toBe(true);
  });

  test("a source with its own interval is due once that interval has passed, whatever the org interval", () => {
    const hourly = { cadence: { everyMs: 3_600_000 } } as const;
    expect(sourceDue(hourly, undefined, 1_000, 300_000)).toBe(true);
    // The same 5 % slack: 57 minutes of the hour.
    expect(sourceDue(hourly, 1_000, 3_420_999, 300_000)).toBe(false);
    expect(sourceDue(hourly, 1_000, 3_421_000, 300_000)).toBe(true);
  });
});
