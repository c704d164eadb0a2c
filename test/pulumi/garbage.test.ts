/** Garbage collected between API responses, by the bytes of their bodies (src/pulumi/garbage.ts). */
import { afterEach, describe, expect, test } from "bun:test";
import { GARBAGE_POLICY, garbagePacer } from "../../src/pulumi/garbage.ts";
import { type LocalApi, observedClient, startLocalApi } from "./support.ts";

function countingCollector() {
  const calls: string[] = [];
  return { calls, collectors: { eden: () => calls.push("eden") } };
}

describe("the pacer", () => {
  test("an eden collection each time the budget fills; the count starts again after each", () => {
    const { calls, collectors } = countingCollector();
    const pace = garbagePacer({ edenEveryBytes: 100 }, collectors);
    const after = [60, 39, 1, 99, 1, 250, 10].map((bytes) => {
      pace(bytes);
      return calls.length;
    });
    // 99 bytes: none yet; 100: one; 199: still one; 200: two; 450: three (one body, one collection); 10: three.
    expect(after).toEqual([0, 0, 1, 1, 2, 3, 3]);
  });

  test("the default policy: an eden collection every 256 KiB of bodies", () => {
    expect(GARBAGE_POLICY).toEqual({ edenEveryBytes: 262_144 });
    const { calls, collectors } = countingCollector();
    const pace = garbagePacer(GARBAGE_POLICY, collectors);
    for (let i = 0; i < 64; i++) pace(32 * 1024); // 2 MiB in 32 KiB bodies
    expect(calls).toHaveLength(8);
  });
});

let api: LocalApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

describe("the client", () => {
  test("tells the size of each response body it reads, decompressed", async () => {
    const teams = JSON.stringify({ teams: [{ name: "platform" }, { name: "data" }] });
    api = startLocalApi((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.body(teams, 200, { "content-type": "application/json" }));
      app.get("/api/orgs/:org/members", (c) => {
        const body = Bun.gzipSync(JSON.stringify({ members: [] }));
        return c.body(body, 200, { "content-type": "application/json", "content-encoding": "gzip" });
      });
    });
    const sizes: number[] = [];
    const { client } = observedClient(api.url, { onBody: (bytes) => sizes.push(bytes) });
    expect(await client.listTeams("acme")).toHaveLength(2);
    await client.listMembers("acme");
    expect(sizes).toEqual([teams.length, JSON.stringify({ members: [] }).length]);
  });
});
