/** Command-line parsing: `[run|demo|check] [--flag value | --flag=value | --bool | --no-bool]...`, `-h/--help`, `--version`. */
import { OPTIONS, type OptionName, optionByName } from "./options.ts";
import { COMMANDS, type Command } from "./types.ts";

export interface ParsedArgv {
  command: Command | undefined;
  help: boolean;
  version: boolean;
  /** Raw values per option, in the order given (booleans as "true"/"false"). */
  flags: Map<OptionName, string[]>;
  problems: string[];
  /** True when a positional argument was not a command: the other problems would then be beside the point. */
  badPositional: boolean;
}

function isCommand(arg: string): arg is Command {
  return (COMMANDS as readonly string[]).includes(arg);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The closest known name within a few edits, for "did you mean" hints. `maxDistance` defaults to a quarter of the
 * name's length (at least 3).
 */
export function closest(
  name: string,
  candidates: readonly string[],
  maxDistance = Math.max(3, Math.floor(name.length / 4)),
): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Options set only through the environment have no flag. */
const FLAG_NAMES = OPTIONS.flatMap((o): string[] => ("envOnly" in o && o.envOnly ? [] : [o.name]));

/**
 * Only a word that reads like a mistyped command is echoed: a stray argument is often a misplaced secret
 * (`pul-` tokens, long random strings), which must not reach a terminal or a log.
 */
function echoable(arg: string): boolean {
  return /^[a-z][a-z0-9-]{0,19}$/i.test(arg) && !arg.toLowerCase().startsWith("pul-");
}

function unexpectedPositional(arg: string, position: number, first: boolean): string {
  const commands = COMMANDS.join(", ");
  if (!echoable(arg)) return `unexpected argument at position ${position}; commands: ${commands}`;
  if (!first) return `unexpected argument "${arg}" after the command; commands: ${commands}`;
  const suggestion = closest(arg, COMMANDS);
  const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
  return `unknown command "${arg}"; commands: ${commands}${hint}`;
}

function unknownFlag(flag: string): string {
  const bare = flag.replace(/^-+/, "").replace(/^no-/, "");
  const suggestion = closest(bare, FLAG_NAMES);
  return `unknown flag ${flag}${suggestion === undefined ? "" : ` (did you mean --${suggestion}?)`}`;
}

/**
 * Parses arguments after the program name. Positional arguments other than the command are rejected, echoed only
 * when they read like a mistyped command.
 */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  const result: ParsedArgv = {
    command: undefined,
    help: false,
    version: false,
    flags: new Map(),
    problems: [],
    badPositional: false,
  };
  const add = (name: OptionName, value: string) => {
    const values = result.flags.get(name) ?? [];
    values.push(value);
    result.flags.set(name, values);
  };
  let onlyPositionals = false;
  let sawPositional = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!onlyPositionals && arg === "--") {
      onlyPositionals = true;
      continue;
    }
    if (!onlyPositionals && (arg === "-h" || arg === "--help")) {
      result.help = true;
      continue;
    }
    if (!onlyPositionals && arg === "--version") {
      result.version = true;
      continue;
    }
    if (onlyPositionals || !arg.startsWith("-") || arg === "-") {
      if (!sawPositional && result.command === undefined && isCommand(arg)) result.command = arg;
      else {
        result.problems.push(unexpectedPositional(arg, i + 1, !sawPositional));
        result.badPositional = true;
      }
      sawPositional = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      result.problems.push(unknownFlag(arg.split("=")[0] ?? arg));
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const name = flag.slice(2);
    const spec = optionByName(name);
    if (spec === undefined) {
      const negated = name.startsWith("no-") ? optionByName(name.slice(3)) : undefined;
      if (negated === undefined) result.problems.push(unknownFlag(flag));
      else if (negated.kind !== "bool")
        result.problems.push(`${flag}: --${negated.name} is not a boolean flag`);
      else if (inline !== undefined)
        result.problems.push(`${flag}: takes no value (use --${negated.name}=true|false)`);
      else add(negated.name, "false");
      continue;
    }
    if ("envOnly" in spec && spec.envOnly) {
      // Its value is a secret: never parsed, never echoed (not even as a stray positional argument).
      result.problems.push(`${flag}: not a flag; set ${spec.env.join(" or ")} in the environment`);
      if (inline === undefined && argv[i + 1] !== undefined && !(argv[i + 1] ?? "").startsWith("--")) i++;
      continue;
    }
    const option = spec.name;
    if (spec.kind === "bool") {
      add(option, inline ?? "true");
      continue;
    }
    if (inline !== undefined) {
      add(option, inline);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) {
      result.problems.push(`${flag}: missing value`);
      continue;
    }
    add(option, next);
    i++;
  }
  return result;
}
