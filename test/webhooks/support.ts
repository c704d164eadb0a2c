/** The running exporter with webhooks on, against the simulator, its triggers recorded; and signed deliveries. */
import { type RunningExporter, startExporter } from "../../src/app.ts";
import type { Trigger } from "../../src/collect/triggers.ts";
import type { Config } from "../../src/config/types.ts";
import type { Logger } from "../../src/log/logger.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { signWebhook } from "../../src/webhooks/signature.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { recordingLogger } from "../support/state-fixtures.ts";
import { testConfig } from "../support/test-config.ts";

export const SECRET = "whsec-receiver-test-9f3a61c2";

export interface Rig {
  exporter: RunningExporter;
  sim: RunningSimulator;
  clock: ManualClock;
  triggers: Trigger[];
  lines: string[];
  stop(): Promise<void>;
}

/** `webhook` null: webhooks off (no secret). */
export async function startRig(
  webhook: Partial<NonNullable<Config["webhook"]>> | null = {},
  logger?: Logger,
): Promise<Rig> {
  const sim = await startSimulator({ seed: 3, orgs: 1, stacks: 2 });
  const clock = new ManualClock(Date.UTC(2025, 0, 2));
  const triggers: Trigger[] = [];
  const recording = recordingLogger();
  const config = testConfig({
    pulumi: { accessToken: sim.token, apiUrl: sim.url, organizations: ["org-1", "Acme-Corp"] },
    ...(webhook === null ? {} : { webhook: { secret: SECRET, ...webhook } }),
  });
  const exporter = await startExporter({
    config,
    logger: logger ?? recording.logger,
    timers: clock,
    triggerSink: (trigger) => triggers.push(trigger),
  });
  return {
    exporter,
    sim,
    clock,
    triggers,
    lines: recording.lines,
    async stop() {
      await exporter.stop(1000);
      await sim.stop();
    },
  };
}

const USER = { name: "Morty Smith", githubLogin: "morty", avatarUrl: "https://example.com/morty.png" };

function organization(org: string) {
  return { name: `${org} Inc.`, githubLogin: org, avatarUrl: "https://example.com/logo.png" };
}

/** Payloads as Pulumi Cloud documents them ("Pulumi Cloud Webhooks", payload examples). */
export const payloads = {
  stack: (org: string, project: string, stack: string, action: "created" | "deleted" = "created") => ({
    user: USER,
    organization: organization(org),
    action,
    projectName: project,
    stackName: stack,
  }),
  stackUpdate: (org: string, project: string, stack: string) => ({
    user: USER,
    organization: organization(org),
    projectName: project,
    stackName: stack,
    updateUrl: `https://app.pulumi.com/${org}/${project}/${stack}/updates/42`,
    kind: "update",
    result: "succeeded",
    resourceChanges: { update: 3, delete: 1 },
    isPreview: false,
  }),
  deployment: (org: string, project: string, stack: string) => ({
    user: USER,
    organization: organization(org),
    projectName: project,
    stackName: stack,
    deploymentUrl: `https://app.pulumi.com/${org}/${project}/${stack}/deployments/127`,
    version: 127,
    operation: "update",
    status: "running",
  }),
  driftDetection: (org: string, project: string, stack: string) => ({
    user: USER,
    organization: organization(org),
    projectName: project,
    stackName: stack,
    driftDetected: true,
    driftRunId: "11bf162b-d9d5-4715-8f88-20dcd0e0b167",
    status: "succeeded",
    resourceChanges: { update: 3 },
    referenceUrl: `https://app.pulumi.com/${org}/${project}/${stack}/deployments/128`,
  }),
  driftRemediation: (org: string, project: string, stack: string) => ({
    user: USER,
    organization: organization(org),
    projectName: project,
    stackName: stack,
    status: "succeeded",
    resourceChanges: { update: 3 },
    referenceUrl: `https://app.pulumi.com/${org}/${project}/${stack}/deployments/129`,
  }),
};

export interface Delivery {
  kind: string;
  body: string | Uint8Array | ReadableStream<Uint8Array>;
  id?: string | null;
  /** Default: the body's signature with SECRET; null sends none. */
  signature?: string | null;
}

let deliveries = 0;

/** Posts one delivery the way Pulumi Cloud does; a fresh delivery ID unless given. */
export function deliver(url: string, delivery: Delivery): Promise<Response> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Pulumi-Webhook-Kind": delivery.kind,
  };
  const id = delivery.id === undefined ? `delivery-${++deliveries}` : delivery.id;
  if (id !== null) headers["Pulumi-Webhook-ID"] = id;
  const signature =
    delivery.signature === undefined
      ? typeof delivery.body === "string" || delivery.body instanceof Uint8Array
        ? signWebhook(SECRET, delivery.body)
        : null
      : delivery.signature;
  if (signature !== null) headers["Pulumi-Webhook-Signature"] = signature;
  return fetch(url, { method: "POST", headers, body: delivery.body });
}

/** Posts a JSON payload, signed. */
export function deliverJson(url: string, kind: string, payload: unknown, id?: string): Promise<Response> {
  return deliver(url, { kind, body: JSON.stringify(payload), ...(id === undefined ? {} : { id }) });
}

/**
 * `kind,outcome` → value of the pulumi_exporter_webhooks_received_total series on /metrics: those above 0, or
 * every one with `zeros` (with webhooks on, each kind and outcome starts at 0).
 */
export async function webhookCounts(
  exporter: RunningExporter,
  zeros = false,
): Promise<Record<string, number>> {
  const text = await (await fetch(`${exporter.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^pulumi_exporter_webhooks_received_total\{kind="([^"]+)",outcome="([^"]+)"\} (\d+)$/.exec(
      line,
    );
    if (match && (zeros || Number(match[3]) > 0)) counts[`${match[1]},${match[2]}`] = Number(match[3]);
  }
  return counts;
}
