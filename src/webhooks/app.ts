/**
 * Where the webhook is served: a route on the main HTTP app, or a listener of its own (`--webhook.listen-address`)
 * that serves that route and nothing else, so only it needs to be exposed (an Ingress, a public load balancer).
 */
import { type Context, Hono } from "hono";
import type { Logger } from "../log/logger.ts";
import { MAX_WEBHOOK_BODY_BYTES } from "./body.ts";
import { WEBHOOK_PATH, type WebhookHandler } from "./receiver.ts";

/**
 * What a server with the webhook lets Bun buffer per request. Above the receiver's own limit, so the receiver
 * answers (and counts) a body of up to this size with 413 itself; a larger declared one Bun refuses on its own.
 */
export const WEBHOOK_SERVER_MAX_BODY_BYTES = 2 * MAX_WEBHOOK_BODY_BYTES;

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
