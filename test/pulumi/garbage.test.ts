/** Garbage collected between API responses, by the bytes of their bodies (src/pulumi/garbage.ts). */
import { afterEach, describe, expect, test } from "bun:test";
import { GARBAGE_POLICY, garbagePacer } from "../../src/pulumi/garbage.ts";
import { type LocalApi, observedClient, startLocalApi } from "./support.ts";

function countingCollectors(live = { bytes: 0 }) {
  const calls: string[] = [];
  const collectors = {
    eden: () => calls.push("eden"),
    full: () => calls.push("full"),
    liveBytes: () => live.bytes,
  };
  return { calls, collectors };
}

describe("the pacer", () => {
  test("an eden collection each time the eden budget fills, a full one (and both budgets reset) when the full budget fills", () => {
    const { calls, collectors } = countingCollectors();
    const pace = garbagePacer({ edenEveryBytes: 100, fullEveryBytes: 350 }, collectors);
    const steps = [60, 39, 1, 99, 1, 100, 50, 100];
    const after = steps.map((bytes) => {
      pace(bytes);
      return calls.join(",");
    });
    expect(after).toEqual([
      "",
      "",
      "eden", // 100 bytes
      "eden", // 99 since the eden one
      "eden,eden", // 100 since it
      "eden,eden,eden", // 100 again; 300 in all
      "eden,eden,eden,full", // 350: the full budget, the eden budget restarts with it
      "eden,eden,eden,full,eden", // 100 since the full one
    ]);
  });

  test("one body larger than both budgets makes one full collection, not several", () => {
    const { calls, collectors } = countingCollectors();
    const pace = garbagePacer({ edenEveryBytes: 10, fullEveryBytes: 20 }, collectors);
    pace(1_000);
    expect(calls).toEqual(["full"]);
  });

  test("a full collection waits for as many bytes as the live heap holds, when that is more than the policy's", () => {
    const live = { bytes: 1_000 };
    const { calls, collectors } = countingCollectors(live);
    const pace = garbagePacer({ edenEveryBytes: 400, fullEveryBytes: 500 }, collectors);
    pace(600); // past the policy's 500, below the live heap's 1,000
    expect(calls).toEqual(["eden"]);
    pace(400); // 1,000 since the last full one
    expect(calls).toEqual(["eden", "full"]);
    live.bytes = 100; // a small heap: the policy's bound again
    pace(499);
    expect(calls).toEqual(["eden", "full", "eden"]);
    pace(1);
    expect(calls).toEqual(["eden", "full", "eden", "full"]);
  });

  test("the default policy: an eden collection every 256 KiB of bodies, a full one every 2 MiB", () => {
    expect(GARBAGE_POLICY).toEqual({ edenEveryBytes: 262_144, fullEveryBytes: 2_097_152 });
    const { calls, collectors } = countingCollectors();
    const pace = garbagePacer(GARBAGE_POLICY, collectors);
    for (let i = 0; i < 64; i++) pace(32 * 1024); // 2 MiB in 32 KiB bodies
    expect(calls.filter((c) => c === "eden")).toHaveLength(7);
    expect(calls.at(-1)).toBe("full");
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
