/**
 * `scoped({ signal, onRequest })`: a view of the same client whose every HTTP attempt, retries included, is also
 * reported to the scope, and whose requests stop once the scope's signal has aborted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Operation } from "../../src/pulumi/api.ts";
import type { PulumiApiStatus } from "../../src/pulumi/pulumi-api-error.ts";
import { type LocalApi, observedClient, rejectionOf, startLocalApi } from "./support.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Teams answers 503 once, then the list; stacks lists one stack. */
function serve(): LocalApi {
  let teamCalls = 0;
  const api = startLocalApi((app) => {
    app.get("/api/orgs/:org/teams", (c) => {
      teamCalls++;
      return teamCalls === 1
        ? new Response(null, { status: 503 })
        : c.json({ teams: [{ name: "platform" }] });
    });
    app.get("/api/user/stacks", (c) =>
      c.json({ stacks: [{ orgName: "acme", projectName: "p", stackName: "s", lastUpdate: 1 }] }),
    );
  });
  cleanups.push(() => api.stop());
  return api;
}

type Attempt = [Operation, PulumiApiStatus];

function recorder(): {
  attempts: Attempt[];
  onRequest: (operation: Operation, status: PulumiApiStatus) => void;
} {
  const attempts: Attempt[] = [];
  return { attempts, onRequest: (operation, status) => attempts.push([operation, status]) };
}

describe("scoped", () => {
  test("every attempt of the view, the retried 503 included, reaches the scope and the client's hooks", async () => {
    const local = serve();
    const { client, seen } = observedClient(local.url);
    const cycle = recorder();
    const view = client.scoped?.({ onRequest: cycle.onRequest });
    expect(await view?.listTeams("acme")).toEqual([{ name: "platform" }]);
    expect(cycle.attempts).toEqual([
      ["ListTeams", 503],
      ["ListTeams", 200],
    ]);
    expect(seen.requests).toEqual([
      { operation: "ListTeams", status: 503 },
      { operation: "ListTeams", status: 200 },
    ]);
    expect(local.requests).toHaveLength(2);
  });

  test("calls made outside the view are not counted in it; nested views report to both scopes", async () => {
    const local = serve();
    const { client } = observedClient(local.url);
    const outer = recorder();
    const inner = recorder();
    const view = client.scoped?.({ onRequest: outer.onRequest });
    await client.listStacks("acme");
    await view?.scoped?.({ onRequest: inner.onRequest }).listStacks("acme");
    expect(outer.attempts).toEqual([["ListUserStacks", 200]]);
    expect(inner.attempts).toEqual([["ListUserStacks", 200]]);
    expect(local.requests).toHaveLength(2);
  });

  test("once the scope's signal has aborted, no request is sent and none is reported", async () => {
    const local = serve();
    const { client, seen } = observedClient(local.url);
    const cycle = recorder();
    const controller = new AbortController();
    controller.abort();
    const view = client.scoped?.({ signal: controller.signal, onRequest: cycle.onRequest });
    const error = await rejectionOf(view?.listTeams("acme") ?? Promise.resolve());
    expect(error.message).toContain("ListTeams: cancelled at the cycle deadline");
    expect({ sent: local.requests.length, scope: cycle.attempts, hooks: seen.requests }).toEqual({
      sent: 0,
      scope: [],
      hooks: [],
    });
    // The client itself is not cancelled.
    expect(await client.listStacks("acme")).toHaveLength(1);
  });
});
