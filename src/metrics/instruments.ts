/**
 * What the collector and the Pulumi client record into. The exporter's own counters and request histogram are
 * OpenTelemetry instruments that follow the client's hooks; finished updates and the stacks that still exist go
 * to the catalog series (src/metrics/catalog-series.ts), which also serve the gauges from the snapshot.
 */
import type { Meter } from "@opentelemetry/api";
import { type CollectionResult, eventsOf } from "../collect/cycle.ts";
import { UNKNOWN_VALUE_FIELDS, type UnknownValues } from "../collect/label-values.ts";
import { deploymentRunsSource } from "../collect/sources/deployments.ts";
import { retainedStacks } from "../collect/state.ts";
import type { UpdateEvent } from "../collect/updates.ts";
import type { Family } from "../families.ts";
import { type ClientHooks, OPERATIONS, type Operation } from "../pulumi/api.ts";
import { WEBHOOK_KINDS } from "../webhooks/events.ts";
import { WEBHOOK_OUTCOMES, type WebhookKindLabel, type WebhookOutcome } from "../webhooks/receiver.ts";
import { CATALOG, type MetricDefinition, type MetricId } from "./catalog.ts";
import { type CatalogSeries, type LiveStacks, metricDescriptor } from "./catalog-series.ts";

export interface Instruments {
  /**
   * Records what a cycle produced: its failed steps, unknown values and finished events, and drops the series of
   * stacks that are gone. The app hands every cycle's result here.
   */
  recordCycle(result: CollectionResult): void;
  /** Counts the updates that finished in a cycle: total, resource changes and duration, together. */
  recordUpdates(events: readonly UpdateEvent[]): void;
  /** Drops the update series of every stack not in `live` (called after each cycle with the collector's stacks). */
  retainStacks(live: LiveStacks): void;
  /** Hooks for the Pulumi client: requests, latency, retries and dropped items. */
  readonly clientHooks: Required<ClientHooks>;
  recordCollectError(operation: Operation, org: string): void;
  /** API values outside the spec's lists, reported under the label value `other`. */
  recordUnknownValues(values: readonly UnknownValues[]): void;
  recordExportFailure(): void;
  /** Errors raised while collecting the metrics of an OTLP export. */
  recordExportCollectionErrors(count: number): void;
  /** One answered webhook delivery. */
  recordWebhook(kind: WebhookKindLabel, outcome: WebhookOutcome): void;
}

function options(definition: MetricDefinition) {
  const { description, valueType, unit } = metricDescriptor(definition);
  return {
    description,
    valueType,
    ...(unit ? { unit } : {}),
    ...(definition.buckets ? { advice: { explicitBucketBoundaries: [...definition.buckets] } } : {}),
  };
}

function counter(meter: Meter, id: MetricId) {
  const definition = CATALOG[id];
  return meter.createCounter(definition.name, options(definition));
}

function histogram(meter: Meter, id: MetricId) {
  const definition = CATALOG[id];
  return meter.createHistogram(definition.name, options(definition));
}

/** Registers the exporter's own instruments on `meter`; updates go to `series`, whose producers the readers carry. */
export function createInstruments(
  meter: Meter,
  series: CatalogSeries,
  organizations: readonly string[] = [],
  disabled: ReadonlySet<Family> = new Set(),
  webhooks = false,
): Instruments {
  const apiRequests = counter(meter, "exporterApiRequests");
  const apiDuration = histogram(meter, "exporterApiRequestDuration");
  const apiRetries = counter(meter, "exporterApiRetries");
  const itemsDropped = counter(meter, "exporterItemsDropped");
  const collectErrors = counter(meter, "exporterCollectErrors");
  const exportFailures = counter(meter, "exporterExportFailures");
  const unknownValues = counter(meter, "exporterUnknownValues");
  const exportCollectionErrors = counter(meter, "exporterExportCollectionErrors");
  const webhooksReceived = counter(meter, "exporterWebhooksReceived");
  // Error counters start at 0, so a query (and rate()) reads 0 instead of "no data" before the first error.
  for (const operation of OPERATIONS) {
    apiRetries.add(0, { operation });
    itemsDropped.add(0, { operation });
    for (const org of organizations) collectErrors.add(0, { operation, org });
  }
  exportFailures.add(0);
  exportCollectionErrors.add(0);
  for (const { operation, field } of UNKNOWN_VALUE_FIELDS) unknownValues.add(0, { operation, field });
  if (webhooks) {
    for (const kind of [...WEBHOOK_KINDS, "other"])
      for (const outcome of WEBHOOK_OUTCOMES) webhooksReceived.add(0, { kind, outcome });
  }

  const instruments: Instruments = {
    recordCycle(result) {
      for (const { operation, org } of result.errors) instruments.recordCollectError(operation, org);
      instruments.recordUnknownValues(result.unknown);
      // The histories are read for the stack gauges too: with `updates` off their events count nothing.
      if (!disabled.has("updates")) instruments.recordUpdates(result.events);
      series.recordDeployments(eventsOf(result, deploymentRunsSource));
      instruments.retainStacks(retainedStacks(result.state));
    },
    recordUpdates(events) {
      series.record(events);
    },
    retainStacks(live) {
      series.retain(live);
    },
    clientHooks: {
      onRequest(operation, status, durationSeconds) {
        apiRequests.add(1, { operation, code: String(status) });
        apiDuration.record(durationSeconds, { operation });
      },
      onRetry(operation) {
        apiRetries.add(1, { operation });
      },
      onDropped(operation, count) {
        itemsDropped.add(count, { operation });
      },
    },
    recordCollectError(operation, org) {
      collectErrors.add(1, { operation, org });
    },
    recordUnknownValues(values) {
      for (const { operation, field, count } of values) unknownValues.add(count, { operation, field });
    },
    recordExportFailure() {
      exportFailures.add(1);
    },
    recordExportCollectionErrors(count) {
      exportCollectionErrors.add(count);
    },
    recordWebhook(kind, outcome) {
      webhooksReceived.add(1, { kind, outcome });
    },
  };
  return instruments;
}
