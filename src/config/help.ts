/** `--help`, `--version` and the README flag table, all derived from the option table. */
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";

const PLACEHOLDER: Record<OptionSpec["kind"], string> = {
  string: "VALUE",
  bool: "",
  int: "N",
  bytes: "BYTES",
  duration: "DURATION",
  list: "VALUE[,VALUE...]",
  map: "KEY=VALUE[,KEY=VALUE...]",
  enum: "VALUE",
};

function placeholder(spec: OptionSpec): string {
  if (spec.kind === "enum" && spec.values !== undefined) return spec.values.join("|");
  return spec.placeholder ?? PLACEHOLDER[spec.kind];
}

function usage(spec: OptionSpec): string {
  if (spec.envOnly === true) return `env ${spec.env.join(", ")}=${placeholder(spec)}`;
  if (spec.kind === "bool") return `--[no-]${spec.name}`;
  return `--${spec.name}=${placeholder(spec)}`;
}

function describe(spec: OptionSpec): string {
  if (spec.kind === "enum" && spec.values !== undefined) {
    return `${spec.description} One of: ${spec.values.join(", ")}.`;
  }
  return spec.description;
}

const HELP_WIDTH = 100;

/** Word-wraps `text` into lines of at most HELP_WIDTH columns, each starting with `indent`. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

export function renderVersion(): string {
  return `pulumi-exporter ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`;
}

/**
 * The help text. Only the table goes into it, never a current value: `PULUMI_ACCESS_TOKEN` may be set while
 * someone asks for help.
 */
export function renderHelp(): string {
  const lines = [
    "Usage: pulumi-exporter [run|demo|check] [flags]",
    "",
    "Exports Pulumi Cloud metrics (stacks, updates, deployments, organization, policy, ESC, Neo)",
    "over OTLP and serves them for Prometheus at /metrics.",
    "",
    "Commands:",
    "  run     Collect from Pulumi Cloud (the default).",
    "  demo    Collect from the embedded Pulumi Cloud simulator: no token, no network.",
    "  check   Check the token, the organizations, one OTLP export (when push is on) and the listen",
    "          address once, one line each; exit 0 when all pass, 1 otherwise, 2 for bad configuration.",
    "",
    "Flags beat environment variables, which beat the config file (--config.file), which beats the",
    "defaults. Empty environment variables count as unset.",
    "Booleans take --flag, --flag=true|false or --no-flag.",
    "",
    "  -h, --help",
    "      Show this help.",
    "  --version",
    "      Show the version.",
  ];
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    lines.push(`  ${usage(spec)}`);
    lines.push(...wrap(describe(spec), "      "));
    const where = [];
    if (spec.env.length > 0) where.push(`env: ${spec.env.join(", ")}`);
    if (spec.yaml !== undefined) where.push(`yaml: ${spec.yaml}`);
    if (spec.default !== undefined) where.push(`default: ${spec.default}`);
    lines.push(...wrap(where.join("; "), "      "));
  }
  return lines.join("\n");
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function code(text: string): string {
  return `\`${text}\``;
}

/** The Markdown table of every option (flag | env | YAML key | default | description) for the README. */
export function renderFlagTable(): string {
  const rows = [
    "| Flag | Environment variable | YAML key | Default | Description |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    const flag =
      spec.envOnly === true ? "" : code(spec.kind === "bool" ? `--[no-]${spec.name}` : `--${spec.name}`);
    const env = spec.env.length === 0 ? "" : spec.env.map(code).join("<br>");
    const yaml = spec.yaml === undefined ? "" : code(spec.yaml);
    const fallback = spec.default === undefined ? "" : code(spec.default);
    rows.push(`| ${[flag, env, yaml, fallback, describe(spec)].map(cell).join(" | ")} |`);
  }
  return rows.join("\n");
}
