/**
 * What the collector publishes after each cycle, and where it reports what the cycle produced. Both belong to
 * collect: the metrics read the snapshot and implement the recorder, so data flows one way, collect → metrics.
 */
import type { Operation } from "../pulumi/api.ts";
import type { UnknownValues } from "./label-values.ts";
import type { CollectorState } from "./state.ts";
import type { UpdateEvent } from "./updates.ts";

/** The exporter's own status, as of the last cycle. */
export interface ExporterStatus {
  readonly up: boolean | undefined;
  /** Each configured org, and whether its stacks were listed in the last cycle. */
  readonly orgsUp?: readonly { readonly org: string; readonly up: boolean }[];
  readonly lastCycleSeconds: number | undefined;
  readonly lastSuccessSeconds: number | undefined;
  readonly version: string;
  readonly revision: string;
}

export interface Snapshot {
  /** Milliseconds since the epoch at which the cycle that produced it ended. */
  readonly takenAt: number;
  readonly state: CollectorState;
  readonly exporter: ExporterStatus;
}

/** Receives what each cycle produced (the metrics' instruments are one). */
export interface CycleRecorder {
  /** The updates that finished in the cycle, each once. */
  recordUpdates(events: readonly UpdateEvent[]): void;
  /** The stacks whose update series are kept, keyed `org/project/stack`; every other stack is gone. */
  retainStacks(live: { has(key: string): boolean }): void;
  /** A collection step failed after the client's retries. */
  recordCollectError(operation: Operation, org: string): void;
  /** API values outside the spec's lists, reported as `other`. */
  recordUnknownValues(values: readonly UnknownValues[]): void;
}
