/** The `/metrics-preview` page: the gauges of the last collection, grouped by metric, as text or JSON. */
import { CATALOG, type MetricId, type MetricKind } from "../metrics/catalog.ts";
import type { Attributes, GaugeReadings } from "../metrics/points.ts";
import { escapeLabelValue, formatSampleValue } from "../metrics/prometheus.ts";

export interface PreviewSnapshot {
  /** Unix milliseconds at which the collection ended; undefined while none has. */
  readonly takenAt: number | undefined;
  readonly readings: GaugeReadings;
  readonly summary: Readonly<Record<string, number | string>>;
}

export interface PreviewPoint {
  readonly attributes: Attributes;
  /** `null` where the value is NaN or infinite, which JSON cannot carry. */
  readonly value: number | null;
}

export interface PreviewMetric {
  readonly name: string;
  readonly kind: MetricKind;
  readonly description: string;
  readonly points: readonly PreviewPoint[];
}

export interface PreviewDocument {
  readonly takenAt: number | null;
  readonly summary: Readonly<Record<string, number | string>>;
  readonly metrics: readonly PreviewMetric[];
}

const CATALOG_ORDER = Object.keys(CATALOG) as MetricId[];

/** Catalog labels first in catalog order, then any others as given. */
function orderedLabels(id: MetricId, attributes: Attributes): Array<[string, string]> {
  const known: readonly string[] = CATALOG[id].labels;
  const labels: Array<[string, string]> = [];
  for (const name of known) {
    const value = attributes[name];
    if (value !== undefined) labels.push([name, value]);
  }
  for (const [name, value] of Object.entries(attributes))
    if (!known.includes(name)) labels.push([name, value]);
  return labels;
}

function labelText(labels: ReadonlyArray<readonly [string, string]>): string {
  if (labels.length === 0) return "";
  return `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

interface Row {
  readonly attributes: Attributes;
  readonly labels: string;
  readonly value: number;
}

function sortedRows(id: MetricId, readings: GaugeReadings): Row[] {
  const rows = (readings.get(id) ?? []).map((point) => ({
    attributes: point.attributes,
    labels: labelText(orderedLabels(id, point.attributes)),
    value: point.value,
  }));
  return rows.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
}

function presentIds(readings: GaugeReadings): MetricId[] {
  return CATALOG_ORDER.filter((id) => readings.has(id));
}

export function previewDocument(snapshot: PreviewSnapshot): PreviewDocument {
  return {
    takenAt: snapshot.takenAt ?? null,
    summary: snapshot.summary,
    metrics: presentIds(snapshot.readings).map((id) => ({
      name: CATALOG[id].name,
      kind: CATALOG[id].kind,
      description: CATALOG[id].description,
      points: sortedRows(id, snapshot.readings).map((row) => ({
        attributes: row.attributes,
        value: Number.isFinite(row.value) ? row.value : null,
      })),
    })),
  };
}

export function renderPreviewText(snapshot: PreviewSnapshot): string {
  const taken = snapshot.takenAt === undefined ? "not yet" : new Date(snapshot.takenAt).toISOString();
  const out = ["Pulumi exporter: metrics of the last collection", `Taken at: ${taken}`, ""];
  const summary = Object.entries(snapshot.summary);
  if (summary.length > 0) {
    out.push("Summary");
    for (const [key, value] of summary) out.push(`  ${key}: ${value}`);
    out.push("");
  }
  for (const id of presentIds(snapshot.readings)) {
    const definition = CATALOG[id];
    out.push(`# ${definition.name} (${definition.kind}): ${definition.description}`);
    const rows = sortedRows(id, snapshot.readings);
    if (rows.length === 0) out.push("(no series)");
    for (const row of rows) out.push(`${definition.name}${row.labels} ${formatSampleValue(row.value)}`);
    out.push("");
  }
  return out.join("\n");
}
