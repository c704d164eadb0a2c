/**
 * Triggers: requests to read something now rather than at the next cycle. A webhook from Pulumi Cloud becomes a
 * trigger; the collector answers it with the same reads the cycle makes (under the same concurrency bound), so a
 * trigger can only make a value right sooner, never change how anything is counted. Lost, duplicated, reordered
 * or forged triggers are harmless: the sources' state decides what is counted, and the cycle reconciles.
 */

/** What to read now. `org` is always one of the configured organizations (others are ignored upstream). */
export type Trigger =
  /** An update (or preview, refresh, destroy) of the stack started or finished: read its history. */
  | { readonly kind: "stack-history"; readonly org: string; readonly project: string; readonly stack: string }
  /** A deployment changed status: read the organization's deployments. */
  | {
      readonly kind: "deployments";
      readonly org: string;
      readonly project?: string;
      readonly stack?: string;
    }
  /** A drift detection or remediation ran: read the stack's drift status. */
  | { readonly kind: "drift"; readonly org: string; readonly project: string; readonly stack: string }
  /** A stack was created, renamed or deleted: list the organization's stacks. */
  | { readonly kind: "stack-list"; readonly org: string };

export type TriggerKind = Trigger["kind"];

/** Where the webhook receiver hands its triggers; never blocks (work is queued, not done, in the request). */
export type TriggerSink = (trigger: Trigger) => void;
