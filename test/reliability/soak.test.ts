/**
 * A short soak: the running exporter (scheduler, pipeline, HTTP server) cycles against the simulator with API
 * faults, hangs cut off by request timeouts and by the cycle deadline, and a flapping OTLP backend mixed in.
 * Nothing rejects unhandled, it keeps serving, and once the faults clear its values equal the truth.
 *
 * Time is driven, never raced: the loop's timers (interval, cycle deadline, request timeouts) run on a manual
 * clock that the test advances, and the collector reads the simulator's clock, as a real exporter reads the same
 * clock as Pulumi Cloud. How busy the machine is changes how long the test takes, not what it sees.
 */
import { afterEach, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { cycleBudgetMs } from "../../src/collect/cycle.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { ClientHooks } from "../../src/pulumi/api.ts";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import type { FaultRule } from "../../src/sim/faults.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { driveHeldRequests } from "../support/held-requests.ts";
import { ManualClock } from "../support/manual-clock.ts";
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
const INTERVAL_MS = 60_000;
const TIMEOUT_MS = 1_000;
/** Every few cycles the deadline cuts the cycle off after this many responses. */
const CUT_OFF_EVERY = 6;
const CUT_OFF_AFTER_RESPONSES = 12;

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
let stopDriver: (() => void) | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};
afterEach(async () => {
  process.off("unhandledRejection", onUnhandled);
  stopDriver?.();
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
  sim = await startSimulator(FLEET);
  const s = sim;
  backend = startControlledBackend();
  const b = backend;
  const truth = new Truth(s.model, ORGS);
  const clock = new ManualClock(truth.clockMs());

  let finished: ((fields: Record<string, string>) => void) | undefined;
  const logger = createLogger({
    level: "info",
    write: (line) => {
      const fields = logfmtFields(line);
      if (fields.msg === "collection cycle finished") finished?.(fields);
    },
  });

  // The real client on the manual clock: a hung request ends when the test moves time past its timeout. Retry
  // waits take no time. Its hooks feed the exporter's own self-metrics.
  const held = driveHeldRequests(s, clock, TIMEOUT_MS);
  stopDriver = () => held.stop();
  let responses = 0;
  let onResponse: () => void = () => undefined;
  const hooks: Required<ClientHooks> = {
    onRequest: (...args) => exporter?.pipeline.instruments.clientHooks.onRequest(...args),
    onRetry: (...args) => exporter?.pipeline.instruments.clientHooks.onRetry(...args),
    onDropped: (...args) => exporter?.pipeline.instruments.clientHooks.onDropped(...args),
  };
  const api = createPulumiClient({
    baseUrl: s.url,
    token: s.token,
    timeoutMs: TIMEOUT_MS,
    hooks,
    logger,
    timers: clock,
    sleep: async () => {},
    fetch: (request, init) =>
      held.fetch(request, init).finally(() => {
        responses++;
        onResponse();
      }),
  });
  truth.observe();
  exporter = await startExporter({
    api,
    logger,
    timers: clock,
    now: () => truth.clockMs(),
    config: testConfig({
      pulumi: {
        apiUrl: s.url,
        accessToken: s.token,
        organizations: [...ORGS],
        collectIntervalMs: INTERVAL_MS,
        // Every source every cycle: the faults on the inventory endpoints must fire, and the truth is current.
        orgIntervalMs: INTERVAL_MS,
      },
      otlp: { enabled: true, endpoint: b.url, timeoutMs: 2_000 },
    }),
  });
  const running = exporter;
  const budgetMs = cycleBudgetMs(INTERVAL_MS);

  /** Armed by `cycle`: moves time to the deadline once that many responses of the cycle are in. */
  let cutOff: { afterResponses: number; deadline: number } | undefined;
  onResponse = () => {
    if (cutOff === undefined || responses < cutOff.afterResponses) return;
    const { deadline } = cutOff;
    cutOff = undefined;
    // Exactly to the deadline: the next cycle's timer lies beyond it.
    clock.advance(deadline - clock.now());
  };

  /**
   * Starts the next cycle on the manual clock and resolves with its log line. Hung requests end at their timeout
   * (the driver moves time for them); `cutOffAfter` moves time to the deadline after that many responses.
   */
  const cycle = async (cutOffAfter?: number): Promise<Record<string, string>> => {
    const at = await running.scheduler.scheduled();
    const line = new Promise<Record<string, string>>((resolve) => {
      finished = resolve;
    });
    if (cutOffAfter !== undefined)
      cutOff = { afterResponses: responses + cutOffAfter, deadline: at + budgetMs };
    clock.advance(at - clock.now());
    const fields = await line;
    cutOff = undefined;
    return fields;
  };

  let timedOutCycles = 0;
  for (let index = 1; index <= SOAK_CYCLES; index++) {
    const cutOff = index % CUT_OFF_EVERY === 0 ? CUT_OFF_AFTER_RESPONSES : undefined;
    const line = await cycle(cutOff);
    if (line.timed_out === "true") timedOutCycles++;
    // Between cycles: the next cycle sees exactly the observed state.
    if (index === 1) s.setFaults(MIXED_FAULTS);
    b.setMode(BACKEND_PATTERN[index % BACKEND_PATTERN.length] ?? "up");
    s.tick();
    truth.observe();
  }
  s.clearFaults();
  b.setMode("up");
  expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  const during = seriesFromPrometheus(await (await fetch(`${running.url}/metrics`)).text());
  const total = (family: string) =>
    Object.entries(during)
      .filter(([key]) => key.startsWith(`${family}{`))
      .reduce((sum, [, value]) => sum + value, 0);
  // The faults did fire, were retried, dropped items and failed steps, cycles were cut off, and exports failed.
  expect(total("pulumi_exporter_api_retries_total")).toBeGreaterThan(0);
  expect(total("pulumi_exporter_collect_errors_total")).toBeGreaterThan(0);
  expect(total("pulumi_exporter_items_dropped_total")).toBeGreaterThan(0);
  expect(
    Object.entries(during)
      .filter(
        ([key]) => key.startsWith("pulumi_exporter_api_requests_total{") && key.includes('code="timeout"'),
      )
      .reduce((sum, [, value]) => sum + value, 0),
  ).toBeGreaterThan(0);
  // Exactly the cycles cut off at their deadline timed out: hangs alone never run a cycle out of time.
  expect(timedOutCycles).toBe(Math.floor(SOAK_CYCLES / CUT_OFF_EVERY));
  // Exports ran in the background all along, against a flapping backend; how many failed depends on timing. A
  // refused export now is counted exactly once.
  await running.pipeline.push();
  b.setMode("reject");
  const failures = async () =>
    seriesFromPrometheus(await (await fetch(`${running.url}/metrics`)).text())[
      "pulumi_exporter_export_failures_total{}"
    ] ?? 0;
  const failedBefore = await failures();
  expect(await running.pipeline.push()).toBe(false);
  expect(await failures()).toBe(failedBefore + 1);
  b.setMode("up");

  // The first complete cycle after the faults clear catches up: every value equals the truth.
  let clean: Record<string, string> = {};
  for (let extra = 0; extra < 5; extra++) {
    clean = await cycle();
    if (clean.errors === "0" && clean.timed_out === "false" && clean.orgs_listed === "3") break;
  }
  expect([clean.errors, clean.timed_out, clean.orgs_listed]).toEqual(["0", "false", "3"]);
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
