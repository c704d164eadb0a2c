/**
 * A short soak: the running exporter (scheduler, pipeline, HTTP server) cycles at a short interval against the
 * simulator with API faults and a flapping OTLP backend mixed in. Nothing rejects unhandled, it keeps serving,
 * and once the faults clear its values equal the truth.
 */
import { afterEach, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { ClientHooks } from "../../src/pulumi/api.ts";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import type { FaultRule } from "../../src/sim/faults.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import {
  type BackendMode,
  type ControlledBackend,
  startControlledBackend,
} from "../support/reliability-backend.ts";
import {
  FLEET,
  logfmtFields,
  ORGS,
  seriesFromOtlp,
  seriesFromPrometheus,
} from "../support/reliability-rig.ts";
import { pick, TRUTH_FAMILIES, Truth } from "../support/reliability-truth.ts";
import { testConfig } from "../support/test-config.ts";

const SOAK_CYCLES = 30;

/** Rare faults of every kind the history counting survives exactly (see the fault matrix for each alone). */
const MIXED_FAULTS: FaultRule[] = [
  { type: "status", status: 503, probability: 0.04 },
  { type: "status", status: 429, retryAfter: 0, probability: 0.03 },
  { type: "status", status: 500, operation: "GetStackUpdates", probability: 0.05 },
  { type: "reset", probability: 0.03 },
  { type: "malformed-json", probability: 0.02 },
  { type: "invalid-item", operation: "ListTasks", probability: 0.1 },
  { type: "invalid-item", operation: "ListUserStacks", probability: 0.05 },
  { type: "hang", operation: "ListTeams", probability: 0.1 },
  { type: "latency", ms: 2, jitterMs: 8, probability: 0.2 },
];

/** The backend's mode for each soak cycle: mostly up, sometimes down or refusing. */
const BACKEND_PATTERN: BackendMode[] = ["up", "up", "down", "up", "reject", "down", "down", "up"];

let sim: RunningSimulator | undefined;
let backend: ControlledBackend | undefined;
let exporter: RunningExporter | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};
afterEach(async () => {
  process.off("unhandledRejection", onUnhandled);
  backend?.setMode("up");
  await exporter?.stop(2000);
  await sim?.stop();
  await backend?.stop();
  sim = undefined;
  backend = undefined;
  exporter = undefined;
});

test(`${SOAK_CYCLES} cycles with faults mixed in: no unhandled rejection, still serving, exact once clear`, async () => {
  process.on("unhandledRejection", onUnhandled);
  sim = await startSimulator({ ...FLEET, startTime: Math.floor(Date.now() / 1000) - 1 });
  const s = sim;
  backend = startControlledBackend();
  const b = backend;
  // The exporter runs on the wall clock; the model's starts one second behind it (see Truth.clockMs).
  const truth = new Truth(s.model, ORGS, Date.now);

  let cycles = 0;
  let soaking = true;
  let lastCycle: Record<string, string> = {};
  let onCycle: (() => void) | undefined;
  const logger = createLogger({
    level: "info",
    write: (line) => {
      const fields = logfmtFields(line);
      if (fields.msg !== "collection cycle finished") return;
      cycles++;
      lastCycle = fields;
      // Runs before the next cycle starts: the next cycle sees exactly the observed state.
      if (soaking) {
        if (cycles === 1) s.setFaults(MIXED_FAULTS);
        b.setMode(BACKEND_PATTERN[cycles % BACKEND_PATTERN.length] ?? "up");
        s.tick();
        truth.observe();
      }
      onCycle?.();
    },
  });
  const until = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what} (${cycles} cycles)`)),
        30_000,
      );
      onCycle = () => {
        if (!done()) return;
        clearTimeout(timer);
        onCycle = undefined;
        resolve();
      };
      onCycle();
    });

  // The real client, with retry waits of a millisecond so faults cost no wall time; its hooks feed the
  // exporter's own self-metrics.
  const hooks: Required<ClientHooks> = {
    onRequest: (...args) => exporter?.pipeline.instruments.clientHooks.onRequest(...args),
    onRetry: (...args) => exporter?.pipeline.instruments.clientHooks.onRetry(...args),
    onDropped: (...args) => exporter?.pipeline.instruments.clientHooks.onDropped(...args),
  };
  const api = createPulumiClient({
    baseUrl: s.url,
    token: s.token,
    timeoutMs: 50,
    hooks,
    logger,
    sleep: () => Bun.sleep(1),
  });
  truth.observe();
  exporter = await startExporter({
    api,
    logger,
    config: testConfig({
      pulumi: { apiUrl: s.url, accessToken: s.token, organizations: [...ORGS], collectIntervalMs: 150 },
      otlp: { enabled: true, endpoint: b.url, timeoutMs: 300 },
    }),
  });
  const running = exporter;

  await until(() => cycles >= SOAK_CYCLES, `${SOAK_CYCLES} cycles`);
  soaking = false;
  s.clearFaults();
  b.setMode("up");
  expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  const during = seriesFromPrometheus(await (await fetch(`${running.url}/metrics`)).text());
  const total = (family: string) =>
    Object.entries(during)
      .filter(([key]) => key.startsWith(`${family}{`))
      .reduce((sum, [, value]) => sum + value, 0);
  // The faults did fire, were retried, dropped items and failed steps, and exports failed.
  expect(total("pulumi_exporter_api_retries_total")).toBeGreaterThan(0);
  expect(total("pulumi_exporter_collect_errors_total")).toBeGreaterThan(0);
  expect(total("pulumi_exporter_items_dropped_total")).toBeGreaterThan(0);
  expect(during["pulumi_exporter_export_failures_total{}"]).toBeGreaterThan(0);

  // The first complete cycle after the faults clear catches up: every value equals the truth.
  const soaked = cycles;
  await until(
    () =>
      cycles > soaked &&
      lastCycle.errors === "0" &&
      lastCycle.timed_out === "false" &&
      lastCycle.orgs_listed === "3",
    "a complete cycle without faults",
  );
  const expected = truth.expected();
  expect(truth.countedUpdates()).toBeGreaterThan(20);
  const scraped = seriesFromPrometheus(await (await fetch(`${running.url}/metrics`)).text());
  expect(pick(scraped, TRUTH_FAMILIES)).toEqual(expected);
  expect(await running.pipeline.push()).toBe(true);
  const newest = b.receiver.received.at(-1);
  if (!newest) throw new Error("no export accepted");
  expect(pick(seriesFromOtlp(newest.body), TRUTH_FAMILIES)).toEqual(expected);

  expect(running.scheduler.alive()).toBe(true);
  expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  expect(unhandled).toEqual([]);
});
