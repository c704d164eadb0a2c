/**
 * The metric families: what `--metrics.disable` switches off. Each catalog entry belongs to one (or to the exporter's
 * own self-metrics, which cannot be switched off), and each source feeds one. A disabled family makes no API calls
 * and exports no series. The families are the catalog's: a new family is its entries' `family`, nothing more.
 */
import { CATALOG } from "./metrics/catalog.ts";

type Entry = (typeof CATALOG)[keyof typeof CATALOG];

export type Family = Exclude<Entry["family"], "exporter">;

/** In the catalog's order of first appearance. */
export const FAMILIES: readonly Family[] = [
  ...new Set(
    Object.values(CATALOG).flatMap((entry: Entry) => (entry.family === "exporter" ? [] : [entry.family])),
  ),
];

export function isFamily(value: string): value is Family {
  return (FAMILIES as readonly string[]).includes(value);
}
