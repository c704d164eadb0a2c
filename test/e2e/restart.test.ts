/**
 * A restart with `--state.file`, from source and as the compiled binary, configured the way a deployment is:
 * a YAML file, the token from a file, the environment and a flag each overriding the file. Updates that finish
 * while the exporter is down are counted by the next process, once; none counted before is counted again.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UPDATE_DURATION_BUCKETS } from "../../src/metrics/catalog.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import {
  type ExporterProcess,
  LAUNCHERS,
  type Launcher,
  launcher,
  spawnExporter,
} from "../support/e2e-process.ts";
import { type E2eReceiver, startReceiver } from "../support/e2e-receivers.ts";
import {
  expectedGauges,
  ORG_GAUGES,
  otlpSeries,
  pick,
  STACK_GAUGES,
  UPDATE_FAMILIES,
  UpdateLedger,
} from "../support/e2e-truth.ts";
import { points, resourceAttributes } from "../support/otlp-points.ts";
import type { ExportRequest } from "../support/otlp-proto.ts";

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(60_000);

const TOKEN = "pul-e2e-restart-token-3c9d1f42aa";
/** Two of the simulator's three organizations: the third must not show up anywhere. */
const ORGS = ["org-1", "org-2"];
const GAUGES = [...STACK_GAUGES, ...ORG_GAUGES];

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let dir: string;
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
  rmSync(dir, { recursive: true, force: true });
});

function configYaml(simUrl: string, endpoint: string): string {
  return `pulumi:
  access-token-file: ${join(dir, "token")}
  api-url: ${simUrl}
  organizations: [${ORGS.join(", ")}]
  # A cycle's budget is its interval: long enough that a busy machine never cuts off the restarted process's first
  # cycle, whose one export must hold everything that finished while it was down.
  collect-interval: 3s
  # The inventory every cycle too: the test compares it with the simulator's current values.
  org-interval: 3s
otlp:
  endpoint: ${endpoint}
  insecure: true
  protocol: http/json
resource:
  service-name: from-file
  attributes:
    tier: file
web:
  listen-address: 127.0.0.1:0
log:
  format: json
state:
  file: ${join(dir, "state", "exporter.json")}
`;
}

function start(program: Launcher): ExporterProcess {
  return spawnExporter(
    program,
    ["run", `--config.file=${join(dir, "exporter.yaml")}`, "--log.format=logfmt"],
    {
      // The receiver accepts protobuf only: the file's http/json would be refused.
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", OTEL_SERVICE_NAME: "from-env" },
    },
  );
}

function updatesOf(body: ExportRequest) {
  return pick(otlpSeries(body), UPDATE_FAMILIES);
}

describe("restart with a state file", () => {
  test.each(LAUNCHERS)("%s: counts what finished while it was down, once", async (name) => {
    const program = await launcher(name);
    dir = mkdtempSync(join(tmpdir(), "e2e-restart-"));
    sim = await startSimulator({
      token: TOKEN,
      seed: 5,
      orgs: 3,
      stacks: 24,
      updatesPerStack: 4,
      churn: 0.5,
      stacksCreatedPerTick: 0,
      stacksDeletedPerTick: 0,
      tickSeconds: 600,
      startTime: Math.floor(Date.now() / 1000) - 600,
    });
    receiver = await startReceiver("http/protobuf");
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);
    writeFileSync(join(dir, "exporter.yaml"), configYaml(sim.url, receiver.endpoint));

    // First process: baseline, then updates counted while it runs.
    const before = new UpdateLedger(sim.model, ORGS);
    exporter = start(program);
    // Before the model moves, the exports converge on its gauges exactly (the first cycle's early export, and a
    // first cycle cut off at its deadline on a busy machine, hold only part of them).
    const initial = pick(expectedGauges(sim.model, ORGS, new Date()), GAUGES);
    const { body: first } = await receiver.waitForExportWhere(
      0,
      (body, final) => {
        if (final) expect(pick(otlpSeries(body), GAUGES)).toEqual(initial);
        // A cycle's export: the early one carries no cycle status.
        return (
          points(body, "pulumi_exporter_up").length > 0 &&
          Bun.deepEquals(pick(otlpSeries(body), GAUGES), initial)
        );
      },
      20_000,
    );
    expect(resourceAttributes(first)).toMatchObject({ "service.name": "from-env", tier: "file" });
    const url = await exporter.url();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    sim.tick(2);
    const countedBefore = before.series(UPDATE_DURATION_BUCKETS);
    expect(before.counted()).toBeGreaterThan(3);
    await receiver.waitForExportWhere(1, (body, final) => {
      if (final) expect(updatesOf(body)).toEqual(countedBefore);
      return Bun.deepEquals(updatesOf(body), countedBefore);
    });
    exporter.kill("SIGTERM");
    expect(await exporter.exited(10_000)).toBe(0);
    expect(existsSync(join(dir, "state", "exporter.json"))).toBe(true);
    for (const line of exporter.stderr().trimEnd().split("\n"))
      expect(line).toMatch(/^time=\S+ level=\w+ msg=/);

    // Down: more updates start and finish.
    const whileDown = new UpdateLedger(sim.model, ORGS);
    sim.tick(2);
    expect(whileDown.counted()).toBeGreaterThan(3);

    // Second process: its very first export counts exactly what finished while it was down (a restored state
    // has a baseline: no early export).
    const exportsSoFar = receiver.received.length;
    exporter = start(program);
    await receiver.waitForExports(exportsSoFar + 1, 20_000);
    const restarted = receiver.received[exportsSoFar]?.body as ExportRequest;
    expect(updatesOf(restarted)).toEqual(whileDown.series(UPDATE_DURATION_BUCKETS));
    expect(pick(otlpSeries(restarted), GAUGES)).toEqual(
      pick(expectedGauges(sim.model, ORGS, new Date()), GAUGES),
    );
    expect(exporter.stderr()).toMatch(/msg="state restored" .*stacks=\d+/);
    exporter.kill("SIGTERM");
    expect(await exporter.exited(10_000)).toBe(0);
    expect(exporter.stdout() + exporter.stderr()).not.toContain(TOKEN);
  });
});
