/**
 * Signals to the compiled binary: SIGHUP is logged and ignored (no configuration reload yet), the process keeps
 * serving, and SIGTERM still stops it with exit 0.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type ExporterProcess, launcher, spawnExporter } from "../support/e2e-process.ts";

// A build and real processes: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(60_000);

const TOKEN = "pul-e2e-signals-token-5b2e8c71d0";

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let sim: RunningSimulator | undefined;
let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await exporter?.stop();
  await sim?.stop();
  exporter = undefined;
  sim = undefined;
});

const SIGHUP_LINE =
  /^time=\S+ level=warn msg="received SIGHUP; ignored \(configuration reload is not supported yet\)"$/m;

describe("signals", () => {
  test("binary: SIGHUP is logged and ignored; the process still serves, then SIGTERM exits 0", async () => {
    sim = await startSimulator({ token: TOKEN, seed: 3, orgs: 1, stacks: 3 });
    exporter = spawnExporter(
      await launcher("binary"),
      [
        "run",
        `--pulumi.api-url=${sim.url}`,
        "--pulumi.organizations=org-1",
        "--no-otlp.enabled",
        "--web.listen-address=127.0.0.1:0",
        "--log.format=logfmt",
      ],
      { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
    );
    const url = await exporter.url(20_000);

    exporter.kill("SIGHUP");
    await exporter.waitForOutput(SIGHUP_LINE);
    const health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect(exporter.stderr().match(new RegExp(SIGHUP_LINE.source, "gm"))).toHaveLength(1);

    exporter.kill("SIGTERM");
    expect(await exporter.exited(10_000)).toBe(0);
    expect(exporter.stderr()).toMatch(/^time=\S+ level=info msg="shutting down" signal=SIGTERM$/m);
  });
});
