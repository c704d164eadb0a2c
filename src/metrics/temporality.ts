/** Aggregation temporality per instrument type. */
import { AggregationTemporality, InstrumentType } from "@opentelemetry/sdk-metrics";
import type { Temporality } from "../config/types.ts";

/**
 * SDK gauges always use delta: with cumulative storage the SDK keeps re-exporting the last value of a series
 * that is no longer observed. Gauges carry no temporality on the wire, so backends see no difference. (The
 * catalog's gauges bypass SDK storage altogether, src/metrics/catalog-series.ts; this keeps the readers right for
 * any other gauge.) Counters, histograms and the update series follow the preference
 * (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE semantics).
 */
export function temporalitySelector(
  preference: Temporality,
): (type: InstrumentType) => AggregationTemporality {
  return (type) => {
    if (type === InstrumentType.OBSERVABLE_GAUGE || type === InstrumentType.GAUGE)
      return AggregationTemporality.DELTA;
    if (preference === "cumulative") return AggregationTemporality.CUMULATIVE;
    if (preference === "delta") {
      return type === InstrumentType.UP_DOWN_COUNTER || type === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER
        ? AggregationTemporality.CUMULATIVE
        : AggregationTemporality.DELTA;
    }
    // lowmemory: delta for synchronous counters and histograms only.
    return type === InstrumentType.COUNTER || type === InstrumentType.HISTOGRAM
      ? AggregationTemporality.DELTA
      : AggregationTemporality.CUMULATIVE;
  };
}

/** Enough series for 10,000+ stacks on every instrument (the SDK default of 2,000 would collapse the rest). */
export const CARDINALITY_LIMIT = 200_000;
