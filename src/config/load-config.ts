/**
 * Loads the configuration from flags, environment and the YAML file, in that order of precedence for every
 * option, then validates the result. Nothing throws: bad input comes back as a list of problems.
 *
 * The steps, each in its own module: layer resolution (layers.ts: one value per option and its source), the
 * derivation rules (derive.ts: values that follow from several options), validation (validate.ts) and the naming
 * of each problem's source (describe-problems.ts).
 */
import { scrub } from "../log/logger.ts";
import { parseArgv } from "./argv.ts";
import { type ConfigFs, nodeConfigFs } from "./config-fs.ts";
import { buildCandidate, derive } from "./derive.ts";
import { describeValidation } from "./describe-problems.ts";
import { envHints } from "./env-hints.ts";
import { renderHelp, renderVersion } from "./help.ts";
import { type Findings, resolveLayers } from "./layers.ts";
import type { Command, Config } from "./types.ts";
import { validateConfig } from "./validate.ts";

export { type ConfigFs, nodeConfigFs } from "./config-fs.ts";
export { DEMO_LISTEN_ADDRESS } from "./derive.ts";

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

/** Only secrets this long are scrubbed from messages; shorter ones would mangle ordinary words. */
const MIN_SCRUB_LENGTH = 6;

export function loadConfig(input: LoadConfigInput): ConfigResult {
  const args = parseArgv(input.argv);
  if (args.help) return { kind: "help", text: renderHelp() };
  if (args.version) return { kind: "version", text: renderVersion() };
  // A mistyped command makes every other problem ("required", …) beside the point.
  if (args.badPositional) return { kind: "error", problems: args.problems, warnings: [] };

  const command: Command = args.command ?? input.mode ?? "run";
  const out: Findings = {
    problems: [...args.problems],
    warnings: envHints(input.env),
    secrets: [],
    failed: new Set(),
    origins: new Map(),
  };
  const resolution = resolveLayers(
    { command, flags: args.flags, env: input.env, fs: input.fs ?? nodeConfigFs },
    out,
  );
  const candidate = buildCandidate(resolution, derive(resolution, out));
  const validation = validateConfig(candidate, command);
  if (!validation.ok)
    out.problems.push(...describeValidation(validation.problems, out, resolution.fileUnusable));

  const secrets = out.secrets.filter((s) => s.length >= MIN_SCRUB_LENGTH);
  const clean = (messages: string[]) => messages.map((m) => scrub(m, secrets));
  if (out.problems.length > 0 || !validation.ok) {
    return { kind: "error", problems: clean(out.problems), warnings: clean(out.warnings) };
  }
  const config: Config = validation.config;
  dropDuplicateOrganizations(config, out);
  return { kind: "config", command, config, warnings: clean(out.warnings) };
}

/** An organization listed twice is collected once, with a warning. */
function dropDuplicateOrganizations(config: Config, out: Findings): void {
  const unique = [...new Set(config.pulumi.organizations)];
  if (unique.length === config.pulumi.organizations.length) return;
  const label = out.origins.get("pulumi.organizations")?.label ?? "--pulumi.organizations";
  out.warnings.push(`${label}: duplicate organizations ignored`);
  config.pulumi.organizations = unique;
}
