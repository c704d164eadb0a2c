/**
 * The preview page as a person sees it: Debian's Chromium, headless, renders `/metrics-preview` of an exporter
 * collecting the simulator's demo fleet; the rendered DOM has the organizations table and the series, and the
 * screenshot is a real picture. CI installs Chromium (.ci/run); without it this test fails and says so.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { testConfig } from "../support/test-config.ts";

const CHROMIUM = process.env.CHROMIUM_BINARY ?? "/usr/bin/chromium";
// The flags a sandboxed root session needs, and none of the background traffic this machine's network refuses.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
];

let sim: RunningSimulator | undefined;
let exporter: RunningExporter | undefined;
let dir = "";

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Chromium (apt-get install chromium; .ci/run installs it)`,
    );
  }
  dir = mkdtempSync(join(tmpdir(), "pulumi-exporter-chromium-"));
  sim = await startSimulator({ seed: 3, orgs: 2, stacks: 12 });
  const s = sim;
  const clock = new ManualClock(Date.now());
  exporter = await startExporter({
    logger: silentLogger,
    timers: clock,
    config: testConfig({
      pulumi: { apiUrl: s.url, accessToken: s.token, organizations: ["org-1", "org-2"] },
      otlp: { enabled: false },
    }),
  });
  const running = exporter;
  await runNextCycle(running.scheduler, clock);
  if (!running.scheduler.ready) throw new Error("the first cycle did not list every organization");
});

afterAll(async () => {
  await exporter?.stop(2000);
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function chromium(args: readonly string[]): Promise<{ stdout: string; code: number }> {
  const proc = Bun.spawn([CHROMIUM, ...FLAGS, `--user-data-dir=${join(dir, "profile")}`, ...args], {
    stdout: "pipe",
    stderr: "ignore",
  });
  const stdout = await new Response(proc.stdout).text();
  return { stdout, code: await proc.exited };
}

describe("the preview page in Chromium", () => {
  test("renders the organizations table and every series of the demo fleet", async () => {
    const url = `${exporter?.url}/metrics-preview`;
    const dom = await chromium(["--dump-dom", url]);
    expect(dom.code).toBe(0);
    const html = dom.stdout;
    expect(html).toContain("<h2>Organizations</h2>");
    for (const org of ["org-1", "org-2"]) {
      expect(html).toMatch(
        new RegExp(`<tr><td>${org}</td><td class="ok">listed</td><td>\\d{4}-\\d\\d-\\d\\d `),
      );
    }
    expect(html).toContain('<tr><th>stacks</th><td class="num">');
    expect(html).toContain("<code>pulumi_stack_resource_count</code> (gauge)");
    expect(html).toContain("<code>pulumi_deployment_status</code> (gauge)");
    expect(html).not.toContain(sim?.token ?? "never");

    const png = join(dir, "preview.png");
    const shot = await chromium([`--screenshot=${png}`, "--window-size=1280,2000", url]);
    expect(shot.code).toBe(0);
    const bytes = readFileSync(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // Width and height from the IHDR chunk: the window size asked for.
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1280, 2000]);
    // A blank page compresses to a few kilobytes; tables of text do not.
    expect(bytes.length).toBeGreaterThan(30_000);
  }, 60_000);
});
