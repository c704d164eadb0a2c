/**
 * The metrics pipeline: one MeterProvider with the catalog's instruments, read by the Prometheus pull reader
 * and, when push is on, by a reader that exports over OTLP right after each collection cycle.
 */
import { randomUUID } from "node:crypto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  type CollectionResult,
  InstrumentType,
  MeterProvider,
  type MetricProducer,
  MetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import type { Config, Temporality } from "../config/types.ts";
import type { Family } from "../families.ts";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import { CatalogSeries } from "./catalog-series.ts";
import { exportSucceeded } from "./export-result.ts";
import { type ExportFailure, instrumentExporter } from "./exporters.ts";
import { createInstruments, type Instruments } from "./instruments.ts";
import type { GaugeReadings } from "./points.ts";
import { PrometheusPullReader } from "./pull-reader.ts";
import { CARDINALITY_LIMIT, temporalitySelector } from "./temporality.ts";

/** The instrumentation scope of every metric: the meter's and the update series'. */
const METER_SCOPE = { name: "pulumi-exporter", version: VERSION };

export interface PushReaderOptions {
  readonly exporter: PushMetricExporter;
  readonly temporality: Temporality;
  readonly timeoutMs: number;
  readonly metricProducers?: MetricProducer[];
  /**
   * After every collection: the errors it raised (a failing producer or callback), empty when there were none.
   * A collection that fails as a whole reports its one error and exports nothing.
   */
  readonly onCollectErrors?: (errors: readonly unknown[]) => void;
}

/** Exports on demand (after each cycle) instead of on a timer, so the first export follows the first cycle. */
export class PushReader extends MetricReader {
  readonly #exporter: PushMetricExporter;
  readonly #timeoutMs: number;
  readonly #onCollectErrors: (errors: readonly unknown[]) => void;

  constructor(options: PushReaderOptions) {
    super({
      aggregationTemporalitySelector: temporalitySelector(options.temporality),
      cardinalitySelector: () => CARDINALITY_LIMIT,
      metricProducers: options.metricProducers ?? [],
    });
    this.#exporter = options.exporter;
    this.#timeoutMs = options.timeoutMs;
    this.#onCollectErrors = options.onCollectErrors ?? (() => {});
  }

  /**
   * Collects and exports once; what was collected is exported even when part of the collection failed. Resolves
   * (never rejects) with whether the backend accepted the data.
   */
  async push(): Promise<boolean> {
    let collected: CollectionResult;
    try {
      collected = await this.collect({ timeoutMillis: this.#timeoutMs });
    } catch (error) {
      this.#onCollectErrors([error]);
      return false;
    }
    this.#onCollectErrors(collected.errors);
    return new Promise((resolve) => {
      this.#exporter.export(collected.resourceMetrics, (result) => resolve(exportSucceeded(result)));
    });
  }

  protected override async onForceFlush(): Promise<void> {
    await this.push();
    await this.#exporter.forceFlush();
  }

  protected override async onShutdown(): Promise<void> {
    await this.#exporter.shutdown();
  }
}

export interface MetricsPipelineOptions {
  readonly config: Pick<Config, "otlp" | "resource">;
  readonly readings: () => GaugeReadings | undefined;
  readonly logger: Logger;
  /** The OTLP exporter; push is off without one. */
  readonly exporter?: PushMetricExporter;
  /** The configured organizations: their error counters start at 0. */
  readonly organizations?: readonly string[];
  /** Families switched off (`--metrics.disable`): their events are not recorded. */
  readonly disabled?: ReadonlySet<Family>;
  /** Webhooks on: their counter starts at 0 for every kind and outcome. */
  readonly webhooks?: boolean;
}

export interface MetricsPipeline {
  readonly instruments: Instruments;
  /** Prometheus text of the current values. */
  scrape(): Promise<string>;
  /**
   * Pushes over OTLP. A push asked for while one runs waits for it; further asks share that waiting push, so a
   * slow backend never piles up exports (and the caller decides whether to wait at all).
   */
  push(): Promise<boolean>;
  readonly pushEnabled: boolean;
  shutdown(): Promise<void>;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Calls `onFirst` for the first failure of a streak and `onRecovered` for the success that ends it. */
function failureStreak<T>(onFirst: (detail: T) => void, onRecovered: () => void) {
  let failing = false;
  return {
    failed(detail: T): void {
      if (!failing) onFirst(detail);
      failing = true;
    },
    succeeded(): void {
      if (failing) onRecovered();
      failing = false;
    },
  };
}

/**
 * What becomes of each push's collection and export: failures are counted, and logged once per failure streak
 * (a backend down for an hour does not flood the log), with a line when the streak ends.
 */
function pushOutcomes(logger: Logger, instruments: () => Instruments | undefined) {
  const exports = failureStreak(
    (failure: ExportFailure | undefined) =>
      logger.warn("OTLP export failed", { error: failure?.message ?? "unknown error" }),
    () => logger.info("OTLP export recovered"),
  );
  const collections = failureStreak(
    (errors: readonly unknown[]) =>
      logger.warn("collecting the metrics of an OTLP export failed", {
        error: errors.map(errorMessage).join("; "),
        errors: errors.length,
      }),
    () => logger.info("collecting the metrics of an OTLP export recovered"),
  );
  return {
    onResult(ok: boolean, failure?: ExportFailure): void {
      if (ok) {
        exports.succeeded();
        return;
      }
      instruments()?.recordExportFailure();
      exports.failed(failure);
    },
    onCollectErrors(errors: readonly unknown[]): void {
      if (errors.length === 0) {
        collections.succeeded();
        return;
      }
      instruments()?.recordExportCollectionErrors(errors.length);
      collections.failed(errors);
    },
  };
}

export function resourceAttributes(config: Pick<Config, "resource">): Record<string, string> {
  return {
    ...config.resource.attributes,
    "service.name": config.resource.serviceName,
    "service.version": VERSION,
    "service.instance.id": randomUUID(),
  };
}

export function createMetricsPipeline(options: MetricsPipelineOptions): MetricsPipeline {
  const { config, logger } = options;
  const series = new CatalogSeries({ scope: METER_SCOPE, readings: options.readings });
  const pull = new PrometheusPullReader({
    onCollectErrors: (errors) => logger.warn("metric collection errors", { count: errors.length }),
    metricProducers: [series.producer(AggregationTemporality.CUMULATIVE)],
  });
  let instruments: Instruments | undefined;
  const { onResult, onCollectErrors } = pushOutcomes(logger, () => instruments);
  const push = options.exporter
    ? new PushReader({
        exporter: instrumentExporter(options.exporter, { onResult }),
        temporality: config.otlp.temporality,
        timeoutMs: config.otlp.timeoutMs,
        metricProducers: [
          series.producer(temporalitySelector(config.otlp.temporality)(InstrumentType.COUNTER)),
        ],
        onCollectErrors,
      })
    : undefined;
  const provider = new MeterProvider({
    resource: resourceFromAttributes(resourceAttributes(config)),
    readers: push ? [pull, push] : [pull],
  });
  instruments = createInstruments(
    provider.getMeter(METER_SCOPE.name, METER_SCOPE.version),
    series,
    options.organizations,
    options.disabled,
    options.webhooks === true,
  );

  let running: Promise<boolean> | undefined;
  let queued: Promise<boolean> | undefined;
  const start = (reader: PushReader): Promise<boolean> => {
    running = reader.push().finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    instruments,
    scrape: () => pull.scrape(),
    pushEnabled: push !== undefined,
    push() {
      if (!push) return Promise.resolve(false);
      if (!running) return start(push);
      // At most one export waits behind a running one, and it collects when it starts: fresh values, no pile-up.
      queued ??= running.then(() => {
        queued = undefined;
        return start(push);
      });
      return queued;
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
