/**
 * --pulumi.max-response-bytes: a response body is counted as it streams in, after decompression; past the cap the
 * read stops, the connection is dropped, and the call fails once, without a retry.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { type LocalApi, observedClient, rejectionOf, startLocalApi } from "./support.ts";

let api: LocalApi | undefined;
let raw: ReturnType<typeof Bun.serve> | undefined;

afterEach(async () => {
  await api?.stop();
  await raw?.stop(true);
  api = undefined;
  raw = undefined;
});

const CAP = 1024;
const TOO_LARGE = `response body exceeds --pulumi.max-response-bytes (${CAP} bytes)`;

/** A teams body of exactly `bytes` bytes. */
function teamsBody(bytes: number): string {
  const frame = '{"teams":[{"name":""}]}';
  return `{"teams":[{"name":"${"t".repeat(bytes - frame.length)}"}]}`;
}

function serveText(path: string, body: string): LocalApi {
  api = startLocalApi((app) => {
    app.get(path, (c) => c.body(body, 200, { "content-type": "application/json" }));
  });
  return api;
}

describe("a plain body", () => {
  test("one byte over the cap fails once, not retried, with the exact message", async () => {
    const local = serveText("/api/orgs/:org/teams", teamsBody(CAP + 1));
    const { client, seen } = observedClient(local.url, { maxResponseBytes: CAP });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error).toBeInstanceOf(PulumiApiError);
    expect(error.message).toBe(`ListTeams: ${TOO_LARGE}`);
    expect((error as PulumiApiError).status).toBe(200);
    expect((error as PulumiApiError).attempts).toBe(1);
    expect(local.requests).toHaveLength(1);
    expect(seen.requests).toEqual([{ operation: "ListTeams", status: 200 }]);
    expect(seen.retries).toEqual([]);
  });

  test("just under and exactly the cap pass", async () => {
    for (const bytes of [CAP - 1, CAP]) {
      const body = teamsBody(bytes);
      expect(new TextEncoder().encode(body).byteLength).toBe(bytes);
      const local = serveText("/api/orgs/:org/teams", body);
      const { client, seen } = observedClient(local.url, { maxResponseBytes: CAP });
      expect(await client.listTeams("acme")).toEqual([{ name: "t".repeat(bytes - 23) }]);
      expect(seen.requests).toEqual([{ operation: "ListTeams", status: 200 }]);
      await local.stop();
    }
  });

  test("a single object and a later page of a list", async () => {
    const stacks = (n: number, token?: string) =>
      JSON.stringify({
        stacks: Array.from({ length: n }, (_, i) => ({
          orgName: "acme",
          projectName: "p",
          stackName: `s${i}`,
        })),
        ...(token ? { continuationToken: token } : {}),
      });
    api = startLocalApi((app) => {
      app.get("/api/user/stacks", (c) =>
        c.body(c.req.query("continuationToken") ? stacks(40) : stacks(2, "p2")),
      );
      app.get("/api/stacks/:org/:project/:stack/resources/count", (c) =>
        c.json({ resourceCount: 1, padding: "x".repeat(CAP) }),
      );
    });
    const { client, seen } = observedClient(api.url, { maxResponseBytes: CAP });
    expect((await rejectionOf(client.listStacks("acme"))).message).toBe(`ListUserStacks: ${TOO_LARGE}`);
    expect(
      (await rejectionOf(client.getStackResourceCount({ org: "a", project: "b", stack: "c" }))).message,
    ).toBe(`GetStackResourceCount: ${TOO_LARGE}`);
    expect(api.requests.map((r) => r.target)).toEqual([
      "/api/user/stacks?organization=acme",
      "/api/user/stacks?organization=acme&continuationToken=p2",
      "/api/stacks/a/b/c/resources/count",
    ]);
    expect(seen.retries).toEqual([]);
  });
});

describe("a gzip body", () => {
  test("small on the wire but past the cap once decompressed: the read stops and the stream is cancelled", async () => {
    // 1 MiB of JSON-ish text compresses to about a kilobyte. The server sends it, then would send more forever:
    // only a client that stops at the cap ends this request (any other would wait for the 2 s timeout).
    const inflated = new TextEncoder().encode(`{"teams":[{"name":"${"a".repeat(1 << 20)}`);
    const member = Bun.gzipSync(inflated);
    let cancelled = false;
    let served = 0;
    raw = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => {
        served++;
        const stream = new ReadableStream<Uint8Array>({
          start: (controller) => controller.enqueue(member),
          pull: () => new Promise<void>(() => {}),
          cancel: () => {
            cancelled = true;
          },
        });
        return new Response(stream, {
          headers: { "content-encoding": "gzip", "content-type": "application/json" },
        });
      },
    });
    expect(member.byteLength).toBeLessThan(8 * 1024);
    const cap = 64 * 1024;
    const { client, seen } = observedClient(`http://127.0.0.1:${raw.port}`, { maxResponseBytes: cap });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe(`ListTeams: response body exceeds --pulumi.max-response-bytes (${cap} bytes)`);
    expect(served).toBe(1);
    expect(seen.requests).toEqual([{ operation: "ListTeams", status: 200 }]);
    expect(seen.retries).toEqual([]);
    // The server learns of the dropped connection a moment later; 2 s bounds the wait, not the outcome.
    for (let i = 0; i < 200 && !cancelled; i++) await Bun.sleep(10);
    expect(cancelled).toBe(true);
  });

  test("a gzip body that decompresses to less than the cap is read", async () => {
    const body = teamsBody(CAP);
    raw = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response(Bun.gzipSync(body), { headers: { "content-encoding": "gzip" } }),
    });
    const { client } = observedClient(`http://127.0.0.1:${raw.port}`, { maxResponseBytes: CAP });
    expect(await client.listTeams("acme")).toEqual([{ name: "t".repeat(CAP - 23) }]);
  });
});

describe("error bodies", () => {
  test("a huge error body is not read past 64 KiB: the status still decides, without a detail", async () => {
    let calls = 0;
    api = startLocalApi((app) => {
      app.get("/api/orgs/:org/teams", (c) => {
        calls++;
        return c.json({ message: "x".repeat(1 << 20) }, 503);
      });
      app.get("/api/orgs/:org/members", (c) => c.json({ message: "short and useful" }, 400));
    });
    const { client, seen } = observedClient(api.url, { retry: { maxRetries: 2 } });
    expect((await rejectionOf(client.listTeams("acme"))).message).toBe(
      "ListTeams: HTTP 503 Service Unavailable after 3 attempts",
    );
    expect(calls).toBe(3);
    expect(seen.retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect((await rejectionOf(client.listMembers("acme"))).message).toBe(
      "ListOrganizationMembers: HTTP 400 Bad Request (short and useful)",
    );
  });
});

test("the cap must be a positive integer", () => {
  for (const maxResponseBytes of [0, -1, 1.5, Number.POSITIVE_INFINITY]) {
    expect(() => observedClient("http://127.0.0.1:1", { maxResponseBytes })).toThrow(
      "Pulumi client: maxResponseBytes must be a positive integer",
    );
  }
});
