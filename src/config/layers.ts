/**
 * Layer resolution: flags, environment, the YAML file and the defaults, each parsed into typed values, then one
 * winning value per option with the source that set it. Bad input is collected in `Findings`, never thrown.
 */
import type { ParsedArgv } from "./argv.ts";
import { type ConfigFs, tryRead } from "./config-fs.ts";
import {
  OPTIONS,
  type Option,
  type OptionName,
  type OptionSpec,
  type OptionValue,
  option,
  type ValueOf,
} from "./options.ts";
import { parseEnvText, parseText } from "./parse-value.ts";
import type { Command } from "./types.ts";
import { parseConfigYaml } from "./yaml-file.ts";

export type Layer = "flag" | "env" | "file" | "default";
export const RANK: Record<Layer, number> = { flag: 3, env: 2, file: 1, default: 0 };

export interface Resolved {
  value: OptionValue;
  layer: Layer;
  /** Names the source in messages: `--pulumi.api-url`, `PULUMI_API_URL`, `config.yaml:3: pulumi.api-url`. */
  label: string;
}

/** What loading found along the way; every step appends, nothing throws. */
export interface Findings {
  problems: string[];
  warnings: string[];
  /** Secret values seen in any input, scrubbed from every message. */
  secrets: string[];
  /** Options whose input was invalid (their own problem is reported; validation skips them). */
  failed: Set<OptionName>;
  /** Where each `Config` field's value came from, to name it in validation problems. */
  origins: Map<string, Resolved | undefined>;
}

/** One value per option, and its source. */
export interface Resolution {
  readonly command: Command;
  readonly fs: ConfigFs;
  readonly configFile: string | undefined;
  /** True when the config file could not be read or parsed: "required" problems would then mislead. */
  readonly fileUnusable: boolean;
  /** The highest layer that set the option, or its default. */
  winner(name: OptionName): Resolved | undefined;
  /** The winning value; a failed option falls back to its default so the rest can still be validated. */
  get<N extends OptionName>(name: N): ValueOf<N> | undefined;
}

const DEFAULTS: ReadonlyMap<OptionName, OptionValue> = new Map(
  OPTIONS.flatMap((spec): [OptionName, OptionValue][] => {
    if (spec.default === undefined) return [];
    const parsed = parseText(spec, spec.default);
    if (!parsed.ok) throw new Error(`default of --${spec.name} does not parse: ${parsed.problem}`);
    return [[spec.name, parsed.value]];
  }),
);

type Offer = (name: OptionName, resolved: Resolved) => void;

/** An empty string unsets an optional option, so a flag can clear what the environment or file set. */
export function optional(value: OptionValue | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function isSet(origin: Resolved | undefined): boolean {
  return origin !== undefined && origin.layer !== "default";
}

function isSecret(spec: OptionSpec): boolean {
  return spec.secret === true;
}

function pick(candidates: readonly Resolved[] | undefined): Resolved | undefined {
  let best: Resolved | undefined;
  for (const c of candidates ?? []) if (best === undefined || RANK[c.layer] > RANK[best.layer]) best = c;
  return best;
}

function combine(spec: Option, values: OptionValue[]): OptionValue | undefined {
  // Repeated list and map flags accumulate; any other repeated flag: the last one wins.
  if (spec.kind === "list") return values.flatMap((v) => (Array.isArray(v) ? v : []));
  if (spec.kind === "map") {
    return Object.assign({}, ...values.filter((v) => typeof v === "object" && !Array.isArray(v)));
  }
  return values.at(-1);
}

function flagLayer(flags: ParsedArgv["flags"], offer: Offer, out: Findings): void {
  for (const [name, raws] of flags) {
    const spec = option(name);
    if (isSecret(spec)) out.secrets.push(...raws);
    const values: OptionValue[] = [];
    for (const raw of raws) {
      const parsed = parseText(spec, raw);
      if (parsed.ok) values.push(parsed.value);
      else {
        out.failed.add(name);
        out.problems.push(`--${name}: ${parsed.problem}`);
      }
    }
    const value = combine(spec, values);
    if (value !== undefined && !out.failed.has(name))
      offer(name, { value, layer: "flag", label: `--${name}` });
  }
}

/** The first non-empty variable of each option (the signal-specific one comes first). */
function envLayer(env: Readonly<Record<string, string | undefined>>, offer: Offer, out: Findings): void {
  for (const spec of OPTIONS) {
    for (const variable of spec.env) {
      const raw = env[variable];
      if (raw === undefined || raw === "") continue;
      if (isSecret(spec)) out.secrets.push(raw);
      const parsed = parseEnvText(spec, variable, raw);
      if (parsed.ok) offer(spec.name, { value: parsed.value, layer: "env", label: variable });
      else {
        out.failed.add(spec.name);
        out.problems.push(`${variable}: ${parsed.problem}`);
      }
      break;
    }
  }
}

/** A file holding the token must be private; says how to make it so. */
function tokenFileModeWarning(fs: ConfigFs, path: string): string | undefined {
  const mode = fs.mode(path);
  if (mode === undefined || (mode & 0o044) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return `${path} contains pulumi.access-token and is readable by group or others (mode ${octal}); run: chmod 600 ${path}`;
}

/** Reads and parses the config file; returns whether it was usable. */
function fileLayer(fs: ConfigFs, path: string, label: string, offer: Offer, out: Findings): boolean {
  const read = tryRead(fs, path);
  if (!read.ok) {
    out.problems.push(`${label}: cannot read ${path}: ${read.reason}`);
    return false;
  }
  const file = parseConfigYaml(read.text, path);
  out.problems.push(...file.problems);
  for (const name of file.failed) out.failed.add(name);
  for (const [name, { value, label: at }] of file.values) offer(name, { value, layer: "file", label: at });
  const token = file.values.get("pulumi.access-token")?.value;
  if (typeof token === "string" && token !== "") {
    out.secrets.push(token);
    const warning = tokenFileModeWarning(fs, path);
    if (warning !== undefined) out.warnings.push(warning);
  }
  return file.parsed;
}

export interface LayerInput {
  command: Command;
  flags: ParsedArgv["flags"];
  env: Readonly<Record<string, string | undefined>>;
  fs: ConfigFs;
}

/** Resolves every layer into one value per option. `out.origins` is filled with each field's source. */
export function resolveLayers(input: LayerInput, out: Findings): Resolution {
  const layers = new Map<OptionName, Resolved[]>();
  const offer: Offer = (name, resolved) => {
    const list = layers.get(name) ?? [];
    list.push(resolved);
    layers.set(name, list);
  };
  flagLayer(input.flags, offer, out);
  envLayer(input.env, offer, out);

  // The config file, located by flag or environment.
  const located = pick(layers.get("config.file"));
  const configFile = optional(located?.value);
  const fileUnusable =
    configFile !== undefined &&
    !fileLayer(input.fs, configFile, located?.label ?? "--config.file", offer, out);

  const winner = (name: OptionName): Resolved | undefined => {
    const found = pick(layers.get(name));
    if (found !== undefined) return found;
    const value = DEFAULTS.get(name);
    return value === undefined ? undefined : { value, layer: "default", label: `--${name}` };
  };
  const get = <N extends OptionName>(name: N): ValueOf<N> | undefined => {
    const value = out.failed.has(name) ? DEFAULTS.get(name) : winner(name)?.value;
    return value as ValueOf<N> | undefined;
  };
  for (const spec of OPTIONS)
    if (!out.origins.has(spec.field)) out.origins.set(spec.field, winner(spec.name));
  return { command: input.command, fs: input.fs, configFile, fileUnusable, winner, get };
}
