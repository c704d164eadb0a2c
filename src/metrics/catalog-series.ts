/**
 * The metrics the collector feeds, built by hand and handed to each reader through the SDK's `MetricProducer`
 * hook: every catalog gauge, read from the latest snapshot, and the per-stack update series
 * (`pulumi_update_total`, `pulumi_update_resource_changes`, `pulumi_update_duration_seconds`), aggregated here.
 *
 * Why not SDK instruments: a synchronous instrument keeps every series it ever saw for the life of the process
 * under cumulative temporality, so each deleted stack would leave its update series behind forever, a leak that
 * grows with stack churn (review stacks come and go by the thousand); here they are dropped once the stack is gone.
 * And observable gauges make the SDK hash and store every one of 20,000+ points on each collection only to hand
 * them back unchanged; the snapshot already holds exactly the current points. Each reader gets its own view, so
 * the pull reader stays cumulative while the push reader may use delta.
 */
import { type Attributes, type HrTime, ValueType } from "@opentelemetry/api";
import { emptyResource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type MetricData,
  type MetricDescriptor,
  type MetricProducer,
} from "@opentelemetry/sdk-metrics";
import { RESOURCE_OPERATION, UPDATE_KIND } from "../collect/label-values.ts";
import type { DeploymentEvent } from "../collect/sources/deployments.ts";
import { stackKey } from "../collect/state.ts";
import type { UpdateEvent } from "../collect/updates.ts";
import { CATALOG, type MetricDefinition, type MetricId } from "./catalog.ts";
import { DeploymentSeries } from "./deployment-series.ts";
import type { GaugeReadings } from "./points.ts";

/** The stacks whose series stay, keyed `org/project/stack` as in the collector state. */
export interface LiveStacks {
  has(key: string): boolean;
}

interface StackAttributes extends Attributes {
  readonly org: string;
  readonly project: string;
  readonly stack: string;
}

interface CounterSeries {
  readonly attributes: StackAttributes;
  startTime: HrTime;
  value: number;
}

/** One histogram series being aggregated; `counts` has one more entry than the bounds (values above the last). */
export interface HistogramSeries<A extends Attributes = StackAttributes> {
  readonly attributes: A;
  startTime: HrTime;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** One more than the boundaries: the last counts values above the highest bound. */
  readonly counts: number[];
}

export function histogramSeries<A extends Attributes>(
  attributes: A,
  startTime: HrTime,
  bounds: readonly number[],
): HistogramSeries<A> {
  return {
    attributes,
    startTime,
    count: 0,
    sum: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    counts: new Array<number>(bounds.length + 1).fill(0),
  };
}

/** Adds one observation to `series`, whose buckets are `bounds`. */
export function observe(series: HistogramSeries<Attributes>, bounds: readonly number[], value: number): void {
  series.count += 1;
  series.sum += value;
  series.min = Math.min(series.min, value);
  series.max = Math.max(series.max, value);
  const index = bucketIndex(bounds, value);
  series.counts[index] = (series.counts[index] ?? 0) + 1;
}

/** A series as an OTLP histogram point ending at `endTime`; `boundaries` is shared by every point of the metric. */
export function histogramPoint(series: HistogramSeries<Attributes>, endTime: HrTime, boundaries: number[]) {
  return {
    attributes: series.attributes,
    startTime: series.startTime,
    endTime,
    value: {
      min: series.min,
      max: series.max,
      sum: series.sum,
      count: series.count,
      // Counts are copied: a cumulative series keeps counting while an export may still be encoding.
      buckets: { boundaries, counts: [...series.counts] },
    },
  };
}

const DURATION_BOUNDS: readonly number[] = CATALOG.updateDuration.buckets ?? [];
/** One array for every point, as the SDK does: `/metrics` then formats the `le` values once per scrape. */
const DURATION_BOUNDARIES = [...DURATION_BOUNDS];

/** A catalog definition as OpenTelemetry describes a metric; the SDK instruments take the same fields. */
export function metricDescriptor(definition: MetricDefinition): MetricDescriptor {
  return {
    name: definition.name,
    description: definition.description,
    unit: definition.unit ?? "",
    valueType: definition.valueType === "int" ? ValueType.INT : ValueType.DOUBLE,
  };
}

const TOTAL = metricDescriptor(CATALOG.updateTotal);
const CHANGES = metricDescriptor(CATALOG.updateResourceChanges);
const DURATION = metricDescriptor(CATALOG.updateDuration);

const GAUGES: ReadonlyArray<readonly [MetricId, MetricDescriptor]> = (
  Object.entries(CATALOG) as [MetricId, MetricDefinition][]
)
  .filter(([, definition]) => definition.kind === "gauge")
  .map(([id, definition]) => [id, metricDescriptor(definition)]);

/**
 * The gauges of `readings` in catalog order, each point stamped with `time`. Integer gauges carry integers (the
 * wire has no int for 2.5); a gauge without points is left out.
 */
export function gaugeMetrics(readings: GaugeReadings, time: HrTime): MetricData[] {
  const metrics: MetricData[] = [];
  for (const [id, desc] of GAUGES) {
    const points = readings.get(id);
    if (!points || points.length === 0) continue;
    const integer = desc.valueType === ValueType.INT;
    metrics.push({
      descriptor: desc,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE,
      dataPoints: points.flatMap((point) =>
        integer && !Number.isFinite(point.value)
          ? []
          : [
              {
                attributes: point.attributes,
                startTime: time,
                endTime: time,
                value: integer ? Math.trunc(point.value) : point.value,
              },
            ],
      ),
    });
  }
  return metrics;
}

export function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** Index of the bucket holding `value`: the first bound ≥ value (bounds are inclusive upper limits). */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One reader's series. Cumulative views keep running totals; delta views start afresh after each collection. */
class SeriesView implements MetricProducer {
  readonly #temporality: AggregationTemporality;
  readonly #now: () => number;
  readonly #scope: { name: string; version?: string };
  readonly #readings: () => GaugeReadings | undefined;
  readonly #totals = new Map<string, CounterSeries>();
  readonly #changes = new Map<string, CounterSeries>();
  readonly #durations = new Map<string, HistogramSeries>();
  /** The deployments family's counter and histograms, in this view's temporality. */
  readonly deployments: DeploymentSeries;
  /** Delta only: the end of the previous collection, the start of every point in the next. */
  #intervalStart: HrTime;

  constructor(temporality: AggregationTemporality, options: Required<CatalogSeriesOptions>) {
    this.#temporality = temporality;
    this.#scope = options.scope;
    this.#readings = options.readings;
    this.#now = options.now;
    this.#intervalStart = hrTime(options.now());
    this.deployments = new DeploymentSeries(temporality, options.now);
  }

  #start(): HrTime {
    return this.#temporality === AggregationTemporality.DELTA ? this.#intervalStart : hrTime(this.#now());
  }

  add(series: Map<string, CounterSeries>, attributes: StackAttributes, value: number): void {
    const key = JSON.stringify(attributes);
    const existing = series.get(key);
    if (existing) existing.value += value;
    else series.set(key, { attributes, startTime: this.#start(), value });
  }

  record(event: UpdateEvent): void {
    const kind = UPDATE_KIND.of(event.kind);
    const attributes = { org: event.org, project: event.project, stack: event.stack, kind };
    // The result needs no bound: only terminal results (succeeded, failed) make an event.
    const withResult = { ...attributes, result: event.result };
    this.add(this.#totals, withResult, 1);
    for (const [operation, count] of Object.entries(event.resourceChanges)) {
      if (count > 0)
        this.add(this.#changes, { ...attributes, operation: RESOURCE_OPERATION.of(operation) }, count);
    }
    const value = event.durationSeconds;
    if (value === undefined || Number.isNaN(value)) return;
    const key = JSON.stringify(withResult);
    let series = this.#durations.get(key);
    if (!series) {
      series = histogramSeries(withResult, this.#start(), DURATION_BOUNDS);
      this.#durations.set(key, series);
    }
    observe(series, DURATION_BOUNDS, value);
  }

  /** Forgets every series of the given stacks (keys `org/project/stack`). */
  drop(stacks: ReadonlySet<string>): void {
    for (const series of [this.#totals, this.#changes, this.#durations]) {
      for (const [key, { attributes }] of series)
        if (stacks.has(stackKey(attributes.org, attributes.project, attributes.stack))) series.delete(key);
    }
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime(this.#now());
    const temporality = this.#temporality;
    let readings: GaugeReadings | undefined;
    const errors: unknown[] = [];
    try {
      readings = this.#readings();
    } catch (error) {
      // Like a failing observable callback: reported, and the update series still go out.
      errors.push(error);
    }
    const metrics: MetricData[] = readings ? gaugeMetrics(readings, endTime) : [];
    const counter = (desc: MetricDescriptor, series: Map<string, CounterSeries>): void => {
      if (series.size === 0) return;
      metrics.push({
        descriptor: desc,
        aggregationTemporality: temporality,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: [...series.values()].map((s) => ({
          attributes: s.attributes,
          startTime: s.startTime,
          endTime,
          value: s.value,
        })),
      });
    };
    counter(TOTAL, this.#totals);
    if (this.#durations.size > 0) {
      metrics.push({
        descriptor: DURATION,
        aggregationTemporality: temporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: [...this.#durations.values()].map((s) => histogramPoint(s, endTime, DURATION_BOUNDARIES)),
      });
    }
    counter(CHANGES, this.#changes);
    metrics.push(...this.deployments.collect(endTime));
    if (temporality === AggregationTemporality.DELTA) {
      // Like the SDK's delta storage: a series is reported only for the interval in which it changed.
      this.#totals.clear();
      this.#changes.clear();
      this.#durations.clear();
      this.#intervalStart = endTime;
    }
    return {
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: metrics.length === 0 ? [] : [{ scope: this.#scope, metrics }],
      },
      errors,
    };
  }
}

export interface CatalogSeriesOptions {
  /** The instrumentation scope the series are reported under (the meter's). */
  readonly scope: { name: string; version?: string };
  /** The gauges' current points, read once per collection; `undefined` before the first cycle (no gauges). */
  readonly readings?: () => GaugeReadings | undefined;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/**
 * Gives each reader a view of the gauges and the update series; fans each finished update out to every view and
 * drops the update series of stacks that are gone.
 */
export class CatalogSeries {
  readonly #views: SeriesView[] = [];
  readonly #options: CatalogSeriesOptions;
  /** Stacks with series, by key. */
  readonly #recorded = new Set<string>();

  constructor(options: CatalogSeriesOptions) {
    this.#options = options;
  }

  /** A producer for one reader (pass it in the reader's `metricProducers`). */
  producer(temporality: AggregationTemporality): MetricProducer {
    const view = new SeriesView(temporality, {
      scope: this.#options.scope,
      readings: this.#options.readings ?? (() => undefined),
      now: this.#options.now ?? Date.now,
    });
    this.#views.push(view);
    return view;
  }

  record(events: readonly UpdateEvent[]): void {
    for (const event of events) {
      this.#recorded.add(stackKey(event.org, event.project, event.stack));
      for (const view of this.#views) view.record(event);
    }
  }

  /** Counts the deployments that finished (and the queue waits seen) in a cycle, in every view. */
  recordDeployments(events: readonly DeploymentEvent[]): void {
    if (events.length > 0) for (const view of this.#views) view.deployments.record(events);
  }

  /**
   * Called once per cycle with the stacks whose series are kept (the collector decides when a stack is gone, after
   * it missed several completed listings): the series of every other stack are dropped from every view.
   */
  retain(live: LiveStacks): void {
    const gone = new Set<string>();
    for (const key of this.#recorded) {
      if (live.has(key)) continue;
      gone.add(key);
      this.#recorded.delete(key);
    }
    if (gone.size > 0) for (const view of this.#views) view.drop(gone);
  }
}
