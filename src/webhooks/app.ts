/**
 * Where the webhook is served: a route on the main HTTP app, or a listener of its own (`--webhook.listen-address`)
 * that serves that route and nothing else, so only it needs to be exposed (an Ingress, a public load balancer).
 */
import { type Context, Hono } from "hono";
import type { Logger } from "../log/logger.ts";
import { WEBHOOK_PATH, type WebhookHandler } from "./receiver.ts";

/**
 * Bun's own body limit on a server with the webhook: none it would enforce. Bun refuses a body over its limit
 * before any handler runs, so that 413 would go uncounted; the receiver answers every size itself instead, from
 * the Content-Length or while a chunked body streams in, and never reads past MAX_WEBHOOK_BODY_BYTES. Bun streams
 * request bodies, so an unread one is never buffered (a 200 MiB body left the server's RSS unchanged).
 */
export const WEBHOOK_SERVER_MAX_BODY_BYTES = Number.MAX_SAFE_INTEGER;

/** Adds `POST /webhooks/pulumi` (and 405 for its other methods) to `app`. */
export function mountWebhookRoute(app: Hono, handle: WebhookHandler): void {
  app.post(WEBHOOK_PATH, (c) => handle(c.req.raw));
  app.all(WEBHOOK_PATH, (c) => c.text("method not allowed\n", 405, { Allow: "POST" }));
}

function notFound(c: Context): Response {
  return c.text("not found\n", 404);
}

/** The webhook listener's app: the route only; every other path is 404. */
export function createWebhookApp(handle: WebhookHandler, logger: Logger): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "no-store");
    await next();
  });
  mountWebhookRoute(app, handle);
  app.notFound(notFound);
  app.onError((error, c) => {
    logger.error("webhook handler failed", { error: error.message });
    return c.text("internal server error\n", 500);
  });
  return app;
}
