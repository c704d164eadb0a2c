/**
 * The compiled binary ignores `.env` and `bunfig.toml` in its working directory (built with
 * --no-compile-autoload-dotenv --no-compile-autoload-bunfig): a stray file next to it must not change its
 * configuration or run code. The same directory run with `bun` shows both files do take effect there.
 */
import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ExporterProcess,
  type Launcher,
  launcher,
  runToExit,
  spawnExporter,
} from "../support/e2e-process.ts";
import { type E2eReceiver, startReceiver } from "../support/e2e-receivers.ts";
import { resourceAttributes } from "../support/otlp-points.ts";
import type { ExportRequest } from "../support/otlp-proto.ts";

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(30_000);

let dir: string;
let marker: string;

beforeAll(async () => {
  await launcher("binary");
  dir = mkdtempSync(join(tmpdir(), "e2e-workdir-"));
  marker = join(dir, "preloaded");
  writeFileSync(
    join(dir, ".env"),
    "PULUMI_EXPORTER_LOG_FORMAT=json\nOTEL_SERVICE_NAME=from-dotenv\nOTEL_RESOURCE_ATTRIBUTES=source=dotenv\n",
  );
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
  writeFileSync(
    join(dir, "preload.ts"),
    `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(marker)}, "ran\\n");\n`,
  );
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let receiver: E2eReceiver | undefined;
let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await exporter?.stop();
  await receiver?.stop();
  exporter = undefined;
  receiver = undefined;
  rmSync(marker, { force: true });
});

/** A short demo in `dir`: what its log lines look like and the service name it pushes. */
async function shortDemo(program: Launcher): Promise<{ stderr: string; resource: Record<string, string> }> {
  receiver = await startReceiver("http/protobuf");
  exporter = spawnExporter(
    program,
    ["demo", `--otlp.endpoint=${receiver.endpoint}`, "--otlp.insecure", "--web.listen-address=127.0.0.1:0"],
    { cwd: dir },
  );
  await receiver.waitForExports(1, 20_000);
  exporter.kill("SIGTERM");
  expect(await exporter.exited(10_000)).toBe(0);
  return {
    stderr: exporter.stderr(),
    resource: resourceAttributes(receiver.received[0]?.body as ExportRequest),
  };
}

test("binary: --version runs no preload from bunfig.toml", async () => {
  const { code, stdout } = await runToExit(await launcher("binary"), ["--version"], { cwd: dir });
  expect(code).toBe(0);
  expect(stdout).toStartWith("pulumi-exporter ");
  expect(existsSync(marker)).toBe(false);
});

test("binary: a demo takes nothing from .env and runs no preload", async () => {
  const { stderr, resource } = await shortDemo(await launcher("binary"));
  expect(existsSync(marker)).toBe(false);
  expect(resource["service.name"]).toBe("pulumi-exporter");
  expect(resource.source).toBeUndefined();
  const lines = stderr.trimEnd().split("\n");
  expect(lines.length).toBeGreaterThan(2);
  for (const line of lines) expect(line).toMatch(/^time=\S+ level=\w+ msg=/);
});

test("source (control): bun loads the same .env and runs the preload", async () => {
  const { stderr, resource } = await shortDemo(await launcher("source"));
  expect(existsSync(marker)).toBe(true);
  expect(resource["service.name"]).toBe("from-dotenv");
  expect(resource.source).toBe("dotenv");
  const first = stderr.trimEnd().split("\n")[0] ?? "";
  expect(JSON.parse(first)).toMatchObject({ level: "info" });
});
