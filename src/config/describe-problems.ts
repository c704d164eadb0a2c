/** Validation problems named by their source: the flag, variable or file line that set the bad value. */
import { type Findings, isSet, type Resolved } from "./layers.ts";
import { OPTIONS, type Option, option } from "./options.ts";
import type { ValidationProblem } from "./validate.ts";

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

function isEnvOnly(spec: Option): boolean {
  return "envOnly" in spec && spec.envOnly === true;
}

/** How a problem names an option: its flag, or its variable when it has no flag. */
function label(spec: Option): string {
  return isEnvOnly(spec) ? (spec.env[0] ?? spec.name) : `--${spec.name}`;
}

function describeProblem(field: string | undefined, origin: Resolved | undefined, problem: string): string {
  const specs = fieldOptions(field);
  const first = specs[0];
  if (origin === undefined || origin.layer === "default") {
    // Nothing was set: say where it can be.
    const flag = first === undefined ? (field ?? "configuration") : label(first);
    const flags = specs.flatMap((spec) => (isEnvOnly(spec) ? [] : [`--${spec.name}`]));
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

/**
 * One line per validation problem, in table order. A field whose input already failed to parse is skipped (its
 * own problem is reported), and so is "required" while the file that may set the value cannot be read.
 */
export function describeValidation(
  problems: readonly ValidationProblem[],
  out: Findings,
  fileUnusable: boolean,
): string[] {
  const failedFields = new Set<string>([...out.failed].map((name) => option(name).field));
  return problems
    .map(({ field, problem }) => ({ field: longestField(field, out.origins), problem }))
    .filter(({ field }) => field === undefined || !failedFields.has(field))
    .filter(({ field }) => !fileUnusable || isSet(out.origins.get(field ?? "")))
    .sort((a, b) => fieldRank(a.field) - fieldRank(b.field))
    .map(({ field, problem }) => describeProblem(field, out.origins.get(field ?? ""), problem));
}
