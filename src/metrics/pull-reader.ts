/** A metric reader that collects on demand for `/metrics`, next to the periodic OTLP reader on the same provider. */
import { type MetricProducer, MetricReader } from "@opentelemetry/sdk-metrics";
import { renderPrometheus } from "./prometheus.ts";
import { CARDINALITY_LIMIT, temporalitySelector } from "./temporality.ts";

export interface PrometheusPullReaderOptions {
  /**
   * Series per instrument before the SDK folds the rest into an overflow series. Defaults to the push reader's
   * limit, so a scrape and a push of one provider carry the same series.
   */
  cardinalityLimit?: number;
  /** Errors raised while collecting (callbacks, producers); the scrape still returns what was collected. */
  onCollectErrors?: (errors: readonly unknown[]) => void;
  /** Metrics the text format cannot carry (see `renderPrometheus`). */
  onSkip?: (metricName: string, reason: string) => void;
  /** Sources of metrics outside the MeterProvider (the update series). */
  metricProducers?: MetricProducer[];
}

export class PrometheusPullReader extends MetricReader {
  readonly #onCollectErrors: ((errors: readonly unknown[]) => void) | undefined;
  readonly #onSkip: ((metricName: string, reason: string) => void) | undefined;

  constructor(options: PrometheusPullReaderOptions = {}) {
    const limit = options.cardinalityLimit ?? CARDINALITY_LIMIT;
    super({
      // Prometheus counters and histograms are running totals; gauges report only what is observed now.
      aggregationTemporalitySelector: temporalitySelector("cumulative"),
      cardinalitySelector: () => limit,
      ...(options.metricProducers ? { metricProducers: options.metricProducers } : {}),
    });
    this.#onCollectErrors = options.onCollectErrors;
    this.#onSkip = options.onSkip;
  }

  /** Collects every instrument now and renders the Prometheus text exposition. */
  async scrape(): Promise<string> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) this.#onCollectErrors?.(errors);
    return renderPrometheus([resourceMetrics], this.#onSkip === undefined ? {} : { onSkip: this.#onSkip });
  }

  protected override async onForceFlush(): Promise<void> {}

  protected override async onShutdown(): Promise<void> {}
}
