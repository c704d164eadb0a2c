/** The checks a source's state codec builds on: a list field, with the reason it is dropped. */
import { describe, expect, test } from "bun:test";
import { agentPoolsCodec } from "../../src/collect/sources/agent-pools.ts";
import { DropTally, stateList } from "../../src/collect/state-check.ts";

describe("stateList", () => {
  test("the field's array when it is one", () => {
    const tally = new DropTally();
    expect(stateList({ pools: [1, 2] }, "pools", "orgs.acme.agent-pools", tally)).toEqual([1, 2]);
    expect(tally.total).toBe(0);
  });

  test("a field that is no array, or a state that is no object: undefined, one organization state dropped", () => {
    const cases: Array<[unknown, string]> = [
      [{ pools: "x" }, "orgs.acme.agent-pools.pools must be an array (was a string)"],
      [{}, "orgs.acme.agent-pools.pools must be an array (was missing)"],
      [null, "orgs.acme.agent-pools.pools must be an array (was null)"],
      [[1], "orgs.acme.agent-pools.pools must be an array (was an array)"],
    ];
    for (const [raw, reason] of cases) {
      const tally = new DropTally();
      expect(stateList(raw, "pools", "orgs.acme.agent-pools", tally)).toBeUndefined();
      expect(tally.fields()).toEqual({ stacks: 0, tombstones: 0, orgs: 1, values: 0, first: reason });
    }
  });

  test("a codec drops such a state whole", () => {
    const tally = new DropTally();
    expect(agentPoolsCodec.load({ pools: 7 }, "orgs.acme.agent-pools", tally)).toBeUndefined();
    expect(tally.first).toBe("orgs.acme.agent-pools.pools must be an array (was 7)");
  });
});
