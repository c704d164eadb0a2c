/**
 * Collecting garbage between API responses. Parsing a response leaves garbage in proportion to its bytes (the
 * items' text, the objects parsed from it, the validators' copies), and JavaScriptCore grows its heap rather than
 * collect that often: at 10,000 stacks the first cycle's ~10,000 history pages took the RSS ~90 MiB above the
 * start, all of it garbage (a full collection after the cycle left 7 MB live). Collecting as the bytes come in
 * keeps the heap near its live size; docs/benchmarks.md (Footprint levers) has the measured effect.
 */
import { edenGC, heapSize } from "bun:jsc";

/**
 * Bytes of response bodies between two collections. An eden collection (recent allocations only) is cheap and
 * frees what one page's parsing left. A full one frees what survived an eden collection while its request was
 * still in flight, and gives memory outside the heap back; it visits every live object, so it waits for at least
 * as many bytes as the live heap holds: its cost per byte read stays bounded, and a big heap (a page of 200,000
 * stacks in flight) is not stalled by it again and again.
 */
export interface GarbagePolicy {
  readonly edenEveryBytes: number;
  /** The least bytes between two full collections; the live heap's size when that is larger. */
  readonly fullEveryBytes: number;
}

export const GARBAGE_POLICY: GarbagePolicy = { edenEveryBytes: 256 * 1024, fullEveryBytes: 2 * 1024 * 1024 };

export interface Collectors {
  eden(): void;
  full(): void;
  /** Bytes the last collection left live. */
  liveBytes(): number;
}

/** The runtime's collectors. */
export const RUNTIME_COLLECTORS: Collectors = {
  eden: () => {
    edenGC();
  },
  full: () => Bun.gc(true),
  liveBytes: heapSize,
};

/** Told each response body's size; collects when the policy says so. */
export function garbagePacer(policy: GarbagePolicy, collectors: Collectors): (bytes: number) => void {
  let sinceEden = 0;
  let sinceFull = 0;
  return (bytes) => {
    sinceEden += bytes;
    sinceFull += bytes;
    if (sinceFull >= Math.max(policy.fullEveryBytes, collectors.liveBytes())) {
      sinceFull = 0;
      sinceEden = 0;
      collectors.full();
    } else if (sinceEden >= policy.edenEveryBytes) {
      sinceEden = 0;
      collectors.eden();
    }
  };
}
