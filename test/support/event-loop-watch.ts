/**
 * How long the event loop was kept from its next turn, seen from a 1 ms timer chain: the longest gap between two
 * turns, as wall time and as CPU time of the JavaScript thread.
 *
 * The CPU time is what tests assert on: it is the work done without yielding, whatever the machine's load. On a
 * busy shared machine the wall-clock gap also holds the time the process waited for a core (seen: 50 ms of wall
 * time for 30 ms of work), which no code change can remove.
 */

export interface LoopStalls {
  /** Milliseconds of wall-clock time. */
  wallMs: number;
  /** Milliseconds of CPU time of this thread (user and system). */
  cpuMs: number;
}

export interface LoopWatch {
  /** Stops watching; the longest gaps between two turns (or from the last turn to now). */
  stop(): LoopStalls;
}

function threadCpuMs(): number {
  const usage = process.threadCpuUsage();
  return (usage.user + usage.system) / 1000;
}

export function watchEventLoop(): LoopWatch {
  let lastWall = performance.now();
  let lastCpu = threadCpuMs();
  const longest: LoopStalls = { wallMs: 0, cpuMs: 0 };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sample = () => {
    const wall = performance.now();
    const cpu = threadCpuMs();
    longest.wallMs = Math.max(longest.wallMs, wall - lastWall);
    longest.cpuMs = Math.max(longest.cpuMs, cpu - lastCpu);
    lastWall = wall;
    lastCpu = cpu;
  };
  const turn = () => {
    sample();
    timer = setTimeout(turn, 1);
  };
  timer = setTimeout(turn, 1);
  return {
    stop() {
      clearTimeout(timer);
      // A stall that lasts until now has had no turn to be noted in.
      sample();
      return { ...longest };
    },
  };
}
