/**
 * The OTLP half of the fault matrix: a backend that is down, one that rejects what it gets, and one slower than
 * the collection interval. The values the receiver finally holds are compared with the simulator's truth.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";
import { metricShape, points } from "../support/otlp-points.ts";
import { type ControlledBackend, startControlledBackend } from "../support/reliability-backend.ts";
import { logfmtFields, type Rig, seriesFromOtlp, startRig } from "../support/reliability-rig.ts";
import { pick, TRUTH_FAMILIES } from "../support/reliability-truth.ts";
import { testConfig } from "../support/test-config.ts";

let rig: Rig | undefined;
let backend: ControlledBackend | undefined;
let sim: RunningSimulator | undefined;
let exporter: RunningExporter | undefined;
afterEach(async () => {
  backend?.setMode("up");
  await exporter?.stop(2000);
  await rig?.stop();
  await sim?.stop();
  await backend?.stop();
  rig = undefined;
  backend = undefined;
  sim = undefined;
  exporter = undefined;
});

/** One OTLP request per export: the timeout (500 ms) is shorter than the SDK's first backoff (at least 800 ms). */
const EXPORT_TIMEOUT_MS = 500;

async function startPushing(): Promise<{ r: Rig; b: ControlledBackend }> {
  backend = startControlledBackend();
  rig = await startRig({ otlp: testOtlpConfig({ endpoint: backend.url, timeoutMs: EXPORT_TIMEOUT_MS }) });
  return { r: rig, b: backend };
}

/** The series of the newest export the receiver accepted. */
function lastExport(b: ControlledBackend) {
  const newest = b.receiver.received.at(-1);
  if (!newest) throw new Error("no export accepted");
  return newest.body;
}

function exportLogLines(r: Rig): string[] {
  return r.logs
    .map(logfmtFields)
    .filter((f) => f.msg?.startsWith("OTLP export"))
    .map((f) => `${f.level} ${f.msg}${f.error ? `: ${f.error}` : ""}`);
}

describe("OTLP backend faults", () => {
  test("down for 3 cycles, then back: the receiver gets the true cumulative totals", async () => {
    const { r, b } = await startPushing();
    await r.cycle();
    expect(await r.push()).toBe(true);
    expect(pick(seriesFromOtlp(lastExport(b)), TRUTH_FAMILIES)).toEqual(r.truth.expected());
    const firstStart = points(lastExport(b), "pulumi_exporter_export_failures_total")[0]?.startTimeUnixNano;

    b.setMode("down");
    const countedBefore = r.truth.countedUpdates();
    for (let cycle = 0; cycle < 3; cycle++) {
      r.tick();
      const result = await r.cycle();
      expect(result.up).toBe(true);
      expect(await r.push()).toBe(false);
    }
    expect(r.truth.countedUpdates()).toBeGreaterThan(countedBefore);
    // One request per failed export: the exporter gives up at its timeout instead of piling retries.
    expect(b.attempts.map((a) => `${a.mode} ${a.status}`)).toEqual([
      "up 200",
      "down 503",
      "down 503",
      "down 503",
    ]);

    b.setMode("up");
    r.tick();
    await r.cycle();
    expect(await r.push()).toBe(true);
    expect(b.receiver.received).toHaveLength(2);
    const recovered = lastExport(b);
    expect(pick(seriesFromOtlp(recovered), TRUTH_FAMILIES)).toEqual(r.truth.expected());
    expect(metricShape(recovered, "pulumi_update_total").temporality).toBe(2);
    expect(metricShape(recovered, "pulumi_update_duration_seconds").temporality).toBe(2);
    // Cumulative series keep their start: a backend computing rates sees no reset.
    expect(points(recovered, "pulumi_exporter_export_failures_total")).toMatchObject([
      { value: 3, startTimeUnixNano: firstStart },
    ]);
    expect(exportLogLines(r)).toEqual([
      "warn OTLP export failed: export failed: the backend answered with a retryable status (429, 502, 503 or 504) and the exporter gave up",
      "info OTLP export recovered",
    ]);
  });

  test("a backend answering 400 is reported, counted and never retried", async () => {
    const { r, b } = await startPushing();
    b.setMode("reject", "metric name pulumi_update_total rejected");
    for (let cycle = 0; cycle < 3; cycle++) {
      await r.cycle();
      expect(await r.push()).toBe(false);
      r.tick();
    }
    expect(b.attempts.map((a) => `${a.mode} ${a.status}`)).toEqual([
      "reject 400",
      "reject 400",
      "reject 400",
    ]);
    expect(exportLogLines(r)).toEqual([
      "warn OTLP export failed: HTTP 400 Bad Request: metric name pulumi_update_total rejected",
    ]);

    b.setMode("up");
    await r.cycle();
    expect(await r.push()).toBe(true);
    const body = lastExport(b);
    expect(points(body, "pulumi_exporter_export_failures_total").map((p) => p.value)).toEqual([3]);
    expect(pick(seriesFromOtlp(body), TRUTH_FAMILIES)).toEqual(r.truth.expected());
    expect(exportLogLines(r).at(-1)).toBe("info OTLP export recovered");
    expect(b.attempts).toHaveLength(4);
  });

  test("a backend slower than the interval never delays the next collection cycle", async () => {
    backend = startControlledBackend();
    const b = backend;
    b.setMode("hold");
    sim = await startSimulator({ orgs: 1, stacks: 4, seed: 3, churn: 0 });
    let cycles = 0;
    let onCycle: (() => void) | undefined;
    const logger = createLogger({
      level: "info",
      write: (line) => {
        if (logfmtFields(line).msg !== "collection cycle finished") return;
        cycles++;
        onCycle?.();
      },
    });
    const cyclesReached = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${cycles} cycles, waiting for ${n}`)), 10_000);
        onCycle = () => {
          if (cycles < n) return;
          clearTimeout(timer);
          resolve();
        };
        onCycle();
      });
    exporter = await startExporter({
      logger,
      config: testConfig({
        pulumi: {
          apiUrl: sim.url,
          accessToken: sim.token,
          organizations: ["org-1"],
          collectIntervalMs: 150,
        },
        otlp: { enabled: true, endpoint: b.url, timeoutMs: 30_000 },
      }),
    });
    await cyclesReached(6);
    // Six cycles ran while the first export was still waiting for the backend, and exports did not pile up:
    // one request in flight, at most one more waiting inside the exporter.
    expect(b.attempts).toHaveLength(1);
    expect(b.held).toBe(1);
    expect(b.receiver.received).toHaveLength(0);
    expect(exporter.scheduler.cycles).toBeGreaterThanOrEqual(6);

    b.setMode("up");
    await b.receiver.waitForExports(2, 5000);
    const seen = cycles;
    await cyclesReached(seen + 2);
    expect(exporter.scheduler.alive()).toBe(true);
    const health = await fetch(`${exporter.url}/healthz`);
    expect(health.status).toBe(200);
    const body = lastExport(b);
    expect(points(body, "pulumi_exporter_up")).toMatchObject([{ value: 1 }]);
    const resourceCounts = (list: { project: string; stack: string; count: number }[]) =>
      Object.fromEntries(list.map((p) => [`${p.project}/${p.stack}`, p.count]));
    expect(
      resourceCounts(
        points(body, "pulumi_stack_resource_count").map((p) => ({
          project: p.attributes.project ?? "",
          stack: p.attributes.stack ?? "",
          count: p.value,
        })),
      ),
    ).toEqual(
      resourceCounts(
        sim.model.listStacks("org-1").map((s) => ({
          project: s.projectName,
          stack: s.stackName,
          count: s.resourceCount ?? 0,
        })),
      ),
    );
  });
});
