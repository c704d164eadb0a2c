/**
 * What every phase of a cycle shares: the API bounded by the cycle's deadline, the concurrency slots, the clock,
 * and one way to report a failed step. Once the cycle closes (its work is done or its deadline passed), late results
 * and late failures are ignored.
 */
import type { Operation, PulumiApi } from "../pulumi/api.ts";

export interface CycleWork {
  readonly api: PulumiApi;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** False once the cycle closed: results arriving later are dropped. */
  isOpen(): boolean;
  /** Runs an API task in a concurrency slot, unless the cycle closed while it waited. */
  slot<T>(task: () => Promise<T>): Promise<T | undefined>;
  /** A step failed after the client's retries; its previous values are kept. */
  fail(operation: Operation, org: string, fields: Record<string, string>, error: unknown): void;
  /** A step succeeded: its failure streak, if any, ends. */
  succeeded(org: string, operation: Operation): void;
}
