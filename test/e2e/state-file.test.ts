/**
 * The state file through the real program, from source and as the compiled binary: one process per file (a
 * second one is refused, a stale lock taken over), a file that is not a state of ours moved aside rather than
 * overwritten, and a refusal to start when it cannot be moved aside.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStateFile } from "../../src/collect/state-file.ts";
import { SYNC_RESTORE_MAX_BYTES } from "../../src/collect/state-store.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import {
  type ExporterProcess,
  LAUNCHERS,
  type Launcher,
  launcher,
  runToExit,
  spawnExporter,
} from "../support/e2e-process.ts";

// Processes, a build and a simulator: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(60_000);

const TOKEN = "pul-e2e-state-file-token-5b2e71c0";
const PASSWD =
  "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const LINE = /^time=\S+ level=\w+ msg=/;

beforeAll(async () => {
  await launcher("binary");
}, 120_000);

let dir = "";
let sim: RunningSimulator | undefined;
const processes: ExporterProcess[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop();
  await sim?.stop();
  sim = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function setUp(): Promise<{ path: string; args: string[] }> {
  dir = mkdtempSync(join(tmpdir(), "e2e-state-file-"));
  sim ??= await startSimulator({ token: TOKEN, seed: 3, orgs: 1, stacks: 6, updatesPerStack: 2 });
  const path = join(dir, "state", "exporter.json");
  return {
    path,
    args: [
      "run",
      "--pulumi.organizations=org-1",
      `--pulumi.api-url=${sim.url}`,
      "--pulumi.collect-interval=1s",
      // The organization inventory every cycle too: the test compares it with the simulator's current values.
      "--pulumi.org-interval=1s",
      "--web.listen-address=127.0.0.1:0",
      "--no-otlp.enabled",
      "--log.format=logfmt",
      `--state.file=${path}`,
    ],
  };
}

function start(program: Launcher, args: string[]): ExporterProcess {
  const p = spawnExporter(program, args, { env: { PULUMI_ACCESS_TOKEN: TOKEN } });
  processes.push(p);
  return p;
}

/** SIGTERM, exit 0, and the lock gone with the process. */
async function stopCleanly(p: ExporterProcess, path: string): Promise<void> {
  p.kill("SIGTERM");
  expect(await p.exited(10_000)).toBe(0);
  expect(existsSync(`${path}.lock`)).toBe(false);
  for (const line of p.stderr().trimEnd().split("\n")) expect(line).toMatch(LINE);
}

describe("one process per state file", () => {
  test.each(LAUNCHERS)(
    "%s: a second process on the same file is refused with one line, exit 1",
    async (name) => {
      const program = await launcher(name);
      const { path, args } = await setUp();
      const first = start(program, args);
      await first.waitForOutput(/msg="collection cycle finished"/, 20_000);
      expect(readFileSync(`${path}.lock`, "utf8")).toBe(`${first.pid}\n`);

      const second = await runToExit(program, args, { env: { PULUMI_ACCESS_TOKEN: TOKEN } });
      expect(second).toEqual({
        code: 1,
        stdout: "",
        stderr: `error: state file ${path} is in use by process ${first.pid} (lock ${path}.lock)\n`,
      });
      // The first one is unaffected and still saves; at shutdown it removes its lock.
      expect(readFileSync(`${path}.lock`, "utf8")).toBe(`${first.pid}\n`);
      await stopCleanly(first, path);
      expect(loadStateFile(path).kind).toBe("loaded");
    },
  );

  test("binary: a stale lock (its process gone) is taken over with a log line", async () => {
    const { path, args } = await setUp();
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    mkdirSync(join(dir, "state"));
    writeFileSync(`${path}.lock`, `${gone.pid}\n`);
    const p = start(await launcher("binary"), args);
    await p.waitForOutput(/msg="collection cycle finished"/, 20_000);
    expect(p.stderr()).toContain(
      ` level=warn msg="took over a stale state file lock" lock=${path}.lock pid=${gone.pid}\n`,
    );
    expect(readFileSync(`${path}.lock`, "utf8")).toBe(`${p.pid}\n`);
    await stopCleanly(p, path);
  });
});

describe("a file that is not a state of ours", () => {
  test.each(LAUNCHERS)(
    "%s: /etc/passwd copied there is moved to <file>.bad, not overwritten",
    async (name) => {
      const { path, args } = await setUp();
      mkdirSync(join(dir, "state"));
      writeFileSync(path, PASSWD);
      const p = start(await launcher(name), args);
      await p.waitForOutput(/msg="collection cycle finished"/, 20_000);
      const moved = p
        .stderr()
        .split("\n")
        .filter((line) => line.includes("moved aside"));
      expect(moved).toEqual([
        expect.stringMatching(
          new RegExp(
            `^time=\\S+ level=warn msg="state file unusable, moved aside" path=${path} moved_to=${path}.bad reason="not valid JSON \\(${PASSWD.length} characters\\)"$`,
          ),
        ),
      ]);
      expect(readFileSync(`${path}.bad`, "utf8")).toBe(PASSWD);
      await stopCleanly(p, path);
      expect(loadStateFile(path).kind).toBe("loaded");
      expect(readFileSync(`${path}.bad`, "utf8")).toBe(PASSWD);
    },
  );

  test.each(LAUNCHERS)(
    "%s: when it cannot be moved aside, the exporter refuses to start: one line, exit 1",
    async (name) => {
      const { path, args } = await setUp();
      mkdirSync(join(dir, "state"));
      writeFileSync(path, PASSWD);
      for (const suffix of ["", ...Array.from({ length: 9 }, (_, i) => `.${i + 1}`)])
        writeFileSync(`${path}.bad${suffix}`, `kept${suffix}`);
      const result = await runToExit(await launcher(name), args, { env: { PULUMI_ACCESS_TOKEN: TOKEN } });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: `error: state file ${path} is unusable (not valid JSON (${PASSWD.length} characters)) and cannot be moved aside: ${path}.bad and ${path}.bad.1 to .bad.9 all exist; move it away or choose another --state.file\n`,
      });
      expect(readFileSync(path, "utf8")).toBe(PASSWD);
      expect(readFileSync(`${path}.bad.9`, "utf8")).toBe("kept.9");
      expect(readdirSync(join(dir, "state"))).toHaveLength(11);
    },
  );
  test("binary: a large one (read after the server started) that cannot be moved aside: one error line, exit 1, no lock left", async () => {
    const { path, args } = await setUp();
    mkdirSync(join(dir, "state"));
    const garbage = "x".repeat(SYNC_RESTORE_MAX_BYTES + 1);
    writeFileSync(path, garbage);
    for (const suffix of ["", ...Array.from({ length: 9 }, (_, i) => `.${i + 1}`)])
      writeFileSync(`${path}.bad${suffix}`, "");
    const result = await runToExit(await launcher("binary"), args, { env: { PULUMI_ACCESS_TOKEN: TOKEN } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^time=\S+ level=info msg="serving HTTP" address=127\.0\.0\.1:\d+$/);
    expect(lines[1]).toBe(
      `error: state file ${path} is unusable (not valid JSON (${garbage.length} characters)) and cannot be moved aside: ${path}.bad and ${path}.bad.1 to .bad.9 all exist; move it away or choose another --state.file`,
    );
    // process.exit() skips the shutdown: the lock goes with the exit handler.
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(readFileSync(path, "utf8")).toBe(garbage);
  });
});
