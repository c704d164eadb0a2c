/**
 * Writes the Homebrew formula of a release to stdout:
 *
 *   bun packaging/homebrew/generate.ts --version 1.2.3 --checksums release/checksums.txt --repo owner/pulumi-exporter
 *
 * The formula installs the prebuilt binary for macOS and Linux (glibc) on arm64 and amd64 from the release's
 * archives, each pinned by the SHA-256 in the release's checksums.txt.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseChecksums } from "../release/checksums.ts";
import { archiveFileName, type ReleaseTarget } from "../release/targets.ts";

export class FormulaError extends Error {
  override name = "FormulaError";
}

/** The targets a formula serves, keyed by the template's placeholder prefix. */
export const FORMULA_TARGETS: Readonly<Record<string, ReleaseTarget>> = {
  darwin_arm64: { os: "darwin", arch: "arm64", musl: false },
  darwin_amd64: { os: "darwin", arch: "amd64", musl: false },
  linux_arm64: { os: "linux", arch: "arm64", musl: false },
  linux_amd64: { os: "linux", arch: "amd64", musl: false },
};

export interface FormulaInput {
  /** Release version without the tag's `v`; a leading `v` is dropped. */
  version: string;
  /** GitHub `owner/name` that hosts the release. */
  repo: string;
  /** Archive file name → SHA-256, as in the release's checksums.txt. */
  checksums: ReadonlyMap<string, string>;
  template: string;
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** The download URL of a release archive. */
export function releaseUrl(repo: string, version: string, archive: string): string {
  return `https://github.com/${repo}/releases/download/v${version}/${archive}`;
}

/** Fills the formula template. Pure: every input is an argument. */
export function renderFormula(input: FormulaInput): string {
  const version = input.version.replace(/^v/, "");
  if (!SEMVER.test(version)) throw new FormulaError(`version "${input.version}" is not a semantic version`);
  if (!REPO.test(input.repo)) throw new FormulaError(`repo "${input.repo}" is not "owner/name"`);

  const values = new Map<string, string>([
    ["version", version],
    ["repo", input.repo],
  ]);
  for (const [key, target] of Object.entries(FORMULA_TARGETS)) {
    const archive = archiveFileName(target);
    const sum = input.checksums.get(archive);
    if (sum === undefined) {
      throw new FormulaError(`the checksums have no entry for ${archive} (${target.os} ${target.arch})`);
    }
    values.set(`${key}_url`, releaseUrl(input.repo, version, archive));
    values.set(`${key}_sha256`, sum);
  }

  const unused = new Set(values.keys());
  const formula = input.template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new FormulaError(`the template uses an unknown placeholder {{${name}}}`);
    unused.delete(name);
    return value;
  });
  if (unused.size > 0) {
    throw new FormulaError(`the template lacks ${[...unused].map((name) => `{{${name}}}`).join(", ")}`);
  }
  return formula;
}

export const TEMPLATE_PATH = join(import.meta.dir, "formula.rb.tmpl");

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        version: { type: "string" },
        checksums: { type: "string" },
        repo: { type: "string" },
        template: { type: "string", default: TEMPLATE_PATH },
      },
      strict: true,
    });
    const { version, checksums, repo, template } = values;
    if (version === undefined || checksums === undefined || repo === undefined) {
      throw new FormulaError(
        "usage: generate.ts --version X.Y.Z --checksums FILE --repo OWNER/NAME [--template FILE]",
      );
    }
    const formula = renderFormula({
      version,
      repo,
      checksums: parseChecksums(await readFile(checksums, "utf8"), checksums),
      template: await readFile(template, "utf8"),
    });
    process.stdout.write(formula);
  } catch (error) {
    process.stderr.write(`homebrew: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
