/**
 * The compiled exporter for end-to-end tests, built the way `npm run build` builds it (scripts/build.ts), once per
 * source state: the binary is cached under node_modules/.cache/e2e-binary/<key>/, where the key hashes everything
 * that goes into it (src/, the build script, package.json and the lockfile, the Bun version). Test files of one
 * `bun test` run share the build; a later run with unchanged sources reuses it.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { BINARY, type BuildInfo, compile, DEFAULT_ENTRY, ROOT, readBuildInfo } from "../../scripts/build.ts";

export const E2E_CACHE_DIR = join(ROOT, "node_modules", ".cache", "e2e-binary");

/** Files outside src/ that change what the build produces. */
const STALE_AFTER_MS = 60 * 60 * 1000;

const BUILD_INPUTS = ["scripts/build.ts", "package.json", "package-lock.json", "tsconfig.json"];

export interface CompiledBinary {
  readonly path: string;
  /** What the build embedded: `--version` must print exactly this. */
  readonly info: BuildInfo;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Hash of every build input, by path and content, in a stable order. */
export function sourceKey(root: string = ROOT): string {
  const hash = createHash("sha256");
  hash.update(`bun ${Bun.version}\n`);
  const files = [
    ...filesUnder(join(root, "src")),
    ...BUILD_INPUTS.map((f) => join(root, f)).filter((f) => existsSync(f)),
  ];
  for (const file of files.map((f) => relative(root, f)).sort()) {
    hash.update(`${file}\n`);
    hash.update(readFileSync(join(root, file)));
    hash.update("\n");
  }
  return hash.digest("hex").slice(0, 16);
}

/** Entries of other source states are 100+ MB each; those untouched for an hour are no longer in use. */
function removeStaleEntries(keep: string): void {
  if (!existsSync(E2E_CACHE_DIR)) return;
  const cutoff = Date.now() - STALE_AFTER_MS;
  for (const entry of readdirSync(E2E_CACHE_DIR)) {
    const path = join(E2E_CACHE_DIR, entry);
    if (path !== keep && statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
  }
}

async function buildInto(dir: string): Promise<CompiledBinary> {
  const path = join(dir, BINARY);
  const infoFile = join(dir, "build-info.json");
  // build-info.json is written last: its presence means the binary is complete.
  if (existsSync(infoFile) && existsSync(path)) {
    const now = new Date();
    utimesSync(dir, now, now);
    return { path, info: JSON.parse(readFileSync(infoFile, "utf8")) as BuildInfo };
  }
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const info = readBuildInfo();
  await compile({ entry: DEFAULT_ENTRY, outfile: join(staging, BINARY), info });
  writeFileSync(join(staging, "build-info.json"), `${JSON.stringify(info)}\n`);
  removeStaleEntries(staging);
  try {
    renameSync(staging, dir);
  } catch {
    // Another test process finished the same build first; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
  }
  return { path, info: JSON.parse(readFileSync(infoFile, "utf8")) as BuildInfo };
}

let built: Promise<CompiledBinary> | undefined;

/** The compiled binary for the current sources; the first call of a run may compile (10-30 s). */
export function e2eBinary(): Promise<CompiledBinary> {
  built ??= buildInto(join(E2E_CACHE_DIR, sourceKey()));
  return built;
}
