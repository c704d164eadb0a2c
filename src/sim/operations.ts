/** The Pulumi Cloud operations the simulator serves: every one the exporter calls, at the spec's path. */
import type { Operation } from "../pulumi/api.ts";
import { PULUMI_OPERATIONS } from "../pulumi/operations.gen.ts";

export interface Route {
  operation: Operation;
  path: string;
}

export const ROUTES: readonly Route[] = Object.entries(PULUMI_OPERATIONS).map(([operation, { path }]) => ({
  operation: operation as Operation,
  path,
}));

export const OPERATIONS: readonly Operation[] = ROUTES.map((r) => r.operation);

export function isOperation(name: string): name is Operation {
  return (OPERATIONS as readonly string[]).includes(name);
}

/** `/api/stacks/{orgName}` → `/api/stacks/:orgName` (hono's syntax). */
export function honoPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ":$1");
}
