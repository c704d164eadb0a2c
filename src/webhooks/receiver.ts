/**
 * The webhook receiver: `POST /webhooks/pulumi` from Pulumi Cloud, turned into triggers for the collector.
 *
 * In this order: a body over 1 MiB is refused (413) before it is read to the end; the signature is checked over
 * the raw body (401, nothing else happens); a kind the exporter does not act on is answered 204; the body must be
 * JSON of the kind's shape (400); a delivery ID seen within the hour is a duplicate (200, no effect); anything
 * else is accepted (202) and its triggers are handed to the sink, which only queues. An event of an organization
 * that is not configured is accepted and triggers nothing. Every answer is counted by kind and outcome.
 */
import type { TriggerSink } from "../collect/triggers.ts";
import type { Logger } from "../log/logger.ts";
import { readBodyCapped } from "./body.ts";
import { DeliveryIds, MAX_DELIVERY_ID_LENGTH } from "./deliveries.ts";
import { isWebhookKind, parseWebhookEvent, triggersOf, type WebhookKind } from "./events.ts";
import { verifyWebhookSignature } from "./signature.ts";

export const WEBHOOK_PATH = "/webhooks/pulumi";

export const WEBHOOK_OUTCOMES = [
  "accepted",
  "duplicate",
  "bad_signature",
  "malformed",
  "unsupported",
  "too_large",
] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** The `kind` label: a kind the exporter acts on, else `other` (the header is the sender's, so it is bounded). */
export type WebhookKindLabel = WebhookKind | "other";

/** Counts each answer (the metrics side implements it). */
export type WebhookRecorder = (kind: WebhookKindLabel, outcome: WebhookOutcome) => void;

export interface WebhookReceiverOptions {
  /** Asked on every request, so a reloaded secret applies at once. */
  readonly secret: () => string;
  /** The configured organizations; events of any other are ignored. */
  readonly organizations: readonly string[];
  readonly sink: TriggerSink;
  readonly record: WebhookRecorder;
  readonly logger: Logger;
  /** Epoch ms, for the duplicate window. */
  readonly now: () => number;
}

export type WebhookHandler = (request: Request) => Promise<Response>;

const STATUS: Record<WebhookOutcome, number> = {
  accepted: 202,
  duplicate: 200,
  bad_signature: 401,
  malformed: 400,
  unsupported: 204,
  too_large: 413,
};

const TEXT: Record<WebhookOutcome, string> = {
  accepted: "accepted\n",
  duplicate: "duplicate delivery; already accepted\n",
  bad_signature: "missing or wrong Pulumi-Webhook-Signature\n",
  malformed: "not a Pulumi Cloud webhook payload\n",
  unsupported: "",
  too_large: "payload too large\n",
};

function answer(outcome: WebhookOutcome): Response {
  const status = STATUS[outcome];
  // 204 carries no body.
  if (status === 204) return new Response(null, { status });
  return new Response(TEXT[outcome], { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/**
 * Warns once when a kind of rejection starts and again only after an accepted event ended the streak, so a flood
 * of forged or broken requests cannot flood the log.
 */
function streakLogger(logger: Logger) {
  const warned = new Set<WebhookOutcome>();
  return {
    rejected(outcome: WebhookOutcome, message: string, fields: Record<string, string>): void {
      if (warned.has(outcome)) logger.debug(message, fields);
      else {
        warned.add(outcome);
        logger.warn(`${message} (further ones are logged at debug level until one is accepted)`, fields);
      }
    },
    accepted(): void {
      warned.clear();
    },
  };
}

function kindLabel(header: string | null): WebhookKindLabel {
  return header !== null && isWebhookKind(header) ? header : "other";
}

function parseJson(body: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)) };
  } catch {
    return { ok: false };
  }
}

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookHandler {
  const { logger, record, sink } = options;
  const seen = new DeliveryIds({ now: options.now });
  const streaks = streakLogger(logger);
  // Pulumi's organization names are case-insensitive; triggers carry the configured spelling.
  const configured = new Map(options.organizations.map((org) => [org.toLowerCase(), org]));

  return async (request) => {
    const kindHeader = request.headers.get("pulumi-webhook-kind");
    const label = kindLabel(kindHeader);
    const finish = (outcome: WebhookOutcome): Response => {
      record(label, outcome);
      return answer(outcome);
    };

    const read = await readBodyCapped(request);
    if (!read.ok && read.reason === "unreadable") return finish("malformed");
    if (!read.ok) {
      streaks.rejected("too_large", "webhook rejected: payload over 1 MiB", { kind: label });
      return finish("too_large");
    }
    if (
      !verifyWebhookSignature(options.secret(), read.body, request.headers.get("pulumi-webhook-signature"))
    ) {
      streaks.rejected("bad_signature", "webhook rejected: missing or wrong signature; check the secret", {
        kind: label,
      });
      return finish("bad_signature");
    }
    if (label === "other") return finish("unsupported");
    const kind = label;

    const id = request.headers.get("pulumi-webhook-id");
    const json = parseJson(read.body);
    const parsed = json.ok ? parseWebhookEvent(kind, json.value) : { ok: false as const, reason: "not JSON" };
    if (!parsed.ok || (id !== null && id.length > MAX_DELIVERY_ID_LENGTH)) {
      const reason = parsed.ok ? "delivery ID too long" : parsed.reason;
      streaks.rejected("malformed", "webhook rejected: malformed payload", { kind, reason });
      return finish("malformed");
    }
    if (id !== null && seen.has(id)) return finish("duplicate");
    if (id !== null) seen.remember(id);
    streaks.accepted();

    const org = configured.get(parsed.event.org.toLowerCase());
    if (org === undefined) {
      logger.debug("webhook of an organization that is not configured; ignored", { kind });
      return finish("accepted");
    }
    for (const trigger of triggersOf(kind, parsed.event, org)) {
      try {
        sink(trigger);
      } catch (error) {
        logger.error("webhook trigger could not be queued", {
          kind,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return finish("accepted");
  };
}
