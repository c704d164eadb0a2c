/**
 * "Did you mean" hints for environment variables: a variable with one of the exporter's prefixes that no option
 * reads, but that is a typo away from one that does, is most likely a setting the operator thinks is applied.
 */
import { closest } from "./argv.ts";
import { OPTIONS } from "./options.ts";

/** `PULUMI_` covers `PULUMI_EXPORTER_` too. */
const PREFIXES = ["PULUMI_", "OTEL_EXPORTER_OTLP_"] as const;

/**
 * Two edits: a letter swapped, doubled, dropped or mistyped. The names share long prefixes, so the looser
 * distance of flag hints would match other tools' variables (OTEL_EXPORTER_OTLP_LOGS_HEADERS, PULUMI_CONFIG).
 */
const MAX_DISTANCE = 2;

/** Every variable an option reads. */
const KNOWN: readonly string[] = [...new Set(OPTIONS.flatMap((spec) => spec.env))];

/** One warning per near-miss variable, in name order. Only names are used: a value is never read or shown. */
export function envHints(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set(KNOWN);
  return Object.keys(env)
    .filter((name) => !known.has(name) && PREFIXES.some((prefix) => name.startsWith(prefix)))
    .sort()
    .flatMap((name) => {
      const suggestion = closest(name, KNOWN, MAX_DISTANCE);
      return suggestion === undefined
        ? []
        : [`environment variable ${name} is not used; did you mean ${suggestion}?`];
    });
}
