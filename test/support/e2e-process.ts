/**
 * The real program as a child process: started from source (`bun src/cli/main.ts`) or as the compiled binary,
 * with a clean environment, its output captured, and every wait bounded. Processes a test leaves running are
 * killed when the test process exits.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/build.ts";
import { COMMIT, VERSION } from "../../src/version.ts";
import { type CompiledBinary, e2eBinary } from "./e2e-binary.ts";
import { createWaiter } from "./otlp-wait.ts";

/** How the program is started, and the version and revision it reports. */
export interface Launcher {
  readonly name: string;
  readonly command: readonly string[];
  readonly version: string;
  readonly revision: string;
}

export const SOURCE_ENTRY = join(ROOT, "src", "cli", "main.ts");

/** `bun src/cli/main.ts`: unbuilt, so it reports the fallback version and revision of src/version.ts. */
export function sourceLauncher(): Launcher {
  return {
    name: "bun src/cli/main.ts",
    command: [process.execPath, SOURCE_ENTRY],
    version: VERSION,
    revision: COMMIT,
  };
}

export function binaryLauncher(binary: CompiledBinary): Launcher {
  return {
    name: "compiled binary",
    command: [binary.path],
    version: binary.info.version,
    revision: binary.info.commit,
  };
}

/** The two ways every end-to-end test starts the program. */
export const LAUNCHERS = ["source", "binary"] as const;
export type LauncherName = (typeof LAUNCHERS)[number];

/** The launcher called `name`; the binary is compiled on first use (call it in `beforeAll` to build there). */
export async function launcher(name: LauncherName): Promise<Launcher> {
  return name === "source" ? sourceLauncher() : binaryLauncher(await e2eBinary());
}

export interface SpawnOptions {
  /** Added to a minimal environment (PATH, HOME): nothing else leaks in from the test's environment. */
  env?: Record<string, string>;
  /** Default: an empty directory, so no `.env` or `bunfig.toml` is picked up by `bun`. */
  cwd?: string;
}

export interface ExporterProcess {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match in stdout or stderr; rejects after `timeoutMs` with the output so far. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Base URL of the HTTP server, from the "serving HTTP" log line (so `--web.listen-address=127.0.0.1:0` works). */
  url(timeoutMs?: number): Promise<string>;
  kill(signal: NodeJS.Signals): void;
  /** Exit code once the process has exited and its output is read; rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number>;
  /** Kills the process if it still runs and waits for it. */
  stop(): Promise<void>;
}

const live = new Set<Bun.Subprocess>();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

let empty: string | undefined;
function emptyDir(): string {
  empty ??= mkdtempSync(join(tmpdir(), "e2e-cwd-"));
  return empty;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

async function pump(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  append(decoder.decode());
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

const SERVING = /serving HTTP.*?address"?[=:]"?(\d+\.\d+\.\d+\.\d+:\d+)/;

export function spawnExporter(
  launcher: Launcher,
  args: readonly string[],
  options: SpawnOptions = {},
): ExporterProcess {
  const proc = Bun.spawn([...launcher.command, ...args], {
    cwd: options.cwd ?? emptyDir(),
    env: { ...baseEnv(), ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  let out = "";
  let err = "";
  const describe = () =>
    `exit code ${proc.exitCode ?? "none yet"}; stdout:\n${tail(out)}\nstderr:\n${tail(err)}`;
  const waiter = createWaiter(`${launcher.name} ${args.join(" ")}`, describe);
  const reading = Promise.all([
    pump(proc.stdout, (text) => {
      out += text;
      waiter.notify();
    }),
    pump(proc.stderr, (text) => {
      err += text;
      waiter.notify();
    }),
  ]);
  let done = false;
  const finished = Promise.all([proc.exited, reading]).then(([code]) => {
    done = true;
    live.delete(proc);
    waiter.notify();
    return code;
  });

  const waitForOutput = async (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> => {
    const find = () => pattern.exec(out) ?? pattern.exec(err);
    await waiter.until(
      () => find() !== null || done,
      () => undefined,
      `output matching ${pattern}`,
      timeoutMs,
    );
    const match = find();
    if (match === null) throw new Error(`${launcher.name} exited without printing ${pattern}: ${describe()}`);
    return match;
  };

  return {
    pid: proc.pid,
    stdout: () => out,
    stderr: () => err,
    waitForOutput,
    async url(timeoutMs) {
      const [, address] = await waitForOutput(SERVING, timeoutMs);
      return `http://${address}`;
    },
    kill: (signal) => proc.kill(signal),
    async exited(timeoutMs = 10_000) {
      await waiter.until(
        () => done,
        () => undefined,
        "the process to exit",
        timeoutMs,
      );
      return finished;
    },
    async stop() {
      if (!done) proc.kill("SIGKILL");
      await finished;
    },
  };
}

/** Runs the program to completion (bounded) and returns what it printed. */
export async function runToExit(
  launcher: Launcher,
  args: readonly string[],
  options: SpawnOptions = {},
  timeoutMs = 10_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnExporter(launcher, args, options);
  try {
    const code = await child.exited(timeoutMs);
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    await child.stop();
  }
}
