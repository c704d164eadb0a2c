/**
 * The modules loaded on demand, in the compiled binary (where a dynamic import that the bundler did not follow
 * fails only at run time, and the OTLP/gRPC exporter once exported nothing without a word). Each on-demand module
 * records itself when it is evaluated (src/loaded-modules.ts) and `--log.level=debug` logs that list once the
 * exporter runs and again at shutdown: a configuration without push never loads an OTLP exporter, each protocol
 * loads its own exporter only and exports over it, and only `demo` loads the simulator.
 *
 * The list says what ran only if nothing else imports those packages: the source test at the end holds every
 * import of the OTLP exporters, grpc-js and the simulator to the on-demand modules, and those to `import()`.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "../../scripts/build.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type ExporterProcess, type Launcher, launcher, spawnExporter } from "../support/e2e-process.ts";
import { type E2eReceiver, PROTOCOLS, type Protocol, startReceiver } from "../support/e2e-receivers.ts";
import { points } from "../support/otlp-points.ts";
import type { ExportRequest } from "../support/otlp-proto.ts";

setDefaultTimeout(60_000);

const TOKEN = "pul-lazy-binary-token-7d1e02";
const LOADED = /msg="modules loaded on demand" modules=(\S+)/g;

let binary: Launcher;
beforeAll(async () => {
  binary = await launcher("binary");
}, 120_000);

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
});

/** Every "modules loaded on demand" line of the process, in order: at start, then at shutdown. */
function loadedLists(process: ExporterProcess): string[] {
  return [...process.stderr().matchAll(LOADED)].map((match) => match[1] ?? "");
}

function runArgs(extra: readonly string[]): string[] {
  if (!sim) throw new Error("no simulator");
  return [
    "run",
    `--pulumi.api-url=${sim.url}`,
    "--pulumi.organizations=org-1",
    "--pulumi.collect-interval=1h",
    "--web.listen-address=127.0.0.1:0",
    "--log.level=debug",
    ...extra,
  ];
}

function metricLines(text: string, pattern: RegExp): string[] {
  return text.split("\n").filter((line) => pattern.test(line));
}

/** SIGTERM, exit 0, and the two lists of on-demand modules (start, shutdown). */
async function stopAndList(process: ExporterProcess): Promise<string[]> {
  process.kill("SIGTERM");
  expect(await process.exited(10_000)).toBe(0);
  return loadedLists(process);
}

const EXPORTER_MODULE: Record<Protocol, string> = {
  grpc: "otlp-grpc",
  "http/json": "otlp-json",
  "http/protobuf": "otlp-proto",
};

describe("compiled binary: what each configuration loads", () => {
  test("run with --otlp.enabled=false serves /metrics and never loads an OTLP exporter", async () => {
    sim = await startSimulator({ token: TOKEN, seed: 3, orgs: 1, stacks: 5 });
    exporter = spawnExporter(binary, runArgs(["--otlp.enabled=false"]), {
      env: { PULUMI_ACCESS_TOKEN: TOKEN },
    });
    const url = await exporter.url(20_000);
    await exporter.waitForOutput(/msg="collection cycle finished"/, 20_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricLines(metrics, /^pulumi_exporter_(up|org_up)\b/)).toEqual([
      "pulumi_exporter_up 1",
      'pulumi_exporter_org_up{org="org-1"} 1',
    ]);
    expect(metricLines(metrics, /^pulumi_stack_resource_count\{/)).toHaveLength(5);
    expect(await stopAndList(exporter)).toEqual(["none", "none"]);
  });

  test.each(PROTOCOLS)(
    "run over %s loads that protocol's exporter only and exports over it",
    async (protocol) => {
      sim = await startSimulator({ token: TOKEN, seed: 3, orgs: 1, stacks: 5 });
      receiver = await startReceiver(protocol);
      exporter = spawnExporter(
        binary,
        runArgs([`--otlp.endpoint=${receiver.endpoint}`, `--otlp.protocol=${protocol}`, "--otlp.insecure"]),
        { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
      );
      // The first cycle exports early (stack lists and organization sources in), then after the cycle.
      await receiver.waitForExports(2, 20_000);
      const first = receiver.received[1]?.body as ExportRequest;
      expect(points(first, "pulumi_stack_resource_count")).toHaveLength(5);
      expect(points(first, "pulumi_exporter_up")).toMatchObject([{ kind: "int", value: 1 }]);
      const module = EXPORTER_MODULE[protocol];
      expect(await stopAndList(exporter)).toEqual([module, module]);
    },
  );

  test("demo loads the simulator and no OTLP exporter, and serves its metrics", async () => {
    exporter = spawnExporter(binary, ["demo", "--web.listen-address=127.0.0.1:0", "--log.level=debug"]);
    const url = await exporter.url(20_000);
    await exporter.waitForOutput(/msg="collection cycle finished"/, 20_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricLines(metrics, /^pulumi_exporter_(up|org_up)\b/)).toEqual([
      "pulumi_exporter_up 1",
      'pulumi_exporter_org_up{org="org-1"} 1',
      'pulumi_exporter_org_up{org="org-2"} 1',
      'pulumi_exporter_org_up{org="org-3"} 1',
    ]);
    expect(await stopAndList(exporter)).toEqual(["simulator", "simulator"]);
  });
});

/** Files under src/, relative to the repository. */
function sourceFiles(dir = join(ROOT, "src")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [relative(ROOT, join(dir, entry.name))]
        : [],
  );
}

/** The specifiers a file imports statically (`import ... from "x"`, `import "x"`, `export ... from "x"`). */
function staticImports(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)";|^import\s+"([^"]+)";/gms)].map(
    (match) => match[1] ?? match[2] ?? "",
  );
}

describe("source: what only the on-demand modules import", () => {
  const files = sourceFiles();

  function importersOf(matches: (specifier: string, file: string) => boolean): string[] {
    return files
      .filter((file) =>
        staticImports(readFileSync(join(ROOT, file), "utf8")).some((specifier) => matches(specifier, file)),
      )
      .sort();
  }

  test("the OTLP exporter packages are imported by the per-protocol modules only", () => {
    expect(importersOf((s) => s.startsWith("@opentelemetry/exporter-"))).toEqual([
      "src/metrics/otlp-grpc.ts",
      "src/metrics/otlp-json.ts",
      "src/metrics/otlp-proto.ts",
    ]);
  });

  test("grpc-js is imported by the gRPC exporter's modules only", () => {
    expect(importersOf((s) => s.startsWith("@grpc/"))).toEqual([
      "src/metrics/grpc-credentials.ts",
      "src/metrics/otlp-grpc.ts",
    ]);
    expect(importersOf((s) => s.endsWith("/grpc-credentials.ts"))).toEqual(["src/metrics/otlp-grpc.ts"]);
  });

  test("the per-protocol modules and the demo are loaded with import() only", () => {
    expect(importersOf((s) => /\/otlp-(grpc|json|proto)\.ts$/.test(s))).toEqual([]);
    expect(importersOf((s) => s.endsWith("/demo.ts"))).toEqual([]);
  });

  test("the simulator is imported by the demo and by the simulator itself only", () => {
    expect(importersOf((s, file) => s.includes("/sim/") && !file.startsWith("src/sim/"))).toEqual([
      "src/cli/demo.ts",
    ]);
  });
});
