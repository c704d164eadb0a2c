import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import { createTestCertificate, type TestCertificate } from "../support/otlp-tls.ts";
import { type LocalApi, observedClient, rejectionOf, startLocalApi, TOKEN } from "./support.ts";

const CHILD = join(import.meta.dir, "fixtures", "list-teams.ts");
const TEAMS = { teams: [{ name: "platform" }] };

/** Runs the fixture in a fresh Bun with only the given environment (plus PATH), returns what it printed. */
async function runChild(baseUrl: string, env: Record<string, string>): Promise<unknown> {
  const child = Bun.spawn([process.execPath, CHILD, baseUrl], {
    env: { PATH: process.env.PATH ?? "", TEST_PULUMI_TOKEN: TOKEN, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`child exited ${code}: ${err}`);
  return JSON.parse(out);
}

/** A forward proxy for http:// targets: counts requests in absolute form and relays them. */
function startHttpProxy(): { url: string; targets: string[]; stop(): Promise<void> } {
  const targets: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      targets.push(request.url);
      const upstream = await fetch(request.url, { headers: request.headers });
      return new Response(await upstream.arrayBuffer(), {
        status: upstream.status,
        headers: upstream.headers,
      });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, targets, stop: () => server.stop(true) };
}

/** A CONNECT proxy for https:// targets: counts tunnels and splices bytes both ways. */
async function startConnectProxy(): Promise<{ url: string; tunnels: string[]; stop(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once("data", (head) => {
      const match = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString("latin1"));
      if (!match?.[1] || !match[2]) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        return;
      }
      tunnels.push(`${match[1]}:${match[2]}`);
      const upstream = tcpConnect(Number(match[2]), match[1], () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    tunnels,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("proxy environment variables (Bun's fetch reads them itself)", () => {
  let origin: LocalApi;
  beforeAll(() => {
    origin = startLocalApi((app) => {
      app.get("/api/orgs/:org/teams", (c) => c.json(TEAMS));
    });
  });
  afterAll(() => origin.stop());

  test("HTTP_PROXY carries requests to an http:// API through the proxy", async () => {
    const proxy = startHttpProxy();
    try {
      const before = origin.requests.length;
      expect(await runChild(origin.url, { HTTP_PROXY: proxy.url })).toEqual(TEAMS.teams);
      expect(proxy.targets).toEqual([`${origin.url}/api/orgs/acme/teams`]);
      const relayed = origin.requests.slice(before);
      expect(relayed.map((r) => r.target)).toEqual(["/api/orgs/acme/teams"]);
      expect(relayed[0]?.authorization).toBe(`token ${TOKEN}`);
    } finally {
      await proxy.stop();
    }
  });

  test("NO_PROXY naming the API host bypasses the proxy", async () => {
    const proxy = startHttpProxy();
    try {
      const before = origin.requests.length;
      expect(
        await runChild(origin.url, { HTTP_PROXY: proxy.url, NO_PROXY: "example.com,127.0.0.1" }),
      ).toEqual(TEAMS.teams);
      expect(proxy.targets).toEqual([]);
      expect(origin.requests.length - before).toBe(1);
    } finally {
      await proxy.stop();
    }
  });
});

describe("TLS", () => {
  let certificate: TestCertificate;
  let tlsOrigin: ReturnType<typeof Bun.serve>;
  let url: string;

  beforeAll(() => {
    certificate = createTestCertificate();
    tlsOrigin = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: certificate.cert, key: certificate.key },
      fetch: () => Response.json(TEAMS),
    });
    url = `https://127.0.0.1:${tlsOrigin.port}`;
  });
  afterAll(async () => {
    await tlsOrigin.stop(true);
    certificate.cleanup();
  });

  test("an unknown certificate authority is refused", async () => {
    const { client, seen } = observedClient(url, { retry: { maxRetries: 0 } });
    const error = await rejectionOf(client.listTeams("acme"));
    expect(error.message).toBe(
      `ListTeams: network error (DEPTH_ZERO_SELF_SIGNED_CERT) reaching ${url.slice("https://".length)}`,
    );
    expect(seen.requests).toEqual([{ operation: "ListTeams", status: "error" }]);
  });

  test("caFile adds a trusted certificate authority", async () => {
    const { client } = observedClient(url, { caFile: certificate.certFile });
    expect(await client.listTeams("acme")).toEqual([{ name: "platform" }]);
  });

  test("HTTPS_PROXY tunnels an https:// API through CONNECT, with caFile still applied", async () => {
    const proxy = await startConnectProxy();
    try {
      const result = await runChild(url, { HTTPS_PROXY: proxy.url, TEST_CA_FILE: certificate.certFile });
      expect(result).toEqual(TEAMS.teams);
      expect(proxy.tunnels).toEqual([`127.0.0.1:${tlsOrigin.port}`]);
    } finally {
      await proxy.stop();
    }
  });

  test("an unreadable caFile is reported when the client is made", () => {
    expect(() => createPulumiClient({ baseUrl: url, token: TOKEN, caFile: "/nonexistent/ca.pem" })).toThrow(
      "Pulumi client: cannot read CA file /nonexistent/ca.pem: ENOENT",
    );
  });
});

describe("options are checked when the client is made", () => {
  const base = { baseUrl: "https://api.pulumi.com", token: TOKEN };
  const cases: Array<[string, Parameters<typeof createPulumiClient>[0], string]> = [
    ["empty token", { ...base, token: "" }, "Pulumi client: access token is empty"],
    [
      "not a URL",
      { ...base, baseUrl: "api.pulumi.com" },
      'Pulumi client: base URL "api.pulumi.com" is not a URL',
    ],
    [
      "not http(s)",
      { ...base, baseUrl: "ftp://api.pulumi.com" },
      "Pulumi client: base URL must be http(s), got ftp:",
    ],
    ["zero timeout", { ...base, timeoutMs: 0 }, "Pulumi client: timeoutMs must be positive"],
    [
      "negative retries",
      { ...base, retry: { maxRetries: -1 } },
      "Pulumi client: retry.maxRetries must be a non-negative integer",
    ],
    ["no pages", { ...base, maxPages: 0 }, "Pulumi client: maxPages must be at least 1"],
  ];
  for (const [name, options, message] of cases) {
    test(name, () => {
      expect(() => createPulumiClient(options)).toThrow(message);
    });
  }
});
