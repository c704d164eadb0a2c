/** HTTP routes: health, readiness, Prometheus `/metrics`, the metrics preview and a landing page. */
import { Hono } from "hono";
import { compress } from "hono/compress";
import type { Logger } from "../log/logger.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../metrics/prometheus.ts";
import { VERSION } from "../version.ts";
import { mountWebhookRoute } from "../webhooks/app.ts";
import { WEBHOOK_PATH, type WebhookHandler } from "../webhooks/receiver.ts";
import { type PreviewSnapshot, previewDocument, renderPreviewText } from "./preview.ts";
import { escapeHtml, PREVIEW_HTML_CSP, renderPreviewHtml } from "./preview-html.ts";
import { type OrgHealth, readiness } from "./readiness.ts";

/** Longest request target (path and query) served; longer ones get 414. */
export const MAX_REQUEST_TARGET_LENGTH = 2048;

export interface Health {
  /** False once the collection loop is stuck. */
  readonly alive: boolean;
  /** True once the first collection cycle has finished. */
  readonly ready: boolean;
  /** True while the state file is read back (no cycle runs before that). */
  readonly restoring?: boolean;
  /** Collection cycles finished so far. */
  readonly cycles?: number;
  /** Each configured organization as of the last cycle (empty before the first). */
  readonly organizations?: readonly OrgHealth[];
}

export interface ServerDeps {
  health(): Health;
  /** The Prometheus text exposition of the current metrics. */
  scrape(): Promise<string>;
  /** The last collection's gauges, or undefined while none has finished. */
  preview(): PreviewSnapshot | undefined;
  previewEnabled: boolean;
  logger: Logger;
  /** Epoch ms, for the relative times of the preview page; Date.now by default. */
  now?: () => number;
  /** Serves `POST /webhooks/pulumi` here (webhooks on, without a listener of their own); absent: 404. */
  webhook?: WebhookHandler;
}

const ALLOW = "GET, HEAD";

/** Relative links, so the page also works behind a reverse proxy that serves it under a path prefix. */
function landingPage(previewEnabled: boolean): string {
  const links: Array<[href: string, text: string]> = [
    ["metrics", "Prometheus metrics"],
    ...(previewEnabled ? [["metrics-preview", "Preview of the last collection"] as [string, string]] : []),
    ["healthz", "Liveness"],
    ["readyz", "Readiness"],
  ];
  const items = links.map(([href, text]) => `<li><a href="${href}">/${href}</a> ${text}</li>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pulumi exporter</title></head>
<body>
<h1>Pulumi exporter</h1>
<p>Version ${escapeHtml(VERSION)}</p>
<ul>
${items}
</ul>
</body>
</html>
`;
}

function requestTargetLength(url: string): number {
  // The request target starts at the first "/" after "scheme://host".
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  return pathStart === -1 ? 0 : url.length - pathStart;
}

export function createServerApp(deps: ServerDeps): Hono {
  const app = new Hono();
  const landing = landingPage(deps.previewEnabled);

  app.use(async (c, next) => {
    // Nothing here is cacheable or meant to be sniffed, framed or embedded.
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "no-store");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (requestTargetLength(c.req.url) > MAX_REQUEST_TARGET_LENGTH)
      return c.text("request URI too long\n", 414);
    if (c.req.path === WEBHOOK_PATH) {
      if (deps.webhook === undefined) return c.text("not found\n", 404);
      return next();
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      return c.text("method not allowed\n", 405, { Allow: ALLOW });
    }
    await next();
  });
  // Large fleets make multi-megabyte pages; Prometheus asks for gzip.
  app.use("/metrics", compress());
  app.use("/metrics-preview", compress());

  if (deps.webhook !== undefined) mountWebhookRoute(app, deps.webhook);

  app.get("/", (c) => c.html(landing));

  app.get("/healthz", (c) =>
    deps.health().alive
      ? c.text("ok\n")
      : c.text("stuck: the collection loop has stopped making progress\n", 503),
  );

  app.get("/readyz", (c) => {
    const answer = readiness(deps.health());
    const status = answer.ready ? 200 : 503;
    const json =
      c.req.query("verbose") !== undefined || (c.req.header("accept") ?? "").includes("application/json");
    return json ? c.json(answer.document, status) : c.text(`${answer.text}\n`, status);
  });

  app.get("/metrics", async (c) => {
    const text = await deps.scrape();
    return c.body(text, 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
  });

  app.get("/metrics-preview", (c) => {
    if (!deps.previewEnabled) return c.notFound();
    // Browsers ask for HTML and get the page for people; curl and scripts get text unless they ask.
    const wantsHtml = (c.req.header("accept") ?? "").includes("text/html");
    const format = c.req.query("format") ?? (wantsHtml ? "html" : "text");
    if (format !== "text" && format !== "json" && format !== "html")
      return c.text("format must be text, json or html\n", 400);
    const snapshot = deps.preview();
    if (snapshot === undefined) return c.text("no collection yet\n", 503);
    if (format === "json") return c.json(previewDocument(snapshot));
    if (format === "text") return c.text(renderPreviewText(snapshot));
    const organizations = deps.health().organizations ?? [];
    const page = renderPreviewHtml({
      snapshot,
      organizations,
      version: VERSION,
      now: (deps.now ?? Date.now)(),
    });
    return c.html(page, 200, { "Content-Security-Policy": PREVIEW_HTML_CSP });
  });

  app.notFound((c) => c.text("not found\n", 404));

  app.onError((error, c) => {
    deps.logger.error("HTTP handler failed", { path: c.req.path, error: error.message });
    return c.text("internal server error\n", 500);
  });

  return app;
}
