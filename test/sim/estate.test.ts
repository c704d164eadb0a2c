import { expect, test } from "bun:test";
import { getAgentPool, listAgentPools, orgTokens } from "../../src/sim/estate.ts";
import { SimModel } from "../../src/sim/model.ts";

test("agents go offline and back, the second pool is deleted on every 4th tick, tokens expire with the clock", () => {
  const model = new SimModel({ tickSeconds: 3600 });
  const org = model.orgNames()[0] ?? "org-1";
  const statuses = () => getAgentPool(model, org, `${org}-pool-1`).agents.map((a) => a.status);
  const expired = () =>
    orgTokens(model, org).tokens.filter((t) => t.expires !== 0 && t.expires <= model.now).length;
  expect(statuses()).toEqual(["online", "online", "online"]);
  expect(expired()).toBe(0);
  model.tick();
  expect(statuses()).toEqual(["online", "online", "offline"]);
  expect(expired()).toBe(1);
  model.tick(3);
  expect(listAgentPools(model, org).agentPools.map((p) => p.name)).toEqual(["default-runners"]);
  model.tick();
  expect(listAgentPools(model, org).agentPools.map((p) => p.name)).toEqual([
    "default-runners",
    "build-runners",
  ]);
});
