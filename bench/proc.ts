/** CPU time and memory of a running process, read from Linux's /proc (the machine the benchmarks run on). */
import { readFileSync } from "node:fs";

/** Clock ticks per second of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture Bun supports. */
export const CLOCK_TICKS = 100;

/** User + system CPU seconds from the text of /proc/<pid>/stat. */
export function parseCpuSeconds(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last one.
  const close = stat.lastIndexOf(")");
  if (close === -1) throw new Error("unreadable /proc stat: no ')' after the command name");
  const fields = stat.slice(close + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`unreadable /proc stat: utime "${fields[11]}", stime "${fields[12]}"`);
  }
  return (utime + stime) / CLOCK_TICKS;
}

export interface MemoryReading {
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  peakRssBytes: number;
}

/** VmRSS and VmHWM from the text of /proc/<pid>/status. */
export function parseMemory(status: string): MemoryReading {
  const kib = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    if (!match?.[1]) throw new Error(`unreadable /proc status: no ${name} line`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

export function readCpuSeconds(pid: number): number {
  return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

export function readMemory(pid: number): MemoryReading {
  return parseMemory(readFileSync(`/proc/${pid}/status`, "utf8"));
}
