/**
 * The Pulumi Deployments series, aggregated from the deployments source's events: `pulumi_deployments_total`,
 * `pulumi_deployment_duration_seconds` and `pulumi_deployment_queue_wait_seconds`. Built by hand like the update
 * series (src/metrics/catalog-series.ts), one instance per reader so each keeps its own temporality. The labels
 * are bounded by the source (operation values from the spec, at most 50 agent pools per organization), and carry
 * no stack, so no series needs dropping.
 */
import type { Attributes, HrTime } from "@opentelemetry/api";
import { AggregationTemporality, DataPointType, type MetricData } from "@opentelemetry/sdk-metrics";
import type { DeploymentEvent } from "../collect/sources/deployments.ts";
import { CATALOG } from "./catalog.ts";
import {
  type HistogramSeries,
  histogramPoint,
  histogramSeries,
  hrTime,
  metricDescriptor,
  observe,
} from "./catalog-series.ts";

interface QueueAttributes extends Attributes {
  readonly org: string;
  readonly operation: string;
  readonly agent_pool: string;
}

interface ResultAttributes extends QueueAttributes {
  readonly result: string;
}

interface CounterSeries {
  readonly attributes: ResultAttributes;
  readonly startTime: HrTime;
  value: number;
}

const TOTAL = metricDescriptor(CATALOG.deploymentsTotal);
const DURATION = metricDescriptor(CATALOG.deploymentDuration);
const QUEUE_WAIT = metricDescriptor(CATALOG.deploymentQueueWait);
const DURATION_BOUNDS: readonly number[] = CATALOG.deploymentDuration.buckets;
const QUEUE_WAIT_BOUNDS: readonly number[] = CATALOG.deploymentQueueWait.buckets;
/** One array per metric, shared by its points, as the SDK does. */
const DURATION_BOUNDARIES = [...DURATION_BOUNDS];
const QUEUE_WAIT_BOUNDARIES = [...QUEUE_WAIT_BOUNDS];

/** One reader's deployment series. Cumulative keeps running totals; delta starts afresh after each collection. */
export class DeploymentSeries {
  readonly #temporality: AggregationTemporality;
  readonly #now: () => number;
  readonly #totals = new Map<string, CounterSeries>();
  readonly #durations = new Map<string, HistogramSeries<ResultAttributes>>();
  readonly #queueWaits = new Map<string, HistogramSeries<QueueAttributes>>();
  /** Delta only: the end of the previous collection, the start of every point in the next. */
  #intervalStart: HrTime;

  /** `now`: milliseconds since the epoch, the start time of a series created by `record`. */
  constructor(temporality: AggregationTemporality, now: () => number = Date.now) {
    this.#temporality = temporality;
    this.#now = now;
    this.#intervalStart = hrTime(now());
  }

  #start(): HrTime {
    return this.#temporality === AggregationTemporality.DELTA ? this.#intervalStart : hrTime(this.#now());
  }

  #histogram<A extends Attributes>(
    series: Map<string, HistogramSeries<A>>,
    attributes: A,
    bounds: readonly number[],
    value: number,
  ): void {
    const key = JSON.stringify(attributes);
    let found = series.get(key);
    if (!found) {
      found = histogramSeries(attributes, this.#start(), bounds);
      series.set(key, found);
    }
    observe(found, bounds, value);
  }

  record(events: readonly DeploymentEvent[]): void {
    for (const event of events) {
      const attributes: QueueAttributes = {
        org: event.org,
        operation: event.operation,
        agent_pool: event.agentPool,
      };
      if (event.kind === "started") {
        if (Number.isFinite(event.queueWaitSeconds))
          this.#histogram(this.#queueWaits, attributes, QUEUE_WAIT_BOUNDS, event.queueWaitSeconds);
        continue;
      }
      const withResult: ResultAttributes = { ...attributes, result: event.result };
      const key = JSON.stringify(withResult);
      const total = this.#totals.get(key);
      if (total) total.value += 1;
      else this.#totals.set(key, { attributes: withResult, startTime: this.#start(), value: 1 });
      const duration = event.durationSeconds;
      if (duration !== undefined && Number.isFinite(duration))
        this.#histogram(this.#durations, withResult, DURATION_BOUNDS, duration);
    }
  }

  /** The series in catalog order, each point ending at `endTime`; a metric without series is left out. */
  collect(endTime: HrTime): MetricData[] {
    const aggregationTemporality = this.#temporality;
    const metrics: MetricData[] = [];
    if (this.#totals.size > 0) {
      metrics.push({
        descriptor: TOTAL,
        aggregationTemporality,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: [...this.#totals.values()].map((s) => ({
          attributes: s.attributes,
          startTime: s.startTime,
          endTime,
          value: s.value,
        })),
      });
    }
    const histogram = (
      descriptor: typeof DURATION,
      series: Map<string, HistogramSeries<Attributes>>,
      boundaries: number[],
    ): void => {
      if (series.size === 0) return;
      metrics.push({
        descriptor,
        aggregationTemporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: [...series.values()].map((s) => histogramPoint(s, endTime, boundaries)),
      });
    };
    histogram(DURATION, this.#durations, DURATION_BOUNDARIES);
    histogram(QUEUE_WAIT, this.#queueWaits, QUEUE_WAIT_BOUNDARIES);
    if (aggregationTemporality === AggregationTemporality.DELTA) {
      // Like the SDK's delta storage: a series is reported only for the interval in which it changed.
      this.#totals.clear();
      this.#durations.clear();
      this.#queueWaits.clear();
      this.#intervalStart = endTime;
    }
    return metrics;
  }
}
