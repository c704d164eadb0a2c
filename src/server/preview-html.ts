/**
 * The `/metrics-preview` page for people: each organization's state (listed or not, since when, what fails), the
 * counts that matter, and every series of the last collection with times a person can read. Everything on it
 * comes from the collector's snapshot and the client's error messages, which never carry the token; every value
 * is escaped.
 */
import { createHash } from "node:crypto";
import { CATALOG, type MetricId } from "../metrics/catalog.ts";
import { type PreviewSnapshot, previewDocument } from "./preview.ts";
import type { OrgHealth } from "./readiness.ts";

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td{white-space:pre-line}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}code{font-size:.9em}p.desc{margin:.2rem 0;color:#57606a}`;

/** The page's Content-Security-Policy: nothing but its own inline style. */
export const PREVIEW_HTML_CSP = `default-src 'none'; style-src 'sha256-${createHash("sha256")
  .update(STYLE)
  .digest("base64")}'; frame-ancestors 'none'`;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** `2026-05-20 11:57:05 UTC (3 min ago)`. */
export function humanTime(ms: number, now: number): string {
  const stamp = `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const seconds = Math.round((now - ms) / 1000);
  const ago = Math.abs(seconds);
  const span =
    ago < 90
      ? `${ago} s`
      : ago < 5400
        ? `${Math.round(ago / 60)} min`
        : ago < 172_800
          ? `${Math.round(ago / 3600)} h`
          : `${Math.round(ago / 86_400)} days`;
  return `${stamp} (${seconds >= 0 ? `${span} ago` : `in ${span}`})`;
}

const TIMESTAMP_METRICS: ReadonlySet<string> = new Set(
  (Object.keys(CATALOG) as MetricId[])
    .map((id) => CATALOG[id].name)
    .filter((name) => /_timestamp(_seconds)?$/.test(name)),
);

function cell(text: string, className?: string): string {
  return `<td${className ? ` class="${className}"` : ""}>${escapeHtml(text)}</td>`;
}

/** The client's messages start with their operation already; others get it. */
function withOperation(operation: string, error: string): string {
  return error.startsWith(`${operation}:`) ? error : `${operation}: ${error}`;
}

function organizationsTable(organizations: readonly OrgHealth[], now: number): string {
  if (organizations.length === 0) return "<p>No collection cycle has finished yet.</p>";
  const rows = organizations.map((org) => {
    const failing =
      org.failing.length === 0
        ? "none"
        : org.failing
            .map(
              (step) =>
                `${withOperation(step.operation, step.error)} (since ${humanTime(step.since, now)}, ${step.failures}×)`,
            )
            .join("\n");
    return `<tr>${cell(org.org)}${cell(org.listed ? "listed" : "not listed", org.listed ? "ok" : "bad")}${cell(
      org.lastListedAt === undefined ? "never" : humanTime(org.lastListedAt, now),
    )}${cell(failing, org.failing.length === 0 ? undefined : "bad")}</tr>`;
  });
  return `<table id="organizations"><thead><tr><th>Organization</th><th>Stack list</th><th>Last listed</th><th>Failing steps (last error)</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table>`;
}

function summaryTable(summary: Readonly<Record<string, number | string>>): string {
  const rows = Object.entries(summary).map(
    ([key, value]) => `<tr><th>${escapeHtml(key)}</th>${cell(String(value), "num")}</tr>`,
  );
  return `<table id="summary"><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function seriesTables(snapshot: PreviewSnapshot, now: number): string {
  return previewDocument(snapshot)
    .metrics.map((metric) => {
      const labels = [...new Set(metric.points.flatMap((p) => Object.keys(p.attributes)))];
      const isTime = TIMESTAMP_METRICS.has(metric.name);
      const head = `<tr>${labels.map((l) => `<th>${escapeHtml(l)}</th>`).join("")}<th>value</th></tr>`;
      const rows = metric.points.map((p) => {
        const value = p.value === null ? "NaN" : String(p.value);
        const shown = isTime && p.value !== null ? `${value} = ${humanTime(p.value * 1000, now)}` : value;
        return `<tr>${labels.map((l) => cell(p.attributes[l] ?? "")).join("")}${cell(shown, "num")}</tr>`;
      });
      return `<h3 id="${escapeHtml(metric.name)}"><code>${escapeHtml(metric.name)}</code> (${metric.kind})</h3>
<p class="desc">${escapeHtml(metric.description)}</p>
<table><thead>${head}</thead><tbody>
${rows.join("\n")}
</tbody></table>`;
    })
    .join("\n");
}

export interface PreviewPage {
  readonly snapshot: PreviewSnapshot;
  readonly organizations: readonly OrgHealth[];
  readonly version: string;
  /** Epoch ms: "now" for the relative times. */
  readonly now: number;
}

export function renderPreviewHtml(page: PreviewPage): string {
  const { snapshot, now } = page;
  const taken = snapshot.takenAt === undefined ? "not yet" : humanTime(snapshot.takenAt, now);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pulumi exporter: last collection</title><style>${STYLE}</style></head>
<body>
<h1>Pulumi exporter ${escapeHtml(page.version)}</h1>
<p>Last collection: ${escapeHtml(taken)}. As text: <a href="?format=text">?format=text</a>, as JSON: <a href="?format=json">?format=json</a>.</p>
<h2>Organizations</h2>
${organizationsTable(page.organizations, now)}
<h2>Counts</h2>
${summaryTable(snapshot.summary)}
<h2>Every series</h2>
${seriesTables(snapshot, now)}
</body>
</html>
`;
}
