/**
 * The linux arm64 release binary, run (not only built) under Debian's qemu-user: `--version`, and `demo` serving
 * `/metrics` with the simulator's data. qemu-user and libc6:arm64 come from scripts/install-test-deps.sh (run by
 * `npm run test:fresh` and .ci/run); without them this test fails and says what to install.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BuildInfo,
  binaryName,
  compile,
  DEFAULT_ENTRY,
  RELEASE_TARGETS,
  ROOT,
  resolveRuntime,
} from "../../scripts/build.ts";
import { type ExporterProcess, type Launcher, runToExit, spawnExporter } from "../support/e2e-process.ts";

// Emulated, the binary takes seconds to start (about 14 s to ready on a 2-core machine): every wait is bounded.
setDefaultTimeout(180_000);

const INFO: BuildInfo = { version: "4.5.6-arm64", commit: "a64c0de", date: "2031-02-03T04:05:06.000Z" };
const ARM64_LIBC = "/usr/lib/aarch64-linux-gnu/libc.so.6";
const TARGET = RELEASE_TARGETS.find((t) => t.os === "linux" && t.arch === "arm64" && !t.musl);

let dir: string;
let arm64: Launcher;

beforeAll(async () => {
  if (TARGET === undefined) throw new Error("no linux arm64 glibc release target in scripts/build.ts");
  dir = mkdtempSync(join(tmpdir(), "arm64-binary-"));
  const outfile = await compile({
    entry: DEFAULT_ENTRY,
    outfile: join(dir, binaryName(TARGET)),
    info: INFO,
    target: TARGET.bun,
    executablePath: resolveRuntime(TARGET, {
      cacheDir: join(ROOT, "node_modules", ".cache", "bun-runtimes"),
    }),
  });
  const qemu = Bun.which("qemu-aarch64");
  if (qemu === null || !existsSync(ARM64_LIBC)) {
    throw new Error(
      "qemu-aarch64 or the arm64 C library is missing: run scripts/install-test-deps.sh as root " +
        "(dpkg --add-architecture arm64; apt-get install qemu-user libc6:arm64)",
    );
  }
  arm64 = { name: "linux arm64 binary under qemu", command: [qemu, "-L", "/", outfile], ...versionOf(INFO) };
}, 120_000);

function versionOf(info: BuildInfo): { version: string; revision: string } {
  return { version: info.version, revision: info.commit };
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let child: ExporterProcess | undefined;
afterEach(async () => {
  await child?.stop();
  child = undefined;
});

describe("linux arm64 release binary under qemu-aarch64", () => {
  test("--version prints what the build embedded", async () => {
    const { code, stdout, stderr } = await runToExit(arm64, ["--version"], {}, 60_000);
    expect({ code, stdout, stderr }).toEqual({
      code: 0,
      stdout: "pulumi-exporter 4.5.6-arm64 (commit a64c0de, built 2031-02-03T04:05:06.000Z)\n",
      stderr: "",
    });
  });

  test("demo serves /metrics with the simulator's organizations", async () => {
    // The demo's 10 s interval is also its cycle's deadline, which an emulated first cycle can overrun.
    child = spawnExporter(arm64, [
      "demo",
      "--web.listen-address=127.0.0.1:0",
      "--pulumi.collect-interval=5m",
    ]);
    const url = await child.url(90_000);
    const [finished] = await child.waitForOutput(/msg="collection cycle finished".*$/m, 120_000);
    expect(finished).toMatch(/ stacks=60 stacks_read=60 .*errors=0 timed_out=false /);
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    const lines = (await response.text()).split("\n");
    expect(lines.filter((line) => /^pulumi_exporter_(up|org_up)\b/.test(line))).toEqual([
      "pulumi_exporter_up 1",
      'pulumi_exporter_org_up{org="org-1"} 1',
      'pulumi_exporter_org_up{org="org-2"} 1',
      'pulumi_exporter_org_up{org="org-3"} 1',
    ]);
    expect(lines).toContain('pulumi_exporter_build_info{version="4.5.6-arm64",revision="a64c0de"} 1');
    expect(lines.filter((line) => line.startsWith("pulumi_stack_resource_count{")).length).toBe(60);
  });
});
