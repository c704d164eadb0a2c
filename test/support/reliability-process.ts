/**
 * The exporter as a real process (`bun src/cli/main.ts`), for what only a process can show: `kill -9`, restarts,
 * crash output. Its output is read line by line as it arrives; waits are bounded and event-driven.
 */
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { logfmtFields } from "./reliability-rig.ts";

const ROOT = resolve(import.meta.dir, "../..");
export const ENTRY = resolve(ROOT, "src/cli/main.ts");

export interface ExporterProcess {
  readonly pid: number;
  /** Every line printed so far, stdout and stderr interleaved as they arrived. */
  readonly lines: readonly string[];
  /** Resolves with the fields (logfmt or JSON) of the first line from line `from` matching `predicate`. */
  waitForLine(
    predicate: (fields: Record<string, string>) => boolean,
    options?: { from?: number; timeoutMs?: number },
  ): Promise<Record<string, string>>;
  /** Resolves with the base URL once the HTTP server listens. */
  url(): Promise<string>;
  /** `kill -9`. */
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number>;
  readonly exited: Promise<number>;
}

/** The fields of a log line, logfmt or JSON. */
export function lineFields(line: string): Record<string, string> {
  if (!line.startsWith("{")) return logfmtFields(line);
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
  } catch {
    return {};
  }
}

/** Reads a stream line by line into `lines`, calling `notify` after each line. */
async function pump(stream: ReadableStream<Uint8Array>, lines: string[], notify: () => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      lines.push(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
    notify();
  }
  if (pending !== "") lines.push(pending);
  notify();
}

export function spawnExporter(args: readonly string[], env: Record<string, string> = {}): ExporterProcess {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn([process.execPath, ENTRY, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  const pumped = Promise.all([pump(proc.stdout, lines, notify), pump(proc.stderr, lines, notify)]);
  const exited = proc.exited.then(async (code) => {
    await pumped;
    notify();
    return code;
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    notify();
  });

  const waitForLine: ExporterProcess["waitForLine"] = (predicate, options = {}) =>
    new Promise((resolveLine, reject) => {
      let checked = options.from ?? 0;
      const timeoutMs = options.timeoutMs ?? 10_000;
      const check = () => {
        for (; checked < lines.length; checked++) {
          const fields = lineFields(lines[checked] ?? "");
          if (predicate(fields)) {
            finish();
            resolveLine(fields);
            return;
          }
        }
        if (gone) {
          finish();
          reject(new Error(`the exporter exited; its output:\n${lines.join("\n")}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching line within ${timeoutMs} ms; output:\n${lines.join("\n")}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  let address: Promise<string> | undefined;
  return {
    pid: proc.pid,
    lines,
    waitForLine,
    url() {
      address ??= waitForLine((f) => f.msg === "serving HTTP").then((f) => `http://${f.address}`);
      return address;
    },
    async kill9() {
      proc.kill(9);
      await exited;
    },
    async stop() {
      if (!gone) proc.kill("SIGTERM");
      return exited;
    },
    exited,
  };
}

/** Runs the CLI to completion (help, version, config errors): its exit code and everything it printed. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const run = spawnExporter(args, env);
  const timer = setTimeout(() => void run.kill9(), 15_000);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.lines.join("\n") };
}
