/**
 * Signals to the compiled binary: SIGHUP reloads the token file and the configuration file (the token applies live,
 * a changed listen address is logged as needing a restart), the process keeps serving, and SIGTERM still stops it
 * with exit 0.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type ExporterProcess, launcher, spawnExporter } from "../support/e2e-process.ts";

// A build and real processes: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(60_000);

const TOKEN = "pul-e2e-signals-token-5b2e8c71d0";
const NEW_TOKEN = "pul-e2e-signals-rotated-9f41a6c3e2";

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let sim: RunningSimulator | undefined;
let exporter: ExporterProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  await exporter?.stop();
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  exporter = undefined;
  sim = undefined;
  dir = undefined;
});

const HUP_LINE = /^time=\S+ level=info msg="received SIGHUP; reloading the configuration"$/m;
const TOKEN_LINE = /^time=\S+ level=info msg="configuration reloaded" changed=pulumi.access-token$/m;
const RESTART_LINE =
  /^time=\S+ level=warn msg="configuration changed; needs a restart to take effect" settings=web.listen-address$/m;

const yaml = (address: string) => `web:\n  listen-address: "${address}"\n`;

describe("signals", () => {
  test("binary: SIGHUP reloads the token and reports a changed listen address; still serves; SIGTERM exits 0", async () => {
    sim = await startSimulator({ token: TOKEN, seed: 3, orgs: 1, stacks: 3 });
    dir = mkdtempSync(join(tmpdir(), "pulumi-exporter-hup-"));
    const tokenFile = join(dir, "token");
    const configFile = join(dir, "config.yaml");
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    writeFileSync(configFile, yaml("127.0.0.1:0"), { mode: 0o600 });
    exporter = spawnExporter(
      await launcher("binary"),
      [
        "run",
        `--pulumi.api-url=${sim.url}`,
        "--pulumi.organizations=org-1",
        `--pulumi.access-token-file=${tokenFile}`,
        `--config.file=${configFile}`,
        "--no-otlp.enabled",
        "--log.format=logfmt",
      ],
      { env: {} },
    );
    const url = await exporter.url(20_000);

    writeFileSync(tokenFile, `${NEW_TOKEN}\n`);
    exporter.kill("SIGHUP");
    await exporter.waitForOutput(TOKEN_LINE);
    let health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect(exporter.stderr().match(new RegExp(HUP_LINE.source, "gm"))).toHaveLength(1);

    writeFileSync(configFile, yaml("127.0.0.1:1"));
    exporter.kill("SIGHUP");
    await exporter.waitForOutput(RESTART_LINE);
    health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect(exporter.stderr().match(new RegExp(HUP_LINE.source, "gm"))).toHaveLength(2);
    expect(exporter.stderr().match(new RegExp(TOKEN_LINE.source, "gm"))).toHaveLength(1);
    expect(exporter.stderr()).not.toContain(NEW_TOKEN);
    expect(exporter.stderr()).not.toContain(TOKEN);

    exporter.kill("SIGTERM");
    expect(await exporter.exited(10_000)).toBe(0);
    expect(exporter.stderr()).toMatch(/^time=\S+ level=info msg="shutting down" signal=SIGTERM$/m);
  });
});
