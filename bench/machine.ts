/** The machine a benchmark ran on, as the report states it. */
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface Machine {
  /** `model name` from /proc/cpuinfo. */
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  bunVersion: string;
}

/** The first `model name` line of /proc/cpuinfo. */
export function parseCpuModel(cpuinfo: string): string | undefined {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
}

export function describeMachine(): Machine {
  let cpuModel: string | undefined;
  try {
    cpuModel = parseCpuModel(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    cpuModel = undefined;
  }
  return {
    cpuModel: cpuModel ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryBytes: totalmem(),
    kernel: `${process.platform} ${release()}`,
    bunVersion: Bun.version,
  };
}

/** The 1-minute load average: how busy the shared machine was. */
export function loadAverage(): number {
  return loadavg()[0] ?? 0;
}
