/**
 * The metrics pipeline: one MeterProvider with the catalog's instruments, read by the Prometheus pull reader
 * and, when push is on, by a reader that exports over OTLP right after each collection cycle.
 */
import { randomUUID } from "node:crypto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  type MetricProducer,
  MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { Config, Temporality } from "../config/types.ts";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import { CatalogSeries } from "./catalog-series.ts";
import { type ExportFailure, instrumentExporter } from "./exporters.ts";
import { createInstruments, type Instruments } from "./instruments.ts";
import type { GaugeReadings } from "./points.ts";
import { PrometheusPullReader } from "./pull-reader.ts";
import { CARDINALITY_LIMIT, temporalitySelector } from "./temporality.ts";

const EXPORT_SUCCESS = 0;

/** The instrumentation scope of every metric: the meter's and the update series'. */
const METER_SCOPE = { name: "pulumi-exporter", version: VERSION };

/** Exports on demand (after each cycle) instead of on a timer, so the first export follows the first cycle. */
export class PushReader extends MetricReader {
  readonly #exporter: PushMetricExporter;
  readonly #timeoutMs: number;

  constructor(
    exporter: PushMetricExporter,
    temporality: Temporality,
    timeoutMs: number,
    metricProducers: MetricProducer[] = [],
  ) {
    super({
      aggregationTemporalitySelector: temporalitySelector(temporality),
      cardinalitySelector: () => CARDINALITY_LIMIT,
      metricProducers,
    });
    this.#exporter = exporter;
    this.#timeoutMs = timeoutMs;
  }

  /** Collects and exports once. Resolves (never rejects) with whether the backend accepted the data. */
  async push(): Promise<boolean> {
    let resourceMetrics: ResourceMetrics;
    try {
      ({ resourceMetrics } = await this.collect({ timeoutMillis: this.#timeoutMs }));
    } catch {
      return false;
    }
    return new Promise((resolve) => {
      this.#exporter.export(resourceMetrics, (result) => resolve(result.code === EXPORT_SUCCESS));
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
  let failing = false;
  const onResult = (ok: boolean, failure?: ExportFailure): void => {
    if (ok) {
      if (failing) logger.info("OTLP export recovered");
      failing = false;
      return;
    }
    instruments?.recordExportFailure();
    // One line per failure streak: a backend that is down for an hour does not flood the log.
    if (!failing) logger.warn("OTLP export failed", { error: failure?.message ?? "unknown error" });
    failing = true;
  };
  const push = options.exporter
    ? new PushReader(
        instrumentExporter(options.exporter, { onResult }),
        config.otlp.temporality,
        config.otlp.timeoutMs,
        [series.producer(temporalitySelector(config.otlp.temporality)(InstrumentType.COUNTER))],
      )
    : undefined;
  const provider = new MeterProvider({
    resource: resourceFromAttributes(resourceAttributes(config)),
    readers: push ? [pull, push] : [pull],
  });
  instruments = createInstruments(provider.getMeter(METER_SCOPE.name, METER_SCOPE.version), series);

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
