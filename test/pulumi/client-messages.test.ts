import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiHostPort, type FetchFn, looksLikeConsole } from "../../src/pulumi/client.ts";
import type { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { observedClient, rejectionOf } from "./support.ts";

const PAGE = "<!doctype html>\n<html><head><title>Pulumi Cloud</title></head><body>Sign in</body></html>";
const HINT = "the API URL looks like the Pulumi console; use --pulumi.api-url=https://api.pulumi.com";

/** A console-like server: HTML pages for everything, a proxy's 403 page under /proxy/. */
let server: ReturnType<typeof Bun.serve>;
let local: string;
beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path.startsWith("/proxy/"))
        return new Response("<html><body>Sign in to the proxy</body></html>", {
          status: 403,
          headers: { "Content-Type": "text/html" },
        });
      if (path.startsWith("/untyped/"))
        return new Response(PAGE, { headers: { "Content-Type": "application/octet-stream" } });
      return new Response(PAGE, { headers: { "Content-Type": "text/html; charset=utf-8" } });
    },
  });
  local = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.stop(true);
});

/** Sends every request to the local server, whatever host the client was given. */
function toLocal(prefix = ""): FetchFn {
  return (request, init) => {
    const url = new URL(request.url);
    return fetch(new Request(`${local}${prefix}${url.pathname}${url.search}`, request), init);
  };
}

describe("an HTML page where JSON was expected", () => {
  test("says so with status and content type, and points a console URL at the API", async () => {
    const { client, seen } = observedClient("https://app.pulumi.com", { fetch: toLocal() });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe(
      `ListTeams: got an HTML page (200, text/html) where JSON was expected (${HINT})`,
    );
    expect((error as PulumiApiError).status).toBe(200);
    // A 200 page is not retried: the same URL gives the same page.
    expect(seen.requests).toEqual([{ operation: "ListTeams", status: 200 }]);
  });

  test("a list, a single object and the stack list all say it", async () => {
    const { client } = observedClient("https://app.pulumi.com", { fetch: toLocal() });
    expect((await rejectionOf(client.listStacks("acme"))).message).toBe(
      `ListUserStacks: got an HTML page (200, text/html) where JSON was expected (${HINT})`,
    );
    expect((await rejectionOf(client.getPolicyResultsMetadata("acme"))).message).toBe(
      `GetPolicyResultsMetadata: got an HTML page (200, text/html) where JSON was expected (${HINT})`,
    );
  });

  test("a page sent with another content type is recognized by its start", async () => {
    const { client } = observedClient(local, { fetch: toLocal("/untyped") });
    expect((await rejectionOf(client.listTeams("acme"))).message).toBe(
      `ListTeams: got an HTML page (200, application/octet-stream) where JSON was expected (${HINT})`,
    );
  });

  test("an API host (api.*) gets no console hint", async () => {
    const { client } = observedClient("https://api.example.test", { fetch: toLocal() });
    expect((await rejectionOf(client.listTeams("acme"))).message).toBe(
      "ListTeams: got an HTML page (200, text/html) where JSON was expected",
    );
  });

  test("an HTML error page names the status and what came back, with the hint for a console URL", async () => {
    const api = observedClient("https://api.example.test", { fetch: toLocal("/proxy") });
    expect((await rejectionOf(api.client.listTeams("acme"))).message).toBe(
      "ListTeams: HTTP 403 Forbidden (got an HTML page (text/html) where JSON was expected)",
    );
    const console = observedClient("https://app.pulumi.com", { fetch: toLocal("/proxy") });
    expect((await rejectionOf(console.client.listTeams("acme"))).message).toBe(
      `ListTeams: HTTP 403 Forbidden (got an HTML page (text/html) where JSON was expected; ${HINT})`,
    );
  });
});

describe("network errors name the host", () => {
  test("a refused connection", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port;
    await probe.stop(true);
    const { client } = observedClient(`http://127.0.0.1:${port}`, { retry: { maxRetries: 0 } });
    expect((await rejectionOf(client.listTeams("acme"))).message).toBe(
      `ListTeams: network error (ECONNREFUSED) reaching 127.0.0.1:${port}`,
    );
  });

  test("host and port, the scheme's default port when the URL has none", () => {
    expect(apiHostPort(new URL("https://api.pulumi.com"))).toBe("api.pulumi.com:443");
    expect(apiHostPort(new URL("http://pulumi.internal/"))).toBe("pulumi.internal:80");
    expect(apiHostPort(new URL("http://[::1]:8080"))).toBe("[::1]:8080");
  });
});

describe("looksLikeConsole", () => {
  test("the console and hosts that do not start with api.", () => {
    expect(looksLikeConsole(new URL("https://app.pulumi.com"))).toBe(true);
    expect(looksLikeConsole(new URL("https://pulumi.example.com"))).toBe(true);
    expect(looksLikeConsole(new URL("https://api.pulumi.com"))).toBe(false);
    expect(looksLikeConsole(new URL("https://api.pulumi.example.com/"))).toBe(false);
  });
});
