/** Turns one raw input (flag or environment text, or a YAML value) into the typed value of its option's kind. */
import { formatDuration, parseDuration } from "./duration.ts";
import type { EnvFormat, OptionSpec, OptionValue } from "./options.ts";

export type Parsed = { ok: true; value: OptionValue } | { ok: false; problem: string };

const ok = (value: OptionValue): Parsed => ({ ok: true, value });
const fail = (problem: string): Parsed => ({ ok: false, problem });

const DURATION_HINT = "use Go syntax such as 90s, 5m, 1h30m or 500ms";

function quote(spec: OptionSpec, text: string): string {
  return spec.secret === true ? "" : ` (got ${JSON.stringify(text)})`;
}

function parseBool(spec: OptionSpec, text: string): Parsed {
  const lower = text.trim().toLowerCase();
  if (lower === "true" || lower === "1") return ok(true);
  if (lower === "false" || lower === "0") return ok(false);
  return fail(`must be true or false${quote(spec, text)}`);
}

function parseInteger(spec: OptionSpec, text: string): Parsed {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return fail(`must be an integer${quote(spec, text)}`);
  return ok(Number(trimmed));
}

const BYTE_UNITS: Readonly<Record<string, number>> = { "": 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const BYTES = /^([+-]?\d+)(KiB|MiB|GiB)?$/;

/** A byte count: `67108864` or `64MiB` (binary units only, so there is no doubt whether a MB is 10^6). */
function parseBytes(spec: OptionSpec, text: string): Parsed {
  const match = BYTES.exec(text.trim());
  if (match === null) {
    return fail(
      `must be a whole number of bytes, optionally with KiB, MiB or GiB, such as 64MiB${quote(spec, text)}`,
    );
  }
  return ok(Number(match[1]) * (BYTE_UNITS[match[2] ?? ""] ?? Number.NaN));
}

function parseDurationText(spec: OptionSpec, text: string): Parsed {
  const trimmed = text.trim();
  if (spec.bareMillis === true && /^[+-]?\d+$/.test(trimmed)) return ok(Number(trimmed));
  const ms = parseDuration(trimmed);
  if (ms === undefined) {
    const bare = spec.bareMillis === true ? " or a number of milliseconds" : "";
    return fail(`invalid duration${quote(spec, text)}: ${DURATION_HINT}${bare}`);
  }
  return ok(ms);
}

/** Splits a comma-separated list, trimming each entry; empty entries stay so validation can point at them. */
export function splitList(text: string): string[] {
  return text.split(",").map((part) => part.trim());
}

/**
 * Parses `key=value,key2=value2` (the OTel `*_HEADERS` / `OTEL_RESOURCE_ATTRIBUTES` format). Values are
 * percent-decoded when asked. Problems never quote a value: header values are often credentials.
 */
export function parseKeyValues(
  text: string,
  percentDecode: boolean,
): { ok: true; value: Record<string, string> } | { ok: false; problem: string } {
  const out: Record<string, string> = {};
  const entries = text.split(",");
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    if (entry.trim() === "") return; // "a=1," and "a=1,,b=2" carry no pair there
    const position = `entry ${index + 1} of ${entries.length}`;
    const eq = entry.indexOf("=");
    if (eq < 0) {
      problems.push(`${position} is not key=value`);
      return;
    }
    const key = entry.slice(0, eq).trim();
    if (key === "") {
      problems.push(`${position} has an empty key`);
      return;
    }
    let value = entry.slice(eq + 1).trim();
    if (percentDecode) {
      try {
        value = decodeURIComponent(value);
      } catch {
        problems.push(`${position} (${key}) has an invalid percent-encoding`);
        return;
      }
    }
    out[key] = value;
  });
  if (problems.length > 0) return { ok: false, problem: problems.join("; ") };
  return { ok: true, value: out };
}

const METRICS_EXPORTERS = ["otlp", "prometheus", "none"];

/**
 * OTEL_METRICS_EXPORTER as whether to push over OTLP. `prometheus` alone means pull only (always served here);
 * `console` has no equivalent and is refused rather than silently ignored.
 */
export function parseMetricsExporters(text: string): Parsed {
  const names = splitList(text)
    .map((name) => name.toLowerCase())
    .filter((name) => name !== "");
  if (names.length === 0) return fail("lists no exporter (expected otlp, prometheus or none)");
  for (const name of names) {
    if (name === "console") return fail('"console" is not supported (expected otlp, prometheus or none)');
    if (!METRICS_EXPORTERS.includes(name))
      return fail(`unknown exporter ${JSON.stringify(name)} (expected otlp, prometheus or none)`);
  }
  if (names.includes("none") && names.length > 1)
    return fail('"none" cannot be combined with other exporters');
  return ok(names.includes("otlp"));
}

/** Parses the text of an environment variable: in its own format where the option names one, else as a flag. */
export function parseEnvText(spec: OptionSpec, variable: string, text: string): Parsed {
  const format: EnvFormat | undefined = spec.envFormats?.[variable];
  if (format === "otel-metrics-exporters") return parseMetricsExporters(text);
  return parseText(spec, text);
}

/** Parses flag or environment text. */
export function parseText(spec: OptionSpec, text: string): Parsed {
  switch (spec.kind) {
    case "string":
      return ok(text);
    case "enum":
      return ok(text.trim().toLowerCase());
    case "bool":
      return parseBool(spec, text);
    case "int":
      return parseInteger(spec, text);
    case "bytes":
      return parseBytes(spec, text);
    case "duration":
      return parseDurationText(spec, text);
    case "list":
      return ok(splitList(text));
    case "map":
      return parseKeyValues(text, spec.percentDecode === true);
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  if (typeof value === "boolean") return "a boolean";
  return `a ${typeof value}`;
}

function wrongType(expected: string, value: unknown): Parsed {
  return fail(`expected ${expected}, got ${typeName(value)}`);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** Parses a value read from the YAML file. `null` (a key with no value) is handled by the caller as unset. */
export function parseYamlValue(spec: OptionSpec, value: unknown): Parsed {
  switch (spec.kind) {
    case "string":
      // A number where a string is expected (an org called 2024, a port) is what the user meant.
      if (typeof value === "string") return ok(value);
      if (typeof value === "number") return ok(String(value));
      return wrongType("a string", value);
    case "enum":
      return typeof value === "string" ? ok(value.trim().toLowerCase()) : wrongType("a string", value);
    case "bool":
      return typeof value === "boolean" ? ok(value) : wrongType("true or false", value);
    case "int":
      return typeof value === "number" && Number.isInteger(value)
        ? ok(value)
        : wrongType("an integer", value);
    case "bytes":
      if (typeof value === "string") return parseBytes(spec, value);
      if (typeof value === "number" && Number.isInteger(value)) return ok(value);
      return wrongType("a number of bytes such as 67108864 or 64MiB", value);
    case "duration":
      if (typeof value === "string") return parseDurationText(spec, value);
      if (spec.bareMillis === true && typeof value === "number") return ok(value);
      return wrongType(`a duration string such as ${formatDuration(60_000)}`, value);
    case "list": {
      if (!Array.isArray(value)) return wrongType("a list of strings", value);
      const items: string[] = [];
      for (const [index, item] of value.entries()) {
        if (typeof item === "string") items.push(...splitList(item));
        else if (typeof item === "number") items.push(String(item));
        else return fail(`item ${index + 1}: expected a string, got ${typeName(item)}`);
      }
      return ok(items);
    }
    case "map": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return wrongType("a mapping of names to strings", value);
      }
      const out: Record<string, string> = {};
      for (const [key, item] of Object.entries(value)) {
        if (!isScalar(item)) return fail(`${key}: expected a string, got ${typeName(item)}`);
        out[key] = String(item);
      }
      return ok(out);
    }
  }
}
