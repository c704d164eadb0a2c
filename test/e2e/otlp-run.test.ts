/**
 * `run` end to end, from source and as the compiled binary, over every OTLP protocol: the program polls a
 * simulated Pulumi Cloud on loopback and pushes to a real receiver; every exported series is compared with what
 * the simulator's model says, and the request counters with the simulator's own call statistics.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { CATALOG, METRICS, UPDATE_DURATION_BUCKETS } from "../../src/metrics/catalog.ts";

import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type ExporterProcess, LAUNCHERS, launcher, spawnExporter } from "../support/e2e-process.ts";
import { type E2eReceiver, PROTOCOLS, startReceiver } from "../support/e2e-receivers.ts";
import {
  expectedGauges,
  ORG_GAUGES,
  otlpSeries,
  pick,
  type Series,
  STACK_GAUGES,
  seriesKey,
  UPDATE_FAMILIES,
  UpdateLedger,
} from "../support/e2e-truth.ts";
import { metricNames, metricShape, points, resourceAttributes } from "../support/otlp-points.ts";
import type { ExportRequest } from "../support/otlp-proto.ts";

/** Every metric but the webhook counter: it has series only with webhooks on (test/webhooks/). */
const POLLED_METRICS = METRICS.filter((m) => m !== CATALOG.exporterWebhooksReceived);

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(30_000);

const TOKEN = "pul-e2e-run-token-5f0c9a7e31b2";
const ORGS = ["org-1", "org-2", "org-3"];
const GAUGE_FAMILIES = [...STACK_GAUGES, ...ORG_GAUGES];

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let sim: RunningSimulator | undefined;
let receiver: E2eReceiver | undefined;
let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await exporter?.stop();
  await receiver?.stop();
  await sim?.stop();
  exporter = undefined;
  receiver = undefined;
  sim = undefined;
});

function gaugesOf(body: ExportRequest): Series {
  return pick(otlpSeries(body), GAUGE_FAMILIES);
}

/** Requests the simulator answered, keyed like `pulumi_exporter_api_requests_total`. */
function requestsFromSimStats(stats: ReturnType<RunningSimulator["stats"]>): Series {
  const out: Series = {};
  for (const [operation, entry] of Object.entries(stats.operations)) {
    for (const [code, count] of Object.entries(entry.statuses)) {
      out[seriesKey("pulumi_exporter_api_requests_total", { operation, code })] = count;
    }
  }
  return out;
}

describe.each(PROTOCOLS)("run over %s", (protocol) => {
  test.each(LAUNCHERS)(
    "%s: exact values from the simulator, counters, resource, SIGTERM flush",
    async (name) => {
      const program = await launcher(name);
      const startTime = Math.floor(Date.now() / 1000) - 600;
      sim = await startSimulator({
        token: TOKEN,
        seed: 7,
        orgs: 3,
        stacks: 30,
        updatesPerStack: 5,
        deploymentsPerOrg: 20,
        membersPerOrg: 12,
        environmentsPerOrg: 9,
        violationsPerOrg: 25,
        neoTasksPerOrg: 15,
        churn: 0.4,
        stacksCreatedPerTick: 0,
        stacksDeletedPerTick: 0,
        deploymentsPerTick: 2,
        neoTasksPerTick: 1,
        tickSeconds: 600,
        startTime,
      });
      const ledger = new UpdateLedger(sim.model, ORGS);
      receiver = await startReceiver(protocol);
      exporter = spawnExporter(
        program,
        [
          "run",
          `--pulumi.api-url=${sim.url}`,
          `--pulumi.organizations=${ORGS.join(",")}`,
          "--pulumi.collect-interval=500ms",
          // The organization inventory every cycle too: the test compares it with the simulator's current values.
          "--pulumi.org-interval=500ms",
          "--pulumi.drift-refresh=500ms",
          `--otlp.endpoint=${receiver.endpoint}`,
          `--otlp.protocol=${protocol}`,
          "--otlp.insecure",
          "--web.listen-address=127.0.0.1:0",
        ],
        {
          env: {
            PULUMI_ACCESS_TOKEN: TOKEN,
            OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=e2e,team=platform%20ops",
          },
        },
      );

      // Before the model moves, the exports converge on its gauges exactly: the first cycle's early export (stack
      // lists and organization sources in) and, on a busy machine, a first cycle cut off at its 500 ms deadline hold
      // only part of them; the next cycles read the rest. Nothing is counted meanwhile.
      const initial = pick(expectedGauges(sim.model, ORGS, new Date()), GAUGE_FAMILIES);
      const { body: first } = await receiver.waitForExportWhere(
        0,
        (body, final) => {
          if (final) expect(gaugesOf(body)).toEqual(initial);
          // A cycle's export: the early one carries no cycle status.
          return points(body, "pulumi_exporter_up").length > 0 && Bun.deepEquals(gaugesOf(body), initial);
        },
        20_000,
      );
      expect(pick(otlpSeries(first), UPDATE_FAMILIES)).toEqual({});
      expect(points(first, "pulumi_stack_update_in_progress").length).toBeGreaterThan(0);
      expect(points(first, "pulumi_exporter_up")).toMatchObject([{ kind: "int", value: 1 }]);
      expect(points(first, "pulumi_exporter_build_info")).toMatchObject([
        { kind: "int", value: 1, attributes: { version: program.version, revision: program.revision } },
      ]);

      const resource = resourceAttributes(first);
      expect(resource["service.name"]).toBe("pulumi-exporter");
      expect(resource["service.version"]).toBe(program.version);
      expect(resource["service.instance.id"]).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(resource["deployment.environment"]).toBe("e2e");
      expect(resource.team).toBe("platform ops");

      // Two ticks of 10 simulated minutes: every running update finishes, new ones start and some finish.
      sim.tick(2);
      const counted = ledger.series(UPDATE_DURATION_BUCKETS);
      expect(ledger.counted()).toBeGreaterThan(3);
      const gauges = pick(expectedGauges(sim.model, ORGS, new Date()), GAUGE_FAMILIES);
      const { body: later } = await receiver.waitForExportWhere(1, (body, final) => {
        const series = otlpSeries(body);
        if (final) {
          expect(pick(series, UPDATE_FAMILIES)).toEqual(counted);
          expect(gaugesOf(body)).toEqual(gauges);
        }
        return (
          Bun.deepEquals(pick(series, UPDATE_FAMILIES), counted) && Bun.deepEquals(gaugesOf(body), gauges)
        );
      });

      // Every family of the catalog, each with the shape and value type the catalog gives it.
      expect(metricNames(later)).toEqual(POLLED_METRICS.map((m) => m.name).sort());
      for (const definition of POLLED_METRICS) {
        const shape = metricShape(later, definition.name);
        expect({ name: definition.name, type: shape.type }).toEqual({
          name: definition.name,
          type: definition.kind === "counter" ? "sum" : definition.kind,
        });
        if (definition.kind !== "histogram") {
          const kinds = new Set(points(later, definition.name).map((p) => p.kind));
          expect({ name: definition.name, kinds: [...kinds] }).toEqual({
            name: definition.name,
            kinds: [definition.valueType],
          });
        }
      }
      expect(points(later, "pulumi_stack_resource_count").every((p) => p.kind === "int")).toBe(true);
      expect(points(later, "pulumi_stack_last_update_timestamp").every((p) => p.kind === "double")).toBe(
        true,
      );
      for (const p of points(later, "pulumi_update_duration_seconds")) {
        expect(p.explicitBounds).toEqual([5, 10, 30, 60, 120, 300, 600, 1800]);
        expect(p.bucketCounts).toHaveLength(9);
        expect(p.bucketCounts.reduce((a, b) => a + b, 0)).toBe(p.count);
      }
      const histogramCount = points(later, "pulumi_update_duration_seconds").reduce((n, p) => n + p.count, 0);
      expect(histogramCount).toBe(ledger.counted());
      expect(metricShape(later, CATALOG.updateDuration.name).unit).toBe("s");

      // SIGTERM: exit 0 within the promised 10 s, after one last export of the final values.
      const before = receiver.received.length;
      exporter.kill("SIGTERM");
      expect(await exporter.exited(10_000)).toBe(0);
      expect(receiver.received.length).toBeGreaterThan(before);
      const final = receiver.received.at(-1)?.body as ExportRequest;
      expect(exporter.stderr()).toMatch(/msg="shutting down" signal=SIGTERM/);
      expect(exporter.stderr()).toMatch(/msg=stopped/);

      // With no cycle left, the request counters must equal what the simulator answered, call for call.
      const requests = pick(otlpSeries(final), ["pulumi_exporter_api_requests_total"]);
      expect(requests).toEqual(requestsFromSimStats(sim.stats()));
      const calls = Object.values(sim.stats().operations).reduce((n, op) => n + op.calls, 0);
      const timed = points(final, "pulumi_exporter_api_request_duration_seconds").reduce(
        (n, p) => n + p.count,
        0,
      );
      expect(timed).toBe(calls);

      expect(exporter.stdout()).not.toContain(TOKEN);
      expect(exporter.stderr()).not.toContain(TOKEN);
    },
    60_000,
  );
});
