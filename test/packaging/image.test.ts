/**
 * The compiled exporter in the image's root filesystem (assemble.sh, files.txt), run the way Kubernetes runs it:
 * uid 65532, read-only root, a tmpfs on /tmp, no environment. Nothing but what the image holds is there.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BuildInfo, compile } from "../../scripts/build.ts";
import { containerCommand, runAsRoot, stopContainer } from "./as-root.ts";

const ROOT = resolve(import.meta.dir, "../..");
const HOST_ARCH = process.arch === "arm64" ? "arm64" : "amd64";
const INFO: BuildInfo = { version: "9.8.7", commit: "image01", date: "2030-01-02T03:04:05.000Z" };

let work: string;
let root: string;
let running: Bun.Subprocess | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "image-test-"));
  const binary = await compile({
    entry: "src/cli/main.ts",
    outfile: join(work, "pulumi-exporter"),
    info: INFO,
  });
  root = join(work, "rootfs");
  await mkdir(join(root, "proc"), { recursive: true });
  const assembled = runAsRoot([join(ROOT, "packaging/rootfs/assemble.sh"), HOST_ARCH, binary, root]);
  if (assembled.code !== 0) throw new Error(`assemble.sh failed: ${assembled.stderr}`);
}, 60_000);

afterEach(async () => {
  if (running !== undefined) await stopContainer(running);
  running = undefined;
});

afterAll(() => {
  runAsRoot(["rm", "-rf", work]);
});

/** A port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Polls `url` until it answers 200; bounded to about 15 s. */
async function waitFor200(url: string): Promise<Response> {
  let last = "no answer";
  for (let attempt = 0; attempt < 150; attempt++) {
    try {
      const response = await fetch(url);
      if (response.status === 200) return response;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} never answered 200 (last: ${last})`);
}

describe("the exporter in the image's root filesystem", () => {
  test("prints its version", () => {
    const result = Bun.spawnSync(containerCommand(root, ["/pulumi-exporter", "--version"]));
    expect(result.stderr.toString()).toBe("");
    expect(result.stdout.toString()).toStartWith("pulumi-exporter 9.8.7 (commit image01");
    expect(result.exitCode).toBe(0);
  });

  test("runs the demo as 65532 on a read-only root: ready, and serving its metrics", async () => {
    const port = await freePort();
    running = Bun.spawn(
      containerCommand(root, [
        "/pulumi-exporter",
        "demo",
        "--no-otlp.enabled",
        `--web.listen-address=127.0.0.1:${port}`,
      ]),
      { stdout: "pipe", stderr: "pipe" },
    );
    const ready = await waitFor200(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.text()).toBe("ok\n");
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain("\npulumi_exporter_up 1\n");
    expect(metrics).toContain('\npulumi_exporter_build_info{version="9.8.7",revision="image01"} 1\n');
    expect(metrics).toMatch(
      /\npulumi_stack_resource_count\{org="org-1",project="[^"]+",stack="[^"]+"\} \d+\n/,
    );
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
