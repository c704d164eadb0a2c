/**
 * Prometheus text exposition (format 0.0.4) of collected OpenTelemetry metrics.
 *
 * Names and labels follow Prometheus' own OTLP translation (strategy UnderscoreEscapingWithSuffixes), so a series
 * scraped from `/metrics` and the same series pushed over OTLP end up identical in Prometheus.
 */
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { METRICS } from "./catalog.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** How Prometheus' OTLP translation classifies a metric; it decides the `_total` and `_ratio` suffixes. */
export type OtlpMetricType = "gauge" | "monotonic-counter" | "non-monotonic-counter" | "histogram";

export type PrometheusType = "gauge" | "counter" | "histogram";

export interface RenderOptions {
  /** Called for each metric left out of the exposition, with the reason. */
  onSkip?: (metricName: string, reason: string) => void;
}

const UNITS: Readonly<Record<string, string>> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "1": "",
  "%": "percent",
};

const PER_UNITS: Readonly<Record<string, string>> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

const INVALID_METRIC_CHARS = /[^a-zA-Z0-9:]+/;

function cleanUpUnit(unit: string): string {
  return unit
    .replace(/[^a-zA-Z0-9:]/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_/, "");
}

function unitSuffixes(unit: string): { main: string; per: string } {
  const slash = unit.indexOf("/");
  const mainUnit = (slash === -1 ? unit : unit.slice(0, slash)).trim();
  const perUnit = slash === -1 ? "" : unit.slice(slash + 1).trim();
  const usable = (u: string) => u !== "" && !/[{}]/.test(u);
  const main = usable(mainUnit) ? (UNITS[mainUnit] ?? mainUnit) : "";
  const per = usable(perUnit) ? `per_${PER_UNITS[perUnit] ?? perUnit}` : "";
  return { main: cleanUpUnit(main), per: cleanUpUnit(per) };
}

/**
 * The Prometheus name of an OTLP metric: invalid characters become `_`, the unit is appended unless a name token
 * already spells it, monotonic counters end in `_total` and unit-"1" gauges in `_ratio`.
 */
export function translateMetricName(name: string, unit: string, type: OtlpMetricType): string {
  let tokens = name.split(INVALID_METRIC_CHARS).filter((t) => t !== "");
  let { main, per } = unitSuffixes(unit);
  if (tokens.includes(main)) main = "";
  if (per === "per_") per = "";
  else {
    per = per.replace(/_$/, "");
    if (tokens.includes(per)) per = "";
  }
  if (per !== "") main = main.replace(/_$/, "");
  if (main !== "") tokens.push(main);
  if (per !== "") tokens.push(per);
  if (type === "monotonic-counter") tokens = [...tokens.filter((t) => t !== "total"), "total"];
  if (unit === "1" && type === "gauge") tokens = [...tokens.filter((t) => t !== "ratio"), "ratio"];
  const joined = tokens.join("_");
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

/**
 * The Prometheus label name of an attribute key: runs of invalid characters become one `_`, a leading digit gets
 * `key_`. Returns undefined for keys that cannot become a label (empty or only underscores).
 */
export function translateLabelName(key: string): string | undefined {
  if (key.length === 0) return undefined;
  const reserved = key.length >= 4 && key.startsWith("__") && key.endsWith("__");
  const inner = reserved ? key.slice(2, -2) : key;
  let label = inner.replace(/[^a-zA-Z0-9]+/g, "_");
  if (reserved) label = `__${label}__`;
  if (/^[0-9]/.test(label)) label = `key_${label}`;
  return /^_*$/.test(label) ? undefined : label;
}

function attributeValueText(value: AttributeValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export type Labels = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * Attributes as Prometheus labels, in the attributes' order. Keys that translate to the same label are merged as
 * Prometheus does: values joined with `;` in key order.
 */
export function translateAttributes(attributes: Attributes): Labels {
  const labels: Array<readonly [string, string]> = [];
  let collides = false;
  const seen = new Set<string>();
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    const label = cachedLabelName(key);
    if (label === undefined) continue;
    if (seen.has(label)) collides = true;
    seen.add(label);
    labels.push([label, attributeValueText(value)]);
  }
  return collides ? mergeCollisions(attributes) : labels;
}

const labelNames = new Map<string, string | undefined>();

/** Attribute keys repeat on every point; translate each once. Bounded so odd inputs cannot grow it forever. */
function cachedLabelName(key: string): string | undefined {
  if (labelNames.has(key)) return labelNames.get(key);
  const label = translateLabelName(key);
  if (labelNames.size < 10_000) labelNames.set(key, label);
  return label;
}

function mergeCollisions(attributes: Attributes): Labels {
  const entries: Array<[label: string, key: string, value: string]> = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    const label = cachedLabelName(key);
    if (label !== undefined) entries.push([label, key, attributeValueText(value)]);
  }
  const merged = new Map<string, string>();
  for (const [label, , value] of [...entries].sort((a, b) => compareStrings(a[1], b[1]))) {
    const existing = merged.get(label);
    merged.set(label, existing === undefined ? value : `${existing};${value}`);
  }
  const labels: Array<readonly [string, string]> = [];
  for (const [label] of entries) {
    const value = merged.get(label);
    if (value === undefined) continue;
    labels.push([label, value]);
    merged.delete(label);
  }
  return labels;
}

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: shortest round-trip decimal, with Prometheus' spelling of the special values. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/**
 * A bucket bound as Prometheus' OTLP translation writes `le` (Go's FormatFloat 'f', -1): plain decimal, never an
 * exponent, so `le` label values match between the two paths.
 */
export function formatBucketBound(bound: number): string {
  if (!Number.isFinite(bound)) return formatSampleValue(bound);
  const text = String(bound);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign = "", lead = "", fraction = "", exponentText = "0"] = match;
  const digits = lead + fraction;
  const point = 1 + Number(exponentText);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** `name="value",...` without braces, so histogram lines can append `le`. */
function labelPairs(labels: Labels): string {
  let out = "";
  for (const [name, value] of labels) out += `${out === "" ? "" : ","}${name}="${escapeLabelValue(value)}"`;
  return out;
}

/**
 * Rendered labels by attributes object. The snapshot's gauge points and the update series keep the same
 * attributes objects from one scrape to the next, and the SDK passes them through, so at 10,000 stacks most
 * scrapes translate and escape nothing. Weak, so series that are gone take their entries with them.
 */
const renderedLabels = new WeakMap<Attributes, string>();

function renderedPairs(attributes: Attributes): string {
  let pairs = renderedLabels.get(attributes);
  if (pairs === undefined) {
    pairs = labelPairs(translateAttributes(attributes));
    renderedLabels.set(attributes, pairs);
  }
  return pairs;
}

function braced(pairs: string): string {
  return pairs === "" ? "" : `{${pairs}}`;
}

interface Series {
  /** Rendered labels; also the sort and de-duplication key. */
  readonly key: string;
  readonly lines: readonly string[];
}

interface Family {
  readonly name: string;
  readonly type: PrometheusType;
  readonly help: string;
  /** Position in the catalog; metrics outside it come after, by name. */
  readonly rank: number;
  readonly series: Map<string, Series>;
}

const CATALOG_RANK = new Map(METRICS.map((m, index) => [m.name, index]));

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Classified =
  | { readonly ok: true; readonly otlpType: OtlpMetricType; readonly type: PrometheusType }
  | { readonly ok: false; readonly reason: string };

function classify(metric: MetricData): Classified {
  const cumulative = metric.aggregationTemporality === AggregationTemporality.CUMULATIVE;
  switch (metric.dataPointType) {
    case DataPointType.GAUGE:
      return { ok: true, otlpType: "gauge", type: "gauge" };
    case DataPointType.SUM:
      // Like Prometheus' OTLP receiver, delta sums are rejected: without the running total they cannot be a counter.
      if (!cumulative) return { ok: false, reason: "delta temporality is not supported" };
      return metric.isMonotonic
        ? { ok: true, otlpType: "monotonic-counter", type: "counter" }
        : { ok: true, otlpType: "non-monotonic-counter", type: "gauge" };
    case DataPointType.HISTOGRAM:
      if (!cumulative) return { ok: false, reason: "delta temporality is not supported" };
      return { ok: true, otlpType: "histogram", type: "histogram" };
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return { ok: false, reason: "exponential histograms have no text exposition" };
  }
}

function seriesOf(metric: MetricData, name: string): Series[] {
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    let bounds: string[] = [];
    let boundsOf: readonly number[] | undefined;
    return metric.dataPoints.map((point) => {
      const pairs = renderedPairs(point.attributes);
      const key = braced(pairs);
      const le = pairs === "" ? "{le=" : `{${pairs},le=`;
      const { boundaries, counts } = point.value.buckets;
      // Points of one metric share their boundaries; format them once.
      if (boundaries !== boundsOf) {
        bounds = boundaries.map(formatBucketBound);
        boundsOf = boundaries;
      }
      const lines: string[] = [];
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += counts[i] ?? 0;
        lines.push(`${name}_bucket${le}"${bounds[i]}"} ${cumulative}`);
      }
      const count = point.value.count;
      lines.push(`${name}_bucket${le}"+Inf"} ${count}`);
      // The SDK leaves the sum out when the instrument accepts negative values; Prometheus then has no _sum.
      const sum = point.value.sum;
      if (sum !== undefined) lines.push(`${name}_sum${key} ${formatSampleValue(sum)}`);
      lines.push(`${name}_count${key} ${count}`);
      return { key, lines };
    });
  }
  if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) return [];
  return metric.dataPoints.map((point) => {
    const key = braced(renderedPairs(point.attributes));
    return { key, lines: [`${name}${key} ${formatSampleValue(point.value)}`] };
  });
}

function targetInfo(resourceMetrics: readonly ResourceMetrics[]): Family {
  const series = new Map<string, Series>();
  for (const { resource } of resourceMetrics) {
    const labels = [...translateAttributes(resource.attributes)].sort((a, b) => compareStrings(a[0], b[0]));
    if (labels.length === 0) continue;
    const key = braced(labelPairs(labels));
    series.set(key, { key, lines: [`target_info${key} 1`] });
  }
  return { name: "target_info", type: "gauge", help: "Target metadata", rank: -1, series };
}

/**
 * Renders collected metrics as Prometheus text. Families come in catalog order (`target_info` first, metrics
 * outside the catalog last, by name), series sorted by their labels, so equal input gives equal output.
 * Delta sums and histograms (this exporter's pull reader is always cumulative), exponential histograms and a
 * second family under an already used name are left out and reported through `onSkip`.
 */
export function renderPrometheus(
  resourceMetrics: readonly ResourceMetrics[],
  options: RenderOptions = {},
): string {
  const families = new Map<string, Family>();
  for (const { scopeMetrics } of resourceMetrics) {
    for (const { metrics } of scopeMetrics) {
      for (const metric of metrics) {
        const { descriptor } = metric;
        const classified = classify(metric);
        if (!classified.ok) {
          options.onSkip?.(descriptor.name, classified.reason);
          continue;
        }
        const name = translateMetricName(descriptor.name, descriptor.unit, classified.otlpType);
        let family = families.get(name);
        if (family === undefined) {
          family = {
            name,
            type: classified.type,
            help: descriptor.description,
            rank: CATALOG_RANK.get(descriptor.name) ?? Number.MAX_SAFE_INTEGER,
            series: new Map(),
          };
          families.set(name, family);
        } else if (family.type !== classified.type) {
          options.onSkip?.(descriptor.name, `${name} is already a ${family.type}, not a ${classified.type}`);
          continue;
        }
        for (const series of seriesOf(metric, name)) {
          if (!family.series.has(series.key)) family.series.set(series.key, series);
        }
      }
    }
  }
  const ordered = [targetInfo(resourceMetrics), ...families.values()]
    .filter((family) => family.series.size > 0)
    .sort((a, b) => a.rank - b.rank || compareStrings(a.name, b.name));
  const out: string[] = [];
  for (const family of ordered) {
    if (family.help !== "") out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    out.push(`# TYPE ${family.name} ${family.type}`);
    const series = [...family.series.values()].sort((a, b) => compareStrings(a.key, b.key));
    for (const s of series) for (const line of s.lines) out.push(line);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
