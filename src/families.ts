/**
 * The metric families: what `--metrics.disable` switches off. Each catalog entry belongs to one (or to the exporter's
 * own self-metrics, which cannot be switched off), and each source feeds one. A disabled family makes no API calls
 * and exports no series.
 */
export const FAMILIES = [
  "stacks",
  "updates",
  "deployments",
  "org",
  "policy",
  "esc",
  "neo",
  "agent-pools",
  "plan",
  "tokens",
  "drift",
] as const;

export type Family = (typeof FAMILIES)[number];

export function isFamily(value: string): value is Family {
  return (FAMILIES as readonly string[]).includes(value);
}
