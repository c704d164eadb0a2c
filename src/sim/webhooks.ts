/**
 * The simulator as a Pulumi Cloud webhook sender: what it simulates (finished updates, deployment status changes,
 * drift runs, stacks created and deleted) is posted, signed, to a webhook URL in the shapes Pulumi Cloud documents
 * ("Pulumi Cloud Webhooks": payload examples, the `Pulumi-Webhook-ID`, `-Kind` and `-Signature` headers).
 *
 * Deliveries can be faulty as real ones are: dropped, duplicated (same ID), delayed by whole ticks, reordered
 * within a tick, or badly signed. Every choice is drawn from the seed and the tick, never the wall clock, so a
 * seed gives the same deliveries. Sending never blocks a tick, and a failed delivery is counted, never thrown.
 */
import { signWebhook } from "../webhooks/signature.ts";
import { type DeploymentRecord, driftFound } from "./deployments.ts";
import type { SimEvent, SimModel } from "./model.ts";
import { hashSeed, Rng } from "./random.ts";
import { RESOURCE_OPS, type StackRef, type UpdateRecord } from "./stacks.ts";

/** Probabilities (0-1) of each fault, per event (`reorder`: per tick's batch). */
export interface WebhookFaults {
  /** Never delivered. */
  readonly drop?: number;
  /** Delivered twice with the same delivery ID. */
  readonly duplicate?: number;
  /** Held back 1 to `maxDelayTicks` ticks. */
  readonly delay?: number;
  readonly maxDelayTicks?: number;
  /** A tick's deliveries sent in a shuffled order. */
  readonly reorder?: number;
  /** Signed with a key other than the secret. */
  readonly badSignature?: number;
}

export interface WebhookSenderOptions {
  readonly url: string;
  readonly secret: string;
  readonly faults?: WebhookFaults;
  /** Replaces the HTTP client (tests record deliveries instead). */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** A delivery not answered within this is a failure. Default 10 s. */
  readonly timeoutMs?: number;
}

export interface WebhookStats {
  /** Webhook events the simulation produced. */
  events: number;
  /** Requests sent (a duplicate counts twice). */
  sent: number;
  /** Answered with a 2xx status. */
  delivered: number;
  /** Answered otherwise, or not at all (connection refused, timeout). */
  failed: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  /** Batches sent shuffled. */
  reordered: number;
  badSignatures: number;
  /** By HTTP status, or `error`. */
  statuses: Record<string, number>;
}

/** One webhook as Pulumi Cloud would send it. */
export interface WebhookEvent {
  readonly kind: string;
  readonly payload: unknown;
}

/** One delivery: an event with its ID and signature, as posted. */
export interface WebhookDelivery {
  readonly id: string;
  readonly kind: string;
  readonly body: string;
  readonly signature: string;
}

const SIM_USER = { name: "Pulumi Simulator", githubLogin: "pulumi-sim", avatarUrl: "" };
const CONSOLE = "https://app.pulumi.com";

function organization(org: string) {
  return { name: org, githubLogin: org, avatarUrl: "" };
}

function stackUrl(ref: StackRef): string {
  return `${CONSOLE}/${ref.org}/${ref.project}/${ref.stack}`;
}

function resourceChanges(update: UpdateRecord): Record<string, number> {
  const changes: Record<string, number> = {};
  for (const op of RESOURCE_OPS) {
    const count = update.changes?.[op] ?? 0;
    if (count > 0 && op !== "same") changes[op] = count;
  }
  return changes;
}

function updateEvent(ref: StackRef, update: UpdateRecord): WebhookEvent {
  const isPreview = update.kind === "preview";
  return {
    kind: isPreview ? "stack_preview" : "stack_update",
    payload: {
      user: SIM_USER,
      organization: organization(ref.org),
      projectName: ref.project,
      stackName: ref.stack,
      updateUrl: `${stackUrl(ref)}/${isPreview ? "previews" : "updates"}/${update.version}`,
      kind: update.kind,
      result: update.result,
      resourceChanges: resourceChanges(update),
      isPreview,
    },
  };
}

/** Deployment statuses Pulumi Cloud has a webhook filter for (deployment_queued, _started, _succeeded, _failed). */
const NOTIFIED_STATUSES: ReadonlySet<string> = new Set(["not-started", "running", "succeeded", "failed"]);
const FINISHED: ReadonlySet<string> = new Set(["succeeded", "failed"]);

function deploymentEvents(org: string, d: DeploymentRecord): WebhookEvent[] {
  if (!NOTIFIED_STATUSES.has(d.status)) return [];
  const ref = { org, project: d.project, stack: d.stack };
  const common = {
    user: d.requestedBy,
    organization: organization(org),
    projectName: d.project,
    stackName: d.stack,
  };
  const referenceUrl = `${stackUrl(ref)}/deployments/${d.version}`;
  const events: WebhookEvent[] = [
    {
      kind: "deployment",
      payload: {
        ...common,
        deploymentUrl: referenceUrl,
        version: d.version,
        operation: d.operation,
        status: d.status === "not-started" ? "queued" : d.status,
      },
    },
  ];
  if (!FINISHED.has(d.status)) return events;
  // A drift run is a deployment of its own operation; its end is also a drift event.
  if (d.operation === "detect-drift") {
    const driftDetected = d.status === "succeeded" && driftFound(d);
    events.push({
      kind: "drift_detection",
      payload: {
        ...common,
        driftDetected,
        driftRunId: d.id,
        status: d.status,
        resourceChanges: {},
        referenceUrl,
      },
    });
  } else if (d.operation === "remediate-drift") {
    events.push({
      kind: "drift_remediation",
      payload: { ...common, status: d.status, resourceChanges: {}, referenceUrl },
    });
  }
  return events;
}

function stackEvent(ref: StackRef, action: "created" | "deleted"): WebhookEvent {
  return {
    kind: "stack",
    payload: {
      user: SIM_USER,
      organization: organization(ref.org),
      action,
      projectName: ref.project,
      stackName: ref.stack,
    },
  };
}

function eventWebhooks(event: SimEvent): WebhookEvent[] {
  if (event.type === "update-finished") return [updateEvent(event.ref, event.update)];
  if (event.type === "deployment-status") return deploymentEvents(event.org, event.deployment);
  return [stackEvent(event.ref, event.type === "stack-created" ? "created" : "deleted")];
}

/** The webhooks Pulumi Cloud would send for a tick's events, in order. */
export function webhookEventsOf(events: readonly SimEvent[]): WebhookEvent[] {
  return events.flatMap(eventWebhooks);
}

function emptyStats(): WebhookStats {
  return {
    events: 0,
    sent: 0,
    delivered: 0,
    failed: 0,
    dropped: 0,
    duplicated: 0,
    delayed: 0,
    reordered: 0,
    badSignatures: 0,
    statuses: {},
  };
}

/** Fisher-Yates with the tick's generator. */
function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export class WebhookSender {
  readonly #options: WebhookSenderOptions;
  readonly #seed: number;
  readonly #stats = emptyStats();
  /** Deliveries held back, by the tick they go out on. */
  readonly #held = new Map<number, WebhookDelivery[]>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stopped = new AbortController();
  readonly #unsubscribe: () => void;

  constructor(model: SimModel, options: WebhookSenderOptions) {
    this.#options = options;
    this.#seed = model.options.seed;
    this.#unsubscribe = model.onTick((tick, events) => this.#onTick(tick, events));
  }

  stats(): WebhookStats {
    return structuredClone(this.#stats);
  }

  /** Deliveries held back for a later tick. */
  get held(): number {
    let count = 0;
    for (const batch of this.#held.values()) count += batch.length;
    return count;
  }

  /** Resolves once every delivery sent so far has been answered (or has failed). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Stops listening and abandons deliveries in flight (each then counts as failed). */
  async stop(): Promise<void> {
    this.#unsubscribe();
    this.#stopped.abort();
    await this.flush();
  }

  #onTick(tick: number, events: readonly SimEvent[]): void {
    const rng = new Rng(hashSeed(this.#seed, 7, tick));
    const faults = this.#options.faults ?? {};
    const now: WebhookDelivery[] = [...(this.#held.get(tick) ?? [])];
    this.#held.delete(tick);
    for (const event of webhookEventsOf(events)) {
      this.#stats.events++;
      if (rng.chance(faults.drop ?? 0)) {
        this.#stats.dropped++;
        continue;
      }
      const delivery = this.#delivery(rng, event, faults);
      const copies = rng.chance(faults.duplicate ?? 0) ? 2 : 1;
      if (copies === 2) this.#stats.duplicated++;
      const delay = rng.chance(faults.delay ?? 0) ? rng.int(1, Math.max(1, faults.maxDelayTicks ?? 3)) : 0;
      if (delay > 0) this.#stats.delayed++;
      const batch = delay === 0 ? now : this.#batch(tick + delay);
      for (let i = 0; i < copies; i++) batch.push(delivery);
    }
    const reorder = now.length > 1 && rng.chance(faults.reorder ?? 0);
    if (reorder) this.#stats.reordered++;
    for (const delivery of reorder ? shuffled(rng, now) : now) this.#send(delivery);
  }

  #batch(tick: number): WebhookDelivery[] {
    let batch = this.#held.get(tick);
    if (batch === undefined) {
      batch = [];
      this.#held.set(tick, batch);
    }
    return batch;
  }

  #delivery(rng: Rng, event: WebhookEvent, faults: WebhookFaults): WebhookDelivery {
    const body = JSON.stringify(event.payload);
    const id = rng.uuid();
    const forged = rng.chance(faults.badSignature ?? 0);
    if (forged) this.#stats.badSignatures++;
    const key = forged ? `${this.#options.secret}-not-the-secret` : this.#options.secret;
    return { id, kind: event.kind, body, signature: signWebhook(key, body) };
  }

  #send(delivery: WebhookDelivery): void {
    this.#stats.sent++;
    const post = this.#options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
    const signal = AbortSignal.any([
      this.#stopped.signal,
      AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
    ]);
    const done = (async () => {
      let status: string;
      try {
        const response = await post(this.#options.url, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            "Pulumi-Webhook-ID": delivery.id,
            "Pulumi-Webhook-Kind": delivery.kind,
            "Pulumi-Webhook-Signature": delivery.signature,
          },
          body: delivery.body,
          signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        status = String(response.status);
        if (response.ok) this.#stats.delivered++;
        else this.#stats.failed++;
      } catch {
        status = "error";
        this.#stats.failed++;
      }
      this.#stats.statuses[status] = (this.#stats.statuses[status] ?? 0) + 1;
    })();
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }
}
