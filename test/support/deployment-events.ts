/** Deployment events as the deployments source emits them, for tests: acme, `update`, Pulumi-hosted by default. */
import type { DeploymentEvent } from "../../src/collect/sources/deployments.ts";

export const finished = (
  fields: Partial<DeploymentEvent> & { result: "succeeded" | "failed" | "skipped" },
): DeploymentEvent =>
  ({
    kind: "finished",
    org: "acme",
    operation: "update",
    agentPool: "pulumi-hosted",
    ...fields,
  }) as DeploymentEvent;

export const started = (queueWaitSeconds: number, fields: Partial<DeploymentEvent> = {}): DeploymentEvent =>
  ({
    kind: "started",
    org: "acme",
    operation: "update",
    agentPool: "pulumi-hosted",
    queueWaitSeconds,
    ...fields,
  }) as DeploymentEvent;
