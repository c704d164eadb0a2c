import { afterEach, describe, expect, test } from "bun:test";
import { ValueType } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { createLogger } from "../../src/log/logger.ts";
import type { MetricId } from "../../src/metrics/catalog.ts";
import type { GaugePoint } from "../../src/metrics/points.ts";
import { PrometheusPullReader } from "../../src/metrics/pull-reader.ts";
import { createServerApp, type Health, type ServerDeps } from "../../src/server/app.ts";
import type { PreviewSnapshot } from "../../src/server/preview.ts";
import { type RunningServer, startServer } from "../../src/server/serve.ts";
import { ServerStartError } from "../../src/server/server-start-error.ts";
import { VERSION } from "../../src/version.ts";

const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const SNAPSHOT: PreviewSnapshot = {
  takenAt: Date.UTC(2024, 0, 2, 3, 4, 5),
  summary: { stacks: 2, organizations: "acme" },
  readings: new Map<MetricId, readonly GaugePoint[]>([
    // Deliberately out of catalog order and label order: the page sorts both.
    ["exporterUp", [{ attributes: {}, value: 1 }]],
    [
      "stackResourceCount",
      [
        { attributes: { stack: "prod", org: "acme", project: "web" }, value: 42 },
        { attributes: { org: "acme", project: "api", stack: 'dev"1' }, value: 7 },
      ],
    ],
    ["orgMemberCount", []],
    ["exporterCollectDuration", [{ attributes: {}, value: Number.NaN }]],
  ]),
};

interface Fixture {
  health: Health;
  preview: PreviewSnapshot | undefined;
  scrape: () => Promise<string>;
  logs: string[];
}

function makeApp(overrides: Partial<Pick<ServerDeps, "previewEnabled">> = {}) {
  const state: Fixture = {
    health: { alive: true, ready: false },
    preview: undefined,
    scrape: async () => "# TYPE up gauge\nup 1\n",
    logs: [],
  };
  const app = createServerApp({
    health: () => state.health,
    scrape: () => state.scrape(),
    preview: () => state.preview,
    previewEnabled: overrides.previewEnabled ?? true,
    logger: createLogger({ write: (line) => state.logs.push(line) }),
  });
  return { app, state };
}

describe("health", () => {
  test("/healthz is ok while alive and 503 once stuck", async () => {
    const { app, state } = makeApp();
    const ok = await app.request("/healthz");
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("ok\n");
    expect(ok.headers.get("Content-Type")).toBe("text/plain; charset=UTF-8");
    state.health = { alive: false, ready: true };
    const stuck = await app.request("/healthz");
    expect(stuck.status).toBe(503);
    expect(await stuck.text()).toBe("stuck: the collection loop has stopped making progress\n");
  });

  test("/readyz is 503 until the first collection, then ok", async () => {
    const { app, state } = makeApp();
    const before = await app.request("/readyz");
    expect(before.status).toBe(503);
    expect(await before.text()).toBe("not ready: no collection cycle has finished yet\n");
    state.health = { alive: true, ready: true };
    const after = await app.request("/readyz");
    expect(after.status).toBe(200);
    expect(await after.text()).toBe("ok\n");
  });
});

describe("/metrics", () => {
  test("serves the scrape of a real reader with the Prometheus content type", async () => {
    const reader = new PrometheusPullReader();
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ "service.name": "pulumi-exporter" }),
      readers: [reader],
    });
    provider
      .getMeter("test")
      .createObservableGauge("pulumi_exporter_up", { description: "Up", valueType: ValueType.INT })
      .addCallback((result) => result.observe(1));
    const { app, state } = makeApp();
    state.scrape = () => reader.scrape();
    const response = await app.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await response.text()).toBe(
      [
        "# HELP target_info Target metadata",
        "# TYPE target_info gauge",
        'target_info{service_name="pulumi-exporter"} 1',
        "# HELP pulumi_exporter_up Up",
        "# TYPE pulumi_exporter_up gauge",
        "pulumi_exporter_up 1",
        "",
      ].join("\n"),
    );
    await provider.shutdown();
  });

  test("is gzip-compressed when the client accepts it", async () => {
    const { app, state } = makeApp();
    const body = Array.from(
      { length: 500 },
      (_, i) => `pulumi_stack_resource_count{stack="s${i}"} ${i}`,
    ).join("\n");
    state.scrape = async () => body;
    const response = await app.request("/metrics", { headers: { "Accept-Encoding": "gzip" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Encoding")).toBe("gzip");
    expect(response.headers.get("Vary")).toBe("Accept-Encoding");
    const zipped = new Uint8Array(await response.arrayBuffer());
    expect(zipped.length).toBeLessThan(body.length);
    expect(new TextDecoder().decode(Bun.gunzipSync(zipped))).toBe(body);
  });

  test("a failing scrape is a generic 500, logged, without the error's details in the response", async () => {
    const { app, state } = makeApp();
    state.scrape = async () => {
      throw new Error("collect exploded at /secret/path");
    };
    const response = await app.request("/metrics");
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toBe("internal server error\n");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(state.logs).toHaveLength(1);
    expect(state.logs[0]).toContain("level=error");
    expect(state.logs[0]).toContain(
      'msg="HTTP handler failed" path=/metrics error="collect exploded at /secret/path"',
    );
  });
});

describe("/metrics-preview", () => {
  test("text groups the gauges by metric in catalog order with one line per series", async () => {
    const { app, state } = makeApp();
    state.preview = SNAPSHOT;
    const response = await app.request("/metrics-preview");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/plain; charset=UTF-8");
    expect(await response.text()).toBe(
      [
        "Pulumi exporter: metrics of the last collection",
        "Taken at: 2024-01-02T03:04:05.000Z",
        "",
        "Summary",
        "  stacks: 2",
        "  organizations: acme",
        "",
        "# pulumi_stack_resource_count (gauge): Number of resources in a Pulumi stack",
        'pulumi_stack_resource_count{org="acme",project="api",stack="dev\\"1"} 7',
        'pulumi_stack_resource_count{org="acme",project="web",stack="prod"} 42',
        "",
        "# pulumi_org_member_count (gauge): Number of members in a Pulumi organization",
        "(no series)",
        "",
        "# pulumi_exporter_up (gauge): 1 when the last collection cycle listed the stacks of every configured organization",
        "pulumi_exporter_up 1",
        "",
        "# pulumi_exporter_collect_duration_seconds (gauge): Wall time of the last collection cycle in seconds",
        "pulumi_exporter_collect_duration_seconds NaN",
        "",
      ].join("\n"),
    );
  });

  test("?format=json has a stable shape", async () => {
    const { app, state } = makeApp();
    state.preview = SNAPSHOT;
    const response = await app.request("/metrics-preview?format=json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    expect(await response.json()).toEqual({
      takenAt: Date.UTC(2024, 0, 2, 3, 4, 5),
      summary: { stacks: 2, organizations: "acme" },
      metrics: [
        {
          name: "pulumi_stack_resource_count",
          kind: "gauge",
          description: "Number of resources in a Pulumi stack",
          points: [
            { attributes: { org: "acme", project: "api", stack: 'dev"1' }, value: 7 },
            { attributes: { stack: "prod", org: "acme", project: "web" }, value: 42 },
          ],
        },
        {
          name: "pulumi_org_member_count",
          kind: "gauge",
          description: "Number of members in a Pulumi organization",
          points: [],
        },
        {
          name: "pulumi_exporter_up",
          kind: "gauge",
          description: "1 when the last collection cycle listed the stacks of every configured organization",
          points: [{ attributes: {}, value: 1 }],
        },
        {
          name: "pulumi_exporter_collect_duration_seconds",
          kind: "gauge",
          description: "Wall time of the last collection cycle in seconds",
          points: [{ attributes: {}, value: null }],
        },
      ],
    });
  });

  test("a snapshot without a collection time says so", async () => {
    const { app, state } = makeApp();
    state.preview = { takenAt: undefined, summary: {}, readings: new Map() };
    expect(await (await app.request("/metrics-preview")).text()).toBe(
      "Pulumi exporter: metrics of the last collection\nTaken at: not yet\n",
    );
    expect(await (await app.request("/metrics-preview?format=json")).json()).toEqual({
      takenAt: null,
      summary: {},
      metrics: [],
    });
  });

  test("is 503 before the first collection", async () => {
    const { app } = makeApp();
    for (const path of ["/metrics-preview", "/metrics-preview?format=json"]) {
      const response = await app.request(path);
      expect(response.status).toBe(503);
      expect(await response.text()).toBe("no collection yet\n");
    }
  });

  test("is 404 when disabled", async () => {
    const { app, state } = makeApp({ previewEnabled: false });
    state.preview = SNAPSHOT;
    const response = await app.request("/metrics-preview");
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("not found\n");
  });

  test("an unknown format is 400 without echoing it", async () => {
    const { app, state } = makeApp();
    state.preview = SNAPSHOT;
    const response = await app.request("/metrics-preview?format=%3Cb%3Exml");
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("format must be text, json or html\n");
  });
});

describe("landing page", () => {
  test("links every route with relative links", async () => {
    const { app } = makeApp();
    const response = await app.request("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=UTF-8");
    expect(response.headers.get("Content-Security-Policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    const html = await response.text();
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(hrefs).toEqual(["metrics", "metrics-preview", "healthz", "readyz"]);
    expect(html).toContain(`<p>Version ${VERSION}</p>`);
  });

  test("leaves the preview out when it is disabled", async () => {
    const { app } = makeApp({ previewEnabled: false });
    const html = await (await app.request("/")).text();
    expect([...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1])).toEqual(["metrics", "healthz", "readyz"]);
  });
});

describe("request handling", () => {
  test.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])(
    "%s is 405 with an Allow header",
    async (method) => {
      const { app } = makeApp();
      for (const path of ["/", "/metrics", "/healthz", "/nowhere"]) {
        const response = await app.request(path, { method, body: method === "OPTIONS" ? null : "payload" });
        expect(response.status).toBe(405);
        expect(response.headers.get("Allow")).toBe("GET, HEAD");
        expect(await response.text()).toBe("method not allowed\n");
      }
    },
  );

  test("unknown paths are 404 without reflecting the path", async () => {
    const { app } = makeApp();
    for (const path of [
      "/<script>alert(1)</script>",
      "/metrics/",
      "/healthz/x",
      "/%22%3E%3Cimg%20src=x%3E",
    ]) {
      const response = await app.request(path);
      expect(response.status).toBe(404);
      expect(response.headers.get("Content-Type")).toBe("text/plain; charset=UTF-8");
      const text = await response.text();
      expect(text).toBe("not found\n");
      expect(text).not.toContain("script");
    }
  });

  test("request targets over 2 KiB are 414", async () => {
    const { app } = makeApp();
    const atLimit = await app.request(`/healthz?${"a".repeat(2048 - "/healthz?".length)}`);
    expect(atLimit.status).toBe(200);
    const over = await app.request(`/healthz?${"a".repeat(2049 - "/healthz?".length)}`);
    expect(over.status).toBe(414);
    expect(await over.text()).toBe("request URI too long\n");
  });

  test("HEAD answers like GET without a body", async () => {
    const { app } = makeApp();
    const health = await app.request("/healthz", { method: "HEAD" });
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("");
    const metrics = await app.request("/metrics", { method: "HEAD" });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("Content-Type")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(await metrics.text()).toBe("");
    const missing = await app.request("/missing", { method: "HEAD" });
    expect(missing.status).toBe(404);
  });
});

describe("startServer", () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  test("serves the app on a real socket and stops", async () => {
    const { app, state } = makeApp();
    state.health = { alive: true, ready: true };
    running = startServer(app, "127.0.0.1:0");
    expect(running.hostname).toBe("127.0.0.1");
    expect(running.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${running.port}`;

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("Content-Type")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(await metrics.text()).toBe("# TYPE up gauge\nup 1\n");

    const ready = await fetch(`${base}/readyz`);
    expect(await ready.text()).toBe("ok\n");

    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x".repeat(1000) });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
    await post.text();

    const tooLarge = await fetch(`${base}/metrics`, { method: "POST", body: "x".repeat(64 * 1024) });
    expect(tooLarge.status).toBe(413);
    await tooLarge.text();

    const port = running.port;
    await running.stop();
    running = undefined;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test("an empty host serves IPv4 and IPv6 clients on one port", async () => {
    const { app, state } = makeApp();
    state.health = { alive: true, ready: true };
    running = startServer(app, ":0");
    expect(running.hostname).toBe("::");
    for (const host of ["127.0.0.1", "[::1]"]) {
      const response = await fetch(`http://${host}:${running.port}/readyz`);
      expect([host, response.status, await response.text()]).toEqual([host, 200, "ok\n"]);
    }
  });

  test("an empty host falls back to every IPv4 interface when the dual-stack socket cannot be bound", async () => {
    const { app, state } = makeApp();
    state.health = { alive: true, ready: true };
    // An IPv6-only listener holds the port, so the dual-stack bind fails while IPv4 is still free.
    const blocker = Bun.serve({
      hostname: "::",
      port: 0,
      ipv6Only: true,
      reusePort: false,
      development: false,
      fetch: () => new Response("blocker\n"),
    });
    try {
      running = startServer(app, `:${blocker.port}`);
      expect(running.hostname).toBe("0.0.0.0");
      expect(await (await fetch(`http://127.0.0.1:${blocker.port}/readyz`)).text()).toBe("ok\n");
      expect(await (await fetch(`http://[::1]:${blocker.port}/readyz`)).text()).toBe("blocker\n");
    } finally {
      await blocker.stop(true);
    }
  });

  test("a port already in use is a clear error", async () => {
    const { app } = makeApp();
    running = startServer(app, "127.0.0.1:0");
    const address = `127.0.0.1:${running.port}`;
    expect(() => startServer(app, address)).toThrow(ServerStartError);
    expect(() => startServer(app, address)).toThrow(`cannot listen on "${address}": `);
  });

  test("a malformed address is rejected before binding", () => {
    const { app } = makeApp();
    expect(() => startServer(app, "8080")).toThrow('invalid listen address "8080": missing port');
  });
});
