/**
 * What the collector publishes after each cycle. It belongs to collect: the metrics read it (and each cycle's
 * result, which the app hands them), so data flows one way, collect → metrics.
 */
import type { CollectorState } from "./state.ts";

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
