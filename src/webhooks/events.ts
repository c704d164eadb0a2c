/**
 * The Pulumi Cloud webhook events the exporter acts on, and the reads each asks for: one table. An event is only
 * ever a trigger (see src/collect/triggers.ts); what it says (a result, a status) is not counted, the read is.
 *
 * Kinds as Pulumi Cloud names them in `Pulumi-Webhook-Kind` (the event filters in parentheses):
 * - `stack` (stack_created, stack_deleted): the organization's stack list changed.
 * - `stack_update` (update_*, destroy_*, refresh_*) and `stack_preview` (preview_*): an entry of the stack's
 *   history finished.
 * - `deployment` (deployment_queued, _started, _succeeded, _failed): a deployment changed status.
 * - `drift_detection` (drift_detected, drift_detection_*): a drift run finished.
 * - `drift_remediation` (drift_remediation_*): a remediation ran, which is an update of the stack.
 * Any other kind (policy_violation, environment events, ...) is answered 204 and counted as `other`.
 */
import { ArkErrors, type } from "arktype";
import type { Trigger, TriggerKind } from "../collect/triggers.ts";

/** The reads each event kind triggers, in order. */
export const WEBHOOK_EVENTS = {
  stack: ["stack-list"],
  stack_update: ["stack-history"],
  stack_preview: ["stack-history"],
  deployment: ["deployments"],
  drift_detection: ["drift"],
  drift_remediation: ["drift", "stack-history"],
} as const satisfies Record<string, readonly TriggerKind[]>;

export type WebhookKind = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_KINDS = Object.keys(WEBHOOK_EVENTS) as WebhookKind[];

export function isWebhookKind(kind: string): kind is WebhookKind {
  return Object.hasOwn(WEBHOOK_EVENTS, kind);
}

/** What an event names: its organization (the login, as in API paths) and, for most kinds, the stack. */
export interface WebhookEvent {
  readonly org: string;
  readonly project?: string;
  readonly stack?: string;
}

/** Longest organization, project or stack name taken from an event. */
const MAX_NAME_LENGTH = 256;

function buildShapes() {
  // One path segment of the reads made with it: not "", ".", ".." and without "/".
  const name = type("string").narrow(
    (s, ctx) =>
      (s !== "" && s !== "." && s !== ".." && !s.includes("/") && s.length <= MAX_NAME_LENGTH) ||
      ctx.mustBe("a name of at most 256 characters other than '', '.' and '..' without '/'"),
  );
  const organization = type({ githubLogin: name });
  const stackScoped = type({ organization, projectName: name, stackName: name });
  return {
    stack: type({ organization, projectName: name, stackName: name, action: "string" }),
    stackScoped,
    // A deployment of an organization-wide kind may name no stack.
    deployment: type({ organization, "projectName?": name, "stackName?": name }),
  };
}

let shapes: ReturnType<typeof buildShapes> | undefined;

/** The payload's fields the exporter reads, or a reason it cannot be used (never quoting the payload). */
export function parseWebhookEvent(
  kind: WebhookKind,
  payload: unknown,
): { ok: true; event: WebhookEvent } | { ok: false; reason: string } {
  shapes ??= buildShapes();
  const shape =
    kind === "stack" ? shapes.stack : kind === "deployment" ? shapes.deployment : shapes.stackScoped;
  const out = shape(payload);
  if (out instanceof ArkErrors) return { ok: false, reason: out.summary };
  const event: WebhookEvent = {
    org: out.organization.githubLogin,
    ...(out.projectName === undefined ? {} : { project: out.projectName }),
    ...(out.stackName === undefined ? {} : { stack: out.stackName }),
  };
  return { ok: true, event };
}

/** The triggers of an event of `kind` in the configured organization `org`. */
export function triggersOf(kind: WebhookKind, event: WebhookEvent, org: string): Trigger[] {
  const { project, stack } = event;
  return WEBHOOK_EVENTS[kind].flatMap((reads: TriggerKind): Trigger[] => {
    if (reads === "stack-list") return [{ kind: reads, org }];
    if (reads === "deployments") {
      return [
        project !== undefined && stack !== undefined
          ? { kind: reads, org, project, stack }
          : { kind: reads, org },
      ];
    }
    // The shapes of the stack-scoped kinds require both names.
    if (project === undefined || stack === undefined) return [];
    return [{ kind: reads, org, project, stack }];
  });
}
