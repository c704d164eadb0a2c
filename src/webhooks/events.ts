/**
 * The Pulumi Cloud webhook events the exporter acts on, and the reads each asks for: one table. An event is only
 * ever a trigger (see src/collect/triggers.ts); what it says (a result, a status) is not counted, the read is.
 * Kinds are as Pulumi Cloud names them in `Pulumi-Webhook-Kind`; any other kind (policy_violation, environment
 * events, ...) is answered 204 and counted as `other`.
 */
import { ArkErrors, type } from "arktype";
import type { Trigger, TriggerKind } from "../collect/triggers.ts";

interface EventSpec {
  /** Pulumi Cloud's event filters that deliver this kind. */
  readonly filters: readonly string[];
  /** The reads it triggers, in order. */
  readonly reads: readonly TriggerKind[];
  /** What happened, for the README. */
  readonly means: string;
}

export const WEBHOOK_EVENTS = {
  stack: {
    filters: ["stack_created", "stack_deleted"],
    reads: ["stack-list"],
    means: "a stack was created or deleted",
  },
  stack_update: {
    filters: [
      "update_succeeded",
      "update_failed",
      "destroy_succeeded",
      "destroy_failed",
      "refresh_succeeded",
      "refresh_failed",
    ],
    reads: ["stack-history"],
    means: "an update, destroy or refresh finished",
  },
  stack_preview: {
    filters: ["preview_succeeded", "preview_failed"],
    reads: ["stack-history"],
    means: "a preview finished",
  },
  deployment: {
    filters: ["deployment_queued", "deployment_started", "deployment_succeeded", "deployment_failed"],
    reads: ["deployments"],
    means: "a deployment changed status",
  },
  drift_detection: {
    filters: ["drift_detected", "drift_detection_succeeded", "drift_detection_failed"],
    reads: ["drift"],
    means: "a drift detection run finished",
  },
  drift_remediation: {
    filters: ["drift_remediation_succeeded", "drift_remediation_failed"],
    reads: ["drift", "stack-history"],
    means: "a drift remediation (an update of the stack) finished",
  },
} as const satisfies Record<string, EventSpec>;

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
  const reads: readonly TriggerKind[] = WEBHOOK_EVENTS[kind].reads;
  return reads.flatMap((read): Trigger[] => {
    if (read === "stack-list") return [{ kind: read, org }];
    if (read === "deployments") {
      return [
        project !== undefined && stack !== undefined
          ? { kind: read, org, project, stack }
          : { kind: read, org },
      ];
    }
    // The shapes of the stack-scoped kinds require both names.
    if (project === undefined || stack === undefined) return [];
    return [{ kind: read, org, project, stack }];
  });
}

/** The README's table of the events and what each reads. */
export function renderWebhookEventsTable(): string {
  const rows = Object.entries(WEBHOOK_EVENTS).map(([kind, spec]: [string, EventSpec]) => {
    const filters = spec.filters.map((f) => `\`${f}\``).join(", ");
    const reads = spec.reads.map((r) => `\`${r}\``).join(" + ");
    return `| \`${kind}\` | ${filters} | ${spec.means} | ${reads} |`;
  });
  return ["| Kind | Pulumi Cloud filters | When | Reads now |", "|---|---|---|---|", ...rows].join("\n");
}
