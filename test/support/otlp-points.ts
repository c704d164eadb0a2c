/** Flattens decoded OTLP requests into points that are easy to assert on. */
import type { AnyValue, ExportRequest, KeyValue, Metric } from "./otlp-proto.ts";

/** A decoded request, or anything a receiver recorded (they all carry `body`). */
export type Received = ExportRequest | readonly ExportRequest[] | readonly { body: ExportRequest }[];

export interface FlatPoint {
  attributes: Record<string, string>;
  kind: "int" | "double" | "histogram";
  /** The gauge/sum value; a histogram's sum. */
  value: number;
  /** Histograms only (0 otherwise). */
  count: number;
  sum: number | undefined;
  bucketCounts: number[];
  explicitBounds: number[];
  startTimeUnixNano: string | undefined;
  timeUnixNano: string | undefined;
}

export interface MetricShape {
  type: "gauge" | "sum" | "histogram" | "exponentialHistogram" | "summary" | "none";
  /** 1 delta, 2 cumulative, 0 unspecified (and gauges). */
  temporality: number;
  monotonic: boolean;
  unit: string;
  description: string;
}

export function requestsOf(received: Received): ExportRequest[] {
  if (!Array.isArray(received)) return [received as ExportRequest];
  return (received as readonly (ExportRequest | { body: ExportRequest })[]).map((r) =>
    "body" in r ? r.body : r,
  );
}

/** Every metric in every request, in arrival order. */
export function allMetrics(received: Received): Metric[] {
  return requestsOf(received).flatMap((request) =>
    request.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)),
  );
}

export function metricNames(received: Received): string[] {
  return [...new Set(allMetrics(received).map((m) => m.name))].sort();
}

/** The one metric called `name` across all requests; throws when missing. */
export function metric(received: Received, name: string): Metric {
  const found = allMetrics(received).find((m) => m.name === name);
  if (found === undefined) throw new Error(`no metric ${name}; got ${metricNames(received).join(", ")}`);
  return found;
}

export function metricShape(received: Received, name: string): MetricShape {
  const m = metric(received, name);
  const type = m.gauge
    ? "gauge"
    : m.sum
      ? "sum"
      : m.histogram
        ? "histogram"
        : m.exponentialHistogram
          ? "exponentialHistogram"
          : m.summary
            ? "summary"
            : "none";
  return {
    type,
    temporality:
      m.sum?.aggregationTemporality ??
      m.histogram?.aggregationTemporality ??
      m.exponentialHistogram?.aggregationTemporality ??
      0,
    monotonic: m.sum?.isMonotonic ?? false,
    unit: m.unit ?? "",
    description: m.description ?? "",
  };
}

/** The points of every metric called `name`, across all requests, in arrival order. */
export function points(received: Received, name: string): FlatPoint[] {
  const out: FlatPoint[] = [];
  for (const m of allMetrics(received)) {
    if (m.name !== name) continue;
    for (const p of [...(m.gauge?.dataPoints ?? []), ...(m.sum?.dataPoints ?? [])]) {
      const isInt = p.asInt !== undefined;
      out.push({
        attributes: attributesOf(p.attributes),
        kind: isInt ? "int" : "double",
        value: isInt ? Number(p.asInt) : (p.asDouble ?? 0),
        count: 0,
        sum: undefined,
        bucketCounts: [],
        explicitBounds: [],
        startTimeUnixNano: p.startTimeUnixNano,
        timeUnixNano: p.timeUnixNano,
      });
    }
    for (const p of m.histogram?.dataPoints ?? []) {
      out.push({
        attributes: attributesOf(p.attributes),
        kind: "histogram",
        value: p.sum ?? 0,
        count: Number(p.count ?? 0),
        sum: p.sum,
        bucketCounts: p.bucketCounts.map(Number),
        explicitBounds: p.explicitBounds,
        startTimeUnixNano: p.startTimeUnixNano,
        timeUnixNano: p.timeUnixNano,
      });
    }
  }
  return out;
}

/** Resource attributes of the first resource seen. */
export function resourceAttributes(received: Received): Record<string, string> {
  const first = requestsOf(received)[0]?.resourceMetrics[0];
  return attributesOf(first?.resource?.attributes ?? []);
}

export function attributesOf(attributes: readonly KeyValue[]): Record<string, string> {
  return Object.fromEntries(attributes.map((kv) => [kv.key, anyValueText(kv.value)]));
}

function anyValueText(value: AnyValue | undefined): string {
  if (value === undefined) return "";
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return value.intValue;
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue !== undefined) return JSON.stringify(value.arrayValue.values.map(anyValueText));
  if (value.kvlistValue !== undefined) return JSON.stringify(attributesOf(value.kvlistValue.values));
  return "";
}
