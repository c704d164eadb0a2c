/**
 * RSS when the HTTP server is up, for one or more compiled binaries and configurations, next to a compiled
 * hello-world Bun server (the runtime's floor) measured in the same run. Runs are interleaved (binary × mode × run)
 * so the machine's noise falls on every figure alike; each figure is the median of `--runs`.
 *
 *   bun bench/start-rss.ts [--runs 7] [--modes run-proto,run-grpc,run-json,run-nopush,demo] [label=binary ...]
 *
 * Default binary: dist/pulumi-exporter. `run` modes point at an API that does not answer (port 9 on loopback):
 * the server comes up before the start-up check ends, so nothing of the fleet is in memory yet.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./binary.ts";
import { median } from "./figures.ts";
import { readMemory } from "./proc.ts";

const RUN = [
  "run",
  "--pulumi.api-url=http://127.0.0.1:9",
  "--pulumi.organizations=org-1",
  "--web.listen-address=127.0.0.1:0",
];
const OTLP = ["--otlp.endpoint=127.0.0.1:4318", "--otlp.insecure"];

export const MODES: Record<string, readonly string[]> = {
  "run-proto": [...RUN, ...OTLP, "--otlp.protocol=http/protobuf"],
  "run-grpc": [...RUN, ...OTLP, "--otlp.protocol=grpc"],
  "run-json": [...RUN, ...OTLP, "--otlp.protocol=http/json"],
  "run-nopush": [...RUN, "--otlp.enabled=false"],
  demo: ["demo", "--web.listen-address=127.0.0.1:0"],
};

const HELLO = `Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
console.error("serving HTTP");
`;

/** Compiles the hello-world server the way scripts/build.ts compiles the exporter (minified, bytecode). */
async function helloWorld(dir: string): Promise<string> {
  const entry = join(dir, "hello.ts");
  await Bun.write(entry, HELLO);
  const outfile = join(dir, "hello");
  const result = await Bun.build({
    entrypoints: [entry],
    minify: true,
    bytecode: true,
    format: "esm",
    compile: { outfile },
  });
  if (!result.success) throw new Error(result.logs.map(String).join("\n"));
  return outfile;
}

/** Spawns `command`, waits for the line saying the HTTP server is up, reads VmRSS, kills it. */
async function rssAtServing(command: readonly string[]): Promise<number> {
  const child = Bun.spawn([...command], {
    env: { PULUMI_ACCESS_TOKEN: "pul-start-rss-0000", PATH: process.env.PATH ?? "" },
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes("serving HTTP")) return readMemory(child.pid).rssBytes;
    }
    throw new Error(`${command.join(" ")} exited before serving: ${text.slice(-500)}`);
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  let runs = 7;
  let modes = Object.keys(MODES);
  const binaries: [string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--runs") runs = Number(argv[++i]);
    else if (arg === "--modes") modes = (argv[++i] ?? "").split(",");
    else {
      const eq = arg.indexOf("=");
      binaries.push(eq === -1 ? [arg, arg] : [arg.slice(0, eq), arg.slice(eq + 1)]);
    }
  }
  if (binaries.length === 0) binaries.push(["dist", BINARY]);
  const dir = mkdtempSync(join(tmpdir(), "start-rss-"));
  try {
    const hello = await helloWorld(dir);
    const cases: { label: string; command: string[] }[] = [
      { label: "hello-world (Bun floor)", command: [hello] },
    ];
    for (const [label, binary] of binaries) {
      for (const mode of modes) {
        const args = MODES[mode];
        if (!args) throw new Error(`unknown mode ${mode} (expected ${Object.keys(MODES).join(", ")})`);
        cases.push({ label: `${label} ${mode}`, command: [binary, ...args] });
      }
    }
    const samples = new Map<string, number[]>(cases.map((c) => [c.label, []]));
    for (let run = 0; run < runs; run++) {
      for (const c of cases) samples.get(c.label)?.push(await rssAtServing(c.command));
    }
    console.log(`| Binary and mode | RSS at serving, median of ${runs} | min–max |`);
    console.log("| --- | ---: | ---: |");
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    for (const [label, values] of samples) {
      console.log(
        `| ${label} | ${mib(median(values))} | ${mib(Math.min(...values))}–${mib(Math.max(...values))} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main(process.argv.slice(2));
