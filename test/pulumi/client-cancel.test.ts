import { afterAll, describe, expect, test } from "bun:test";
import { createPulumiClient } from "../../src/pulumi/client.ts";

let hits = 0;
// Answers 503 to teams (retried) and never answers members (hangs until the client gives up).
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch(request) {
    hits++;
    if (new URL(request.url).pathname.endsWith("/teams")) return new Response("busy", { status: 503 });
    return new Promise<Response>(() => {});
  },
});
afterAll(() => server.stop(true));

function client(sleeps: number[]) {
  return createPulumiClient({
    baseUrl: `http://127.0.0.1:${server.port}`,
    token: "pul-cancel-token",
    timeoutMs: 60_000,
    retry: { maxRetries: 4, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise(() => {});
    },
  });
}

describe("withSignal", () => {
  test("abandons a request in flight when the signal aborts", async () => {
    const controller = new AbortController();
    const pending = client([]).withSignal?.(controller.signal).listMembers("acme");
    await Bun.sleep(20);
    controller.abort();
    await expect(pending).rejects.toThrow("ListOrganizationMembers: cancelled at the cycle deadline");
  });

  test("abandons the wait between retries", async () => {
    const controller = new AbortController();
    const sleeps: number[] = [];
    hits = 0;
    const pending = client(sleeps).withSignal?.(controller.signal).listTeams("acme");
    for (let i = 0; i < 100 && sleeps.length === 0; i++) await Bun.sleep(5);
    controller.abort();
    await expect(pending).rejects.toThrow("ListTeams: cancelled at the cycle deadline");
    expect(hits).toBe(1);
    expect(sleeps).toHaveLength(1);
  });
});
