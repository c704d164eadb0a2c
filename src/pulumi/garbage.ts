/**
 * Collecting garbage between API responses. Parsing a response leaves garbage in proportion to its bytes (the
 * items' text, the objects parsed from it, the validators' copies), and JavaScriptCore grows its heap rather than
 * collect that often: at 10,000 stacks the first cycle's ~10,000 history pages took the RSS ~90 MiB above the
 * start, all of it garbage (a full collection after the cycle left 7 MB live). Collecting as the bytes come in
 * keeps the heap near its live size; docs/benchmarks.md (Footprint levers) has the measured effect.
 */
import { edenGC } from "bun:jsc";

/**
 * Bytes of response bodies between two collections. An eden collection (recent allocations only) is cheap and
 * frees what one page's parsing left; the full one now and then frees what survived an eden collection while
 * its request was still in flight, and gives memory outside the heap back.
 */
export interface GarbagePolicy {
  readonly edenEveryBytes: number;
  readonly fullEveryBytes: number;
}

export const GARBAGE_POLICY: GarbagePolicy = { edenEveryBytes: 256 * 1024, fullEveryBytes: 2 * 1024 * 1024 };

export interface Collectors {
  eden(): void;
  full(): void;
}

/** The runtime's collectors. */
export const RUNTIME_COLLECTORS: Collectors = {
  eden: () => {
    edenGC();
  },
  full: () => Bun.gc(true),
};

/** Told each response body's size; collects when the policy says so. */
export function garbagePacer(policy: GarbagePolicy, collectors: Collectors): (bytes: number) => void {
  let sinceEden = 0;
  let sinceFull = 0;
  return (bytes) => {
    sinceEden += bytes;
    sinceFull += bytes;
    if (sinceFull >= policy.fullEveryBytes) {
      sinceFull = 0;
      sinceEden = 0;
      collectors.full();
    } else if (sinceEden >= policy.edenEveryBytes) {
      sinceEden = 0;
      collectors.eden();
    }
  };
}
