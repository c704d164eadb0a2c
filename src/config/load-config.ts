/**
 * Loads the configuration from flags, environment and the YAML file, in that order of precedence for every
 * option, then validates the result. Nothing throws: bad input comes back as a list of problems.
 */
import { readFileSync, statSync } from "node:fs";
import { scrub } from "../log/logger.ts";
import { parseArgv } from "./argv.ts";
import { envHints } from "./env-hints.ts";
import { renderHelp, renderVersion } from "./help.ts";
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
import type { Command, Config } from "./types.ts";
import { type ConfigCandidate, validateConfig } from "./validate.ts";
import { parseConfigYaml } from "./yaml-file.ts";

/** File access, injectable for tests. */
export interface ConfigFs {
  /** The file's text; throws a Node.js system error (with `code`) when it cannot be read. */
  readFile(path: string): string;
  /** Permission bits (`stat().mode`), or undefined when unknown. */
  mode(path: string): number | undefined;
}

export const nodeConfigFs: ConfigFs = {
  readFile: (path) => readFileSync(path, "utf8"),
  mode: (path) => {
    try {
      return statSync(path).mode;
    } catch {
      return undefined;
    }
  },
};

export interface LoadConfigInput {
  /** Arguments after the program name, e.g. `process.argv.slice(2)`. */
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** The command when argv names none (argv's `run`/`demo` wins). Defaults to `run`. */
  mode?: Command;
  fs?: ConfigFs;
}

export type ConfigResult =
  | { kind: "config"; command: Command; config: Config; warnings: string[] }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string }
  /** `warnings` too: a near-miss variable may be why a value is missing. */
  | { kind: "error"; problems: string[]; warnings: string[] };

type Layer = "flag" | "env" | "file" | "default";
const RANK: Record<Layer, number> = { flag: 3, env: 2, file: 1, default: 0 };

interface Resolved {
  value: OptionValue;
  layer: Layer;
  /** Names the source in messages: `--pulumi.api-url`, `PULUMI_API_URL`, `config.yaml:3: pulumi.api-url`. */
  label: string;
}

const DEFAULTS: ReadonlyMap<OptionName, OptionValue> = new Map(
  OPTIONS.flatMap((spec): [OptionName, OptionValue][] => {
    if (spec.default === undefined) return [];
    const parsed = parseText(spec, spec.default);
    if (!parsed.ok) throw new Error(`default of --${spec.name} does not parse: ${parsed.problem}`);
    return [[spec.name, parsed.value]];
  }),
);

/** Only secrets this long are scrubbed from messages; shorter ones would mangle ordinary words. */
const MIN_SCRUB_LENGTH = 6;

function describeFsError(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return error instanceof Error ? (error.message.split("\n")[0] ?? code) : String(error);
  }
}

function tryRead(fs: ConfigFs, path: string): { ok: true; text: string } | { ok: false; reason: string } {
  try {
    return { ok: true, text: fs.readFile(path) };
  } catch (error) {
    return { ok: false, reason: describeFsError(error) };
  }
}

function combine(spec: Option, values: OptionValue[]): OptionValue | undefined {
  // Repeated list and map flags accumulate; any other repeated flag: the last one wins.
  if (spec.kind === "list") return values.flatMap((v) => (Array.isArray(v) ? v : []));
  if (spec.kind === "map") {
    return Object.assign({}, ...values.filter((v) => typeof v === "object" && !Array.isArray(v)));
  }
  return values.at(-1);
}

export function loadConfig(input: LoadConfigInput): ConfigResult {
  const args = parseArgv(input.argv);
  if (args.help) return { kind: "help", text: renderHelp() };
  if (args.version) return { kind: "version", text: renderVersion() };

  // A mistyped command makes every other problem ("required", …) beside the point.
  if (args.badPositional) return { kind: "error", problems: args.problems, warnings: [] };
  const command: Command = args.command ?? input.mode ?? "run";
  const fs = input.fs ?? nodeConfigFs;
  const problems: string[] = [...args.problems];
  const warnings: string[] = [];
  const failed = new Set<OptionName>();
  const secrets: string[] = [];
  const layers = new Map<OptionName, Resolved[]>();
  const offer = (name: OptionName, resolved: Resolved) => {
    const list = layers.get(name) ?? [];
    list.push(resolved);
    layers.set(name, list);
  };

  // Flags.
  for (const [name, raws] of args.flags) {
    const spec = option(name);
    if (isSecret(spec)) secrets.push(...raws);
    const values: OptionValue[] = [];
    for (const raw of raws) {
      const parsed = parseText(spec, raw);
      if (parsed.ok) values.push(parsed.value);
      else {
        failed.add(name);
        problems.push(`--${name}: ${parsed.problem}`);
      }
    }
    const value = combine(spec, values);
    if (value !== undefined && !failed.has(name)) offer(name, { value, layer: "flag", label: `--${name}` });
  }

  // Environment: the first non-empty variable of each option (the signal-specific one comes first).
  for (const spec of OPTIONS) {
    for (const variable of spec.env) {
      const raw = input.env[variable];
      if (raw === undefined || raw === "") continue;
      if (isSecret(spec)) secrets.push(raw);
      const parsed = parseEnvText(spec, variable, raw);
      if (parsed.ok) offer(spec.name, { value: parsed.value, layer: "env", label: variable });
      else {
        failed.add(spec.name);
        problems.push(`${variable}: ${parsed.problem}`);
      }
      break;
    }
  }

  warnings.push(...envHints(input.env));

  // The config file, located by flag or environment.
  const configFile = optional(pick(layers.get("config.file"))?.value);
  const configFileLabel = pick(layers.get("config.file"))?.label ?? "--config.file";
  let fileUnusable = false;
  if (configFile !== undefined) {
    const read = tryRead(fs, configFile);
    if (!read.ok) {
      fileUnusable = true;
      problems.push(`${configFileLabel}: cannot read ${configFile}: ${read.reason}`);
    } else {
      const file = parseConfigYaml(read.text, configFile);
      fileUnusable = !file.parsed;
      problems.push(...file.problems);
      for (const name of file.failed) failed.add(name);
      for (const [name, { value, label }] of file.values) offer(name, { value, layer: "file", label });
      const token = file.values.get("pulumi.access-token")?.value;
      if (typeof token === "string" && token !== "") {
        secrets.push(token);
        const mode = fs.mode(configFile);
        if (mode !== undefined && (mode & 0o044) !== 0) {
          const octal = (mode & 0o777).toString(8).padStart(4, "0");
          warnings.push(
            `${configFile} contains pulumi.access-token and is readable by group or others (mode ${octal}); run: chmod 600 ${configFile}`,
          );
        }
      }
    }
  }

  const winner = (name: OptionName): Resolved | undefined => {
    const found = pick(layers.get(name));
    if (found !== undefined) return found;
    const value = DEFAULTS.get(name);
    return value === undefined ? undefined : { value, layer: "default", label: `--${name}` };
  };
  // A failed option falls back to its default so the rest can still be validated; its own problem is reported.
  const get = <N extends OptionName>(name: N): ValueOf<N> | undefined => {
    const value = failed.has(name) ? DEFAULTS.get(name) : winner(name)?.value;
    return value as ValueOf<N> | undefined;
  };
  /** Where each field's value came from, to name it in validation problems. */
  const origins = new Map<string, Resolved | undefined>();
  for (const spec of OPTIONS) if (!origins.has(spec.field)) origins.set(spec.field, winner(spec.name));

  // The access token: inline or from a file, whichever is set at the higher level.
  let accessToken = "";
  let accessTokenSource: string | undefined;
  let accessTokenFile: string | undefined;
  const inline = winner("pulumi.access-token");
  const tokenFile = winner("pulumi.access-token-file");
  const tokenFilePath = optional(tokenFile?.value);
  if (
    inline !== undefined &&
    optional(inline.value) !== undefined &&
    tokenFile !== undefined &&
    tokenFilePath !== undefined &&
    inline.layer === tokenFile.layer
  ) {
    failed.add("pulumi.access-token");
    problems.push(`${inline.label} and ${tokenFile.label} are both set; use one`);
  } else if (
    tokenFile !== undefined &&
    tokenFilePath !== undefined &&
    RANK[tokenFile.layer] > RANK[inline?.layer ?? "default"]
  ) {
    origins.set("pulumi.accessToken", tokenFile);
    const read = tryRead(fs, tokenFilePath);
    if (!read.ok) {
      failed.add("pulumi.access-token-file");
      problems.push(`${tokenFile.label}: cannot read ${tokenFilePath}: ${read.reason}`);
    } else {
      accessToken = read.text.replace(/[\r\n]+$/, "");
      accessTokenSource = `file ${tokenFilePath} (${tokenFile.label})`;
      accessTokenFile = tokenFilePath;
      secrets.push(accessToken);
      if (accessToken === "") {
        failed.add("pulumi.access-token-file");
        problems.push(`${tokenFile.label}: ${tokenFilePath} is empty`);
      }
    }
  } else if (!failed.has("pulumi.access-token")) {
    accessToken = get("pulumi.access-token") ?? "";
    if (inline !== undefined && inline.layer !== "default") accessTokenSource = describeSource(inline);
  }
  if (failed.has("pulumi.access-token-file")) failed.add("pulumi.access-token");

  // OTLP endpoints: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT beats the generic endpoint at the same level, per the
  // OTel spec, but not an endpoint set at a higher level (a flag beats any variable).
  const endpoint = winner("otlp.endpoint");
  let metricsEndpoint = optional(get("otlp.metrics-endpoint"));
  const metricsOrigin = winner("otlp.metrics-endpoint");
  if (metricsEndpoint !== undefined && endpoint !== undefined && metricsOrigin !== undefined) {
    if (RANK[endpoint.layer] > RANK[metricsOrigin.layer]) {
      warnings.push(`${metricsOrigin.label} is ignored: ${endpoint.label} is set and takes precedence`);
      metricsEndpoint = undefined;
    }
  }
  const endpointGiven =
    (endpoint !== undefined && endpoint.layer !== "default") || metricsEndpoint !== undefined;
  const enabledOrigin = winner("otlp.enabled");
  const enabled =
    enabledOrigin !== undefined && enabledOrigin.layer !== "default" && !failed.has("otlp.enabled")
      ? enabledOrigin.value === true
      : command !== "demo" || endpointGiven;

  // service.name: the explicit option, else service.name in the resource attributes, else the default.
  const attributes = { ...(get("resource.attributes") ?? {}) };
  const attributeServiceName = attributes["service.name"];
  delete attributes["service.name"];
  const serviceNameOrigin = winner("resource.service-name");
  const serviceName =
    serviceNameOrigin?.layer !== "default" || attributeServiceName === undefined
      ? (get("resource.service-name") ?? "")
      : attributeServiceName;

  // The organization interval: an explicit value is validated against the collect interval; the default is only a
  // default, so it follows a longer collect interval rather than failing.
  const collectIntervalMs = get("pulumi.collect-interval") ?? 0;
  const orgIntervalExplicit = isSet(winner("pulumi.org-interval")) && !failed.has("pulumi.org-interval");
  const orgIntervalMs = orgIntervalExplicit
    ? (get("pulumi.org-interval") ?? 0)
    : Math.max(get("pulumi.org-interval") ?? 0, collectIntervalMs);

  const candidate: ConfigCandidate = {
    pulumi: {
      accessToken,
      ...(accessTokenSource === undefined ? {} : { accessTokenSource }),
      ...(accessTokenFile === undefined ? {} : { accessTokenFile }),
      apiUrl: get("pulumi.api-url") ?? "",
      organizations: get("pulumi.organizations") ?? [],
      collectIntervalMs,
      orgIntervalMs,
      maxConcurrency: get("pulumi.max-concurrency") ?? 0,
      requestTimeoutMs: get("pulumi.request-timeout") ?? 0,
      maxResponseBytes: get("pulumi.max-response-bytes") ?? 0,
      caFile: optional(get("pulumi.ca-file")),
    },
    otlp: {
      enabled,
      endpoint: get("otlp.endpoint") ?? "",
      metricsEndpoint,
      protocol: get("otlp.protocol") ?? "",
      insecure: get("otlp.insecure") ?? false,
      headers: get("otlp.headers") ?? {},
      urlPath: optional(get("otlp.url-path")),
      timeoutMs: get("otlp.timeout") ?? 0,
      compression: get("otlp.compression") ?? "",
      certificateFile: optional(get("otlp.certificate")),
      temporality: get("otlp.temporality") ?? "",
    },
    web: {
      listenAddress: listenAddress(command, winner("web.listen-address"), get("web.listen-address")),
      preview: !(get("web.disable-preview") ?? false),
    },
    log: { level: get("log.level") ?? "", format: get("log.format") ?? "" },
    state: { file: optional(get("state.file")) },
    resource: { serviceName, attributes },
    metrics: { disable: get("metrics.disable") ?? [] },
    configFile,
  };

  // Certificates must be readable now rather than at the first request.
  for (const name of ["pulumi.ca-file", "otlp.certificate"] as const) {
    const path = optional(get(name));
    const origin = winner(name);
    if (path === undefined || origin === undefined) continue;
    const read = tryRead(fs, path);
    if (!read.ok) problems.push(`${origin.label}: cannot read ${path}: ${read.reason}`);
  }

  const failedFields = new Set<string>([...failed].map((name) => option(name).field));
  const validation = validateConfig(candidate, command);
  if (!validation.ok) {
    const found = validation.problems
      .map(({ field, problem }) => ({ field: longestField(field, origins), problem }))
      .filter(({ field }) => field === undefined || !failedFields.has(field))
      // "Required" would mislead while the file that may set the value cannot be read.
      .filter(({ field }) => !fileUnusable || isSet(origins.get(field ?? "")))
      .sort((a, b) => fieldRank(a.field) - fieldRank(b.field));
    for (const { field, problem } of found) {
      problems.push(describeProblem(field, origins.get(field ?? ""), problem));
    }
  }

  const clean = (messages: string[]) =>
    messages.map((m) =>
      scrub(
        m,
        secrets.filter((s) => s.length >= MIN_SCRUB_LENGTH),
      ),
    );
  if (problems.length > 0 || !validation.ok) {
    return { kind: "error", problems: clean(problems), warnings: clean(warnings) };
  }

  const config: Config = validation.config;
  const unique = [...new Set(config.pulumi.organizations)];
  if (unique.length !== config.pulumi.organizations.length) {
    const label = origins.get("pulumi.organizations")?.label ?? "--pulumi.organizations";
    warnings.push(`${label}: duplicate organizations ignored`);
    config.pulumi.organizations = unique;
  }
  return { kind: "config", command, config, warnings: clean(warnings) };
}

/** The demo needs no one else to reach it, so unless told otherwise it listens on loopback only. */
export const DEMO_LISTEN_ADDRESS = "127.0.0.1:8080";

function listenAddress(command: Command, origin: Resolved | undefined, value: string | undefined): string {
  if (command === "demo" && (origin === undefined || origin.layer === "default")) return DEMO_LISTEN_ADDRESS;
  return value ?? "";
}

/** `flag --pulumi.access-token`, `env PULUMI_ACCESS_TOKEN`, `config file config.yaml:3: pulumi.access-token`. */
function describeSource(origin: Resolved): string {
  const kind = origin.layer === "flag" ? "flag" : origin.layer === "env" ? "env" : "config file";
  return `${kind} ${origin.label}`;
}

function isSet(origin: Resolved | undefined): boolean {
  return origin !== undefined && origin.layer !== "default";
}

function isSecret(spec: OptionSpec): boolean {
  return spec.secret === true;
}

function pick(candidates: Resolved[] | undefined): Resolved | undefined {
  let best: Resolved | undefined;
  for (const c of candidates ?? []) if (best === undefined || RANK[c.layer] > RANK[best.layer]) best = c;
  return best;
}

/** An empty string unsets an optional option, so a flag can clear what the environment or file set. */
function optional(value: OptionValue | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function longestField(field: string, origins: ReadonlyMap<string, unknown>): string | undefined {
  const parts = field.split(".");
  for (let n = parts.length; n > 0; n--) {
    const prefix = parts.slice(0, n).join(".");
    if (origins.has(prefix)) return prefix;
  }
  return undefined;
}

function fieldOptions(field: string | undefined): Option[] {
  return OPTIONS.filter((spec) => spec.field === field);
}

function describeProblem(field: string | undefined, origin: Resolved | undefined, problem: string): string {
  const specs = fieldOptions(field);
  const first = specs[0];
  if (origin === undefined || origin.layer === "default") {
    // Nothing was set: say where it can be.
    const flag = first === undefined ? (field ?? "configuration") : `--${first.name}`;
    const flags = specs.map((spec) => `--${spec.name}`);
    const env = specs.flatMap((spec) => spec.env);
    const yaml = specs.flatMap((spec) => (spec.yaml === undefined ? [] : [spec.yaml]));
    const places = [...flags, ...env];
    if (yaml.length > 0) places.push(`${yaml.join(" or ")} in the config file`);
    const hint = places.length > 0 ? `; set ${places.slice(0, -1).join(", ")} or ${places.at(-1)}` : "";
    return `${flag}: ${problem}${hint}`;
  }
  return `${origin.label}: ${problem}`;
}

/** Table order, so problems read in the same order as `--help`. */
function fieldRank(field: string | undefined): number {
  const index = OPTIONS.findIndex((spec) => spec.field === field);
  return index < 0 ? OPTIONS.length : index;
}
