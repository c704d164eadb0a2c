/**
 * The compiled exporter as a child process: its JSON log lines as they arrive (stamped with the bench's clock),
 * its CPU time and memory from /proc, and a clean stop.
 */
import type { Subprocess } from "bun";
import { type MemoryReading, readCpuSeconds, readMemory } from "./proc.ts";

export interface LogLine {
  /** performance.now() when the bench read the line. */
  readonly at: number;
  readonly msg: string;
  readonly level: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface MemorySample extends MemoryReading {
  readonly at: number;
}

export interface ExporterProcess {
  readonly pid: number;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  readonly lines: readonly LogLine[];
  /** Lines that were not JSON (a crash, a runtime warning), kept for error messages. */
  readonly rawLines: readonly string[];
  /** RSS sampled every `sampleEveryMs` while the process runs. */
  readonly memorySamples: readonly MemorySample[];
  /** Resolves with the `nth` line (1-based) whose message is `msg`; rejects on timeout or exit. */
  waitForLine(msg: string, nth: number, timeoutMs: number): Promise<LogLine>;
  count(msg: string): number;
  cpuSeconds(): number;
  memory(): MemoryReading;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Executable and arguments. */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly sampleEveryMs?: number;
}

function parseLine(text: string, at: number): LogLine | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { msg, level, ...fields } = parsed as Record<string, unknown>;
    if (typeof msg !== "string") return undefined;
    return { at, msg, level: typeof level === "string" ? level : "", fields };
  } catch {
    return undefined;
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (text: string) => void): Promise<void> {
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") onLine(buffered);
}

export function spawnExporter(options: SpawnOptions): ExporterProcess {
  const lines: LogLine[] = [];
  const byMsg = new Map<string, LogLine[]>();
  const rawLines: string[] = [];
  const memorySamples: MemorySample[] = [];
  const wakers = new Set<() => void>();
  const wake = () => {
    for (const w of wakers) w();
  };

  const spawnedAt = performance.now();
  const child: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn([...options.command], {
    env: options.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let exited = false;
  void child.exited.then(() => {
    exited = true;
    wake();
  });
  const onText = (text: string) => {
    const line = parseLine(text, performance.now());
    if (line) {
      lines.push(line);
      const same = byMsg.get(line.msg);
      if (same) same.push(line);
      else byMsg.set(line.msg, [line]);
    } else if (text.trim() !== "") rawLines.push(text);
    wake();
  };
  const reading = Promise.all([readLines(child.stderr, onText), readLines(child.stdout, onText)]);

  const sample = () => {
    try {
      memorySamples.push({ at: performance.now(), ...readMemory(child.pid) });
    } catch {
      // The process is gone; the last sample stands.
    }
  };
  sample();
  const sampler = setInterval(sample, options.sampleEveryMs ?? 200);

  const describeRecent = () => {
    const recent = [
      ...lines.slice(-5).map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.fields)}`),
      ...rawLines.slice(-5),
    ];
    return recent.join("\n  ");
  };

  return {
    pid: child.pid,
    spawnedAt,
    lines,
    rawLines,
    memorySamples,
    count: (msg) => byMsg.get(msg)?.length ?? 0,
    waitForLine(msg, nth, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = byMsg.get(msg)?.[nth - 1];
          if (line) {
            finish();
            resolve(line);
            return;
          }
          if (exited) {
            finish();
            reject(
              new Error(
                `the exporter exited (code ${child.exitCode}) before "${msg}" #${nth}:\n  ${describeRecent()}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for "${msg}" #${nth}:\n  ${describeRecent()}`),
          );
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        wakers.add(check);
        check();
      });
    },
    cpuSeconds: () => readCpuSeconds(child.pid),
    memory: () => readMemory(child.pid),
    async stop(graceMs = 15_000) {
      clearInterval(sampler);
      if (!exited) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await child.exited;
        clearTimeout(killer);
      }
      await reading;
      return child.exitCode;
    },
  };
}
