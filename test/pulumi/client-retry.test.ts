import { afterEach, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { type LocalApi, observedClient, rejectionOf, startLocalApi, TOKEN } from "./support.ts";

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function serve(setup: Parameters<typeof startLocalApi>[0]): LocalApi {
  const api = startLocalApi(setup);
  cleanups.push(() => api.stop());
  return api;
}

const TEAMS = { teams: [{ name: "platform" }] };

/** Answers `failures` with `status` (plus `headers`), then succeeds. */
function failingThenOk(status: number, failures: number, headers: Record<string, string> = {}): LocalApi {
  let calls = 0;
  return serve((app) => {
    app.get("/api/orgs/:org/teams", (c) => {
      calls++;
      if (calls <= failures) return new Response(null, { status, headers });
      return c.json(TEAMS);
    });
  });
}

describe("retries transient failures with backoff", () => {
  for (const status of [408, 429, 500, 502, 503, 504]) {
    test(`HTTP ${status}`, async () => {
      const local = failingThenOk(status, 2);
      const { client, seen } = observedClient(local.url);
      expect(await client.listTeams("acme")).toEqual([{ name: "platform" }]);
      expect(local.requests).toHaveLength(3);
      expect(seen.requests).toEqual([
        { operation: "ListTeams", status },
        { operation: "ListTeams", status },
        { operation: "ListTeams", status: 200 },
      ]);
      // random() = 0.5 with equal jitter: 500 ms base → 250 + 125, then 1000 ms → 500 + 250.
      expect(seen.delays).toEqual([375, 750]);
      expect(seen.retries).toEqual([
        { operation: "ListTeams", attempt: 1, delayMs: 375 },
        { operation: "ListTeams", attempt: 2, delayMs: 750 },
      ]);
    });
  }

  test("backoff grows to maxDelayMs and stays there", async () => {
    const local = failingThenOk(503, 4);
    const { client, seen } = observedClient(local.url, { retry: { baseDelayMs: 400, maxDelayMs: 1000 } });
    await client.listTeams("acme");
    expect(seen.delays).toEqual([300, 600, 750, 750]);
  });

  test("gives up after maxRetries with the exact error", async () => {
    const local = failingThenOk(503, 100);
    const { client, seen } = observedClient(local.url);
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error).toBeInstanceOf(PulumiApiError);
    expect(error.message).toBe("ListTeams: HTTP 503 Service Unavailable after 5 attempts");
    const apiError = error as PulumiApiError;
    expect(apiError.operation).toBe("ListTeams");
    expect(apiError.status).toBe(503);
    expect(apiError.attempts).toBe(5);
    expect(local.requests).toHaveLength(5);
    expect(seen.delays).toEqual([375, 750, 1500, 3000]);
  });

  test("the API's own error message is added to the error", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.json({ code: 502, message: "upstream\n  unavailable" }, 502));
    });
    const { client } = observedClient(local.url, { retry: { maxRetries: 1 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe("ListTeams: HTTP 502 Bad Gateway after 2 attempts (upstream unavailable)");
  });

  test("an HTML error page is not quoted", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.html("<html><body>Bad gateway</body></html>", 502));
    });
    const { client } = observedClient(local.url, { retry: { maxRetries: 0 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe("ListTeams: HTTP 502 Bad Gateway");
  });

  test("maxRetries 0 makes exactly one attempt", async () => {
    const local = failingThenOk(500, 1);
    const { client, seen } = observedClient(local.url, { retry: { maxRetries: 0 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe("ListTeams: HTTP 500 Internal Server Error");
    expect(local.requests).toHaveLength(1);
    expect(seen.delays).toEqual([]);
  });
});

describe("Retry-After", () => {
  test("delta seconds are honoured", async () => {
    const local = failingThenOk(429, 1, { "Retry-After": "7" });
    const { client, seen } = observedClient(local.url);
    await client.listTeams("acme");
    expect(seen.delays).toEqual([7000]);
    expect(seen.retries).toEqual([{ operation: "ListTeams", attempt: 1, delayMs: 7000 }]);
  });

  test("an HTTP date is honoured relative to the injected clock", async () => {
    const now = Date.parse("2025-06-01T12:00:00Z");
    const local = failingThenOk(503, 1, { "Retry-After": new Date(now + 4000).toUTCString() });
    const { client, seen } = observedClient(local.url, { now: () => now });
    await client.listTeams("acme");
    expect(seen.delays).toEqual([4000]);
  });

  test("a wait longer than maxDelayMs is capped", async () => {
    const local = failingThenOk(429, 2, { "Retry-After": "3600" });
    const { client, seen } = observedClient(local.url, { retry: { maxDelayMs: 30_000 } });
    await client.listTeams("acme");
    expect(seen.delays).toEqual([30_000, 30_000]);
  });

  test("an unreadable value falls back to backoff", async () => {
    const local = failingThenOk(429, 1, { "Retry-After": "later" });
    const { client, seen } = observedClient(local.url);
    await client.listTeams("acme");
    expect(seen.delays).toEqual([375]);
  });
});

describe("fails at once on answers that will not change", () => {
  const cases: Array<[number, string]> = [
    [400, "ListTeams: HTTP 400 Bad Request (invalid query parameter)"],
    [401, "ListTeams: HTTP 401 Unauthorized (invalid query parameter)"],
    [403, "ListTeams: HTTP 403 Forbidden (invalid query parameter)"],
    [404, "ListTeams: HTTP 404 Not Found (invalid query parameter)"],
  ];
  for (const [status, message] of cases) {
    test(`HTTP ${status}`, async () => {
      const local = serve((app) => {
        app.get("/api/orgs/:org/teams", () =>
          Response.json({ code: status, message: "invalid query parameter" }, { status }),
        );
      });
      const { client, seen } = observedClient(local.url);
      const error = await rejectionOf(client.listTeams("acme"));
      expect(error.message).toBe(message);
      expect((error as PulumiApiError).status).toBe(status);
      expect((error as PulumiApiError).attempts).toBe(1);
      expect(local.requests).toHaveLength(1);
      expect(seen.requests).toEqual([{ operation: "ListTeams", status }]);
      expect(seen.delays).toEqual([]);
    });
  }

  test("a redirect is reported, not followed, so the token stays with the configured host", async () => {
    const local = serve((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.redirect("/elsewhere", 302));
      app.get("/elsewhere", (c) => c.json(TEAMS));
    });
    const { client } = observedClient(local.url);
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe("ListTeams: HTTP 302 Found");
    expect(local.requests.map((r) => r.target)).toEqual(["/api/orgs/acme/teams"]);
  });
});

/** A TCP server that resets the first `resets` connections and answers later ones with `body` as JSON. */
async function resettingServer(
  resets: number,
  body: unknown,
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    const reset = connections <= resets;
    socket.once("data", () => {
      if (reset) {
        socket.resetAndDestroy();
        return;
      }
      const payload = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { url: `http://127.0.0.1:${address.port}`, connections: () => connections };
}

describe("network failures", () => {
  test("a connection reset is retried", async () => {
    const server = await resettingServer(2, TEAMS);
    const { client, seen } = observedClient(server.url);
    expect(await client.listTeams("acme")).toEqual([{ name: "platform" }]);
    expect(server.connections()).toBe(3);
    expect(seen.requests.map((r) => r.status)).toEqual(["error", "error", 200]);
    expect(seen.delays).toEqual([375, 750]);
  });

  test("resets on every attempt give up with the error code", async () => {
    const server = await resettingServer(100, TEAMS);
    const { client } = observedClient(server.url, { retry: { maxRetries: 2 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe(
      `ListTeams: network error (ECONNRESET) reaching ${server.url.slice("http://".length)} after 3 attempts`,
    );
    expect((error as PulumiApiError).status).toBe("error");
    expect(server.connections()).toBe(3);
  });

  test("a refused connection", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const url = `http://127.0.0.1:${probe.port}`;
    await probe.stop(true);
    const { client, seen } = observedClient(url, { retry: { maxRetries: 1 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe(
      `ListTeams: network error (ECONNREFUSED) reaching ${url.slice("http://".length)} after 2 attempts`,
    );
    expect(seen.requests.map((r) => r.status)).toEqual(["error", "error"]);
  });
});

describe("timeouts, per attempt", () => {
  /** Never answers the first `stalls` requests (until the test ends), then answers normally. */
  function stallingServer(stalls: number, stall: "headers" | "body"): LocalApi {
    let calls = 0;
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    cleanups.push(() => release());
    return serve((app) => {
      app.get("/api/orgs/:org/teams", async (c) => {
        calls++;
        if (calls > stalls) return c.json(TEAMS);
        if (stall === "headers") {
          await released;
          return c.json(TEAMS);
        }
        // Headers and half the body now, the rest never: the timeout must cover reading the body too.
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"teams": ['));
          },
        });
        return new Response(stream, { headers: { "Content-Type": "application/json" } });
      });
    });
  }

  test("no response headers in time is retried", async () => {
    const local = stallingServer(1, "headers");
    const { client, seen } = observedClient(local.url, { timeoutMs: 250 });
    expect(await client.listTeams("acme")).toEqual([{ name: "platform" }]);
    expect(seen.requests.map((r) => r.status)).toEqual(["timeout", 200]);
    expect(seen.delays).toEqual([375]);
  });

  test("a body that stops arriving is a timeout too", async () => {
    const local = stallingServer(1, "body");
    const { client, seen } = observedClient(local.url, { timeoutMs: 250 });
    expect(await client.listTeams("acme")).toEqual([{ name: "platform" }]);
    expect(seen.requests.map((r) => r.status)).toEqual(["timeout", 200]);
  });

  test("timing out on every attempt gives up", async () => {
    const local = stallingServer(100, "headers");
    const { client } = observedClient(local.url, { timeoutMs: 50, retry: { maxRetries: 1 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe("ListTeams: request timed out (50 ms) after 2 attempts");
    expect((error as PulumiApiError).status).toBe("timeout");
    expect(local.requests).toHaveLength(2);
  });
});

test("an error response echoing the token is scrubbed", async () => {
  const local = serve((app) => {
    app.get("/api/orgs/:org/teams", (c) => c.json({ message: `bad token ${TOKEN}` }, 401));
  });
  const { client, seen } = observedClient(local.url);
  const error = await rejectionOf(client.listTeams("acme"));
  expect(error.message).toBe("ListTeams: HTTP 401 Unauthorized (bad token [REDACTED])");
  expect(seen.logLines.join("\n")).not.toContain(TOKEN);
});
