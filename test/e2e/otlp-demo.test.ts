/**
 * `demo` end to end, from source and as the compiled binary, over every OTLP protocol: what is pushed must be
 * what the program's own /metrics-preview shows for the same cycle, with the catalog's labels and value types;
 * on SIGTERM the program exits 0 after one final export.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { CATALOG, METRICS } from "../../src/metrics/catalog.ts";
import { type ExporterProcess, LAUNCHERS, launcher, spawnExporter } from "../support/e2e-process.ts";
import { type E2eReceiver, PROTOCOLS, startReceiver } from "../support/e2e-receivers.ts";
import { otlpSeries, pick, type Series, seriesKey } from "../support/e2e-truth.ts";
import { metricNames, points, resourceAttributes } from "../support/otlp-points.ts";
import type { ExportRequest } from "../support/otlp-proto.ts";

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(30_000);

interface PreviewDocument {
  takenAt: number | null;
  summary: Record<string, number | string>;
  metrics: Array<{
    name: string;
    kind: string;
    points: Array<{ attributes: Record<string, string>; value: number | null }>;
  }>;
}

const GAUGES = METRICS.filter((m) => m.kind === "gauge").map((m) => m.name);
const ORGS = ["org-1", "org-2", "org-3"];
const DEPLOYMENT_STATUSES = ["accepted", "failed", "not-started", "other", "running", "skipped", "succeeded"];

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let receiver: E2eReceiver | undefined;
let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await exporter?.stop();
  await receiver?.stop();
  exporter = undefined;
  receiver = undefined;
});

function previewSeries(doc: PreviewDocument): Series {
  const out: Series = {};
  for (const m of doc.metrics) {
    for (const p of m.points) out[seriesKey(m.name, p.attributes)] = p.value ?? Number.NaN;
  }
  return out;
}

function labelValues(body: ExportRequest, name: string, label: string): string[] {
  return [...new Set(points(body, name).map((p) => p.attributes[label] ?? "(none)"))].sort();
}

describe.each(PROTOCOLS)("demo over %s", (protocol) => {
  test.each(LAUNCHERS)(
    "%s: pushes what /metrics-preview shows, then flushes once on SIGTERM",
    async (name) => {
      const program = await launcher(name);
      receiver = await startReceiver(protocol);
      // The demo's default interval (10 s) leaves the first cycle's values in place for the whole test.
      exporter = spawnExporter(
        program,
        [
          "demo",
          `--otlp.endpoint=${receiver.endpoint}`,
          `--otlp.protocol=${protocol}`,
          "--otlp.insecure",
          "--web.listen-address=127.0.0.1:0",
        ],
        { env: { OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=demo,host.name=e2e%2Dhost" } },
      );
      const url = await exporter.url(20_000);
      await exporter.waitForOutput(new RegExp(`pushing OTLP \\(${protocol}\\) to ${receiver.endpoint}`));
      // The first cycle's early export (stack lists and organization sources in), then the cycle's.
      await receiver.waitForExports(2, 20_000);
      const first = receiver.received[1]?.body as ExportRequest;

      const response = await fetch(`${url}/metrics-preview?format=json`);
      expect(response.status).toBe(200);
      const preview = (await response.json()) as PreviewDocument;
      // The same cycle: the preview was taken when the exported last-success timestamp says.
      const [lastSuccess] = points(first, "pulumi_exporter_last_success_timestamp_seconds");
      expect(lastSuccess?.value).toBe((preview.takenAt ?? 0) / 1000);

      // Every gauge of the catalog is produced by the demo, and the push carries exactly the preview's values.
      expect(preview.metrics.map((m) => m.name).sort()).toEqual([...GAUGES].sort());
      expect(pick(otlpSeries(first), GAUGES)).toEqual(previewSeries(preview));
      expect(preview.summary).toMatchObject({ organizations: 3, up: 1 });
      expect(points(first, "pulumi_stack_resource_count")).toHaveLength(Number(preview.summary.stacks));

      // Names: gauges, request counters and the always-present error counters; no update was counted yet.
      const names = metricNames(first);
      for (const required of [
        ...GAUGES,
        CATALOG.exporterApiRequests.name,
        CATALOG.exporterApiRequestDuration.name,
        CATALOG.exporterApiRetries.name,
        CATALOG.exporterItemsDropped.name,
        CATALOG.exporterCollectErrors.name,
        CATALOG.exporterExportFailures.name,
      ])
        expect(names).toContain(required);

      // Labels and value types, as the catalog declares them.
      for (const definition of METRICS.filter((m) => names.includes(m.name) && m.kind !== "histogram")) {
        for (const p of points(first, definition.name)) {
          expect({ name: definition.name, labels: Object.keys(p.attributes).sort(), kind: p.kind }).toEqual({
            name: definition.name,
            labels: [...definition.labels].sort(),
            kind: definition.valueType,
          });
        }
      }
      expect(labelValues(first, "pulumi_deployment_status", "org")).toEqual(ORGS);
      expect(labelValues(first, "pulumi_deployment_status", "status")).toEqual(DEPLOYMENT_STATUSES);
      // 3 organizations × (6 statuses + other).
      expect(points(first, "pulumi_deployment_status")).toHaveLength(21);
      expect(labelValues(first, "pulumi_stack_resource_count", "org")).toEqual(ORGS);
      expect(labelValues(first, "pulumi_org_member_count", "org")).toEqual(ORGS);
      // The demo's last organization has no Neo budget: its budget gauges are absent, not 0.
      expect(labelValues(first, "pulumi_org_neo_token_budget_allowance", "org")).toEqual(["org-1", "org-2"]);
      expect(points(first, "pulumi_stack_resource_count")[0]?.kind).toBe("int");
      expect(points(first, "pulumi_stack_last_update_timestamp")[0]?.kind).toBe("double");
      expect(points(first, "pulumi_exporter_export_failures_total")).toMatchObject([
        { kind: "int", value: 0 },
      ]);

      const resource = resourceAttributes(first);
      expect(resource).toMatchObject({
        "service.name": "pulumi-exporter",
        "service.version": program.version,
        "deployment.environment": "demo",
        "host.name": "e2e-host",
      });
      expect(resource["service.instance.id"]).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );

      // SIGTERM: exactly one more export (no cycle ran in between, so the same gauges), then exit 0.
      expect(receiver.received).toHaveLength(2);
      exporter.kill("SIGTERM");
      expect(await exporter.exited(10_000)).toBe(0);
      expect(receiver.received).toHaveLength(3);
      const final = receiver.received[2]?.body as ExportRequest;
      expect(pick(otlpSeries(final), GAUGES)).toEqual(pick(otlpSeries(first), GAUGES));
      expect(resourceAttributes(final)["service.instance.id"]).toBe(resource["service.instance.id"]);
      expect(exporter.stderr()).toContain('msg="shutting down" signal=SIGTERM');
    },
    60_000,
  );
});
