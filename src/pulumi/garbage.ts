/**
 * Collecting garbage between API responses. Parsing a response leaves garbage in proportion to its bytes (the
 * items' text, the objects parsed from it, the validators' copies), and JavaScriptCore grows its heap rather than
 * collect that often: at 10,000 stacks the first cycle's ~10,000 history pages took the RSS ~90 MiB above the
 * start, nearly all of it garbage (a full collection after the cycle left 7 MB live). An eden collection (recent
 * allocations only) after every few pages frees what their parsing left at a cost that does not grow with the
 * live heap, so it neither stalls a big heap nor adds CPU that shows in a cycle; a full collection as often
 * lowered the peak little more for a third more CPU. docs/benchmarks.md (Footprint levers) has the figures.
 */
import { edenGC } from "bun:jsc";

/** Bytes of response bodies between two eden collections. */
export interface GarbagePolicy {
  readonly edenEveryBytes: number;
}

export const GARBAGE_POLICY: GarbagePolicy = { edenEveryBytes: 256 * 1024 };

export interface Collectors {
  eden(): void;
}

/** The runtime's collector. */
export const RUNTIME_COLLECTORS: Collectors = {
  eden: () => {
    edenGC();
  },
};

/** Told each response body's size; collects when the policy says so. */
export function garbagePacer(policy: GarbagePolicy, collectors: Collectors): (bytes: number) => void {
  let sinceEden = 0;
  return (bytes) => {
    sinceEden += bytes;
    if (sinceEden < policy.edenEveryBytes) return;
    sinceEden = 0;
    collectors.eden();
  };
}
