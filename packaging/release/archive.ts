/**
 * Packs the compiled binaries of `npm run build:all` into the release archives and writes their checksums:
 *
 *   bun packaging/release/archive.ts --dist dist --out release
 *
 * Each archive holds the binary (named `pulumi-exporter`, `.exe` on Windows), LICENSE and README.md at its root.
 * Timestamps come from SOURCE_DATE_EPOCH when set, so the same inputs give byte-identical archives.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatChecksums } from "./checksums.ts";
import {
  archiveBaseName,
  archiveFileName,
  binaryFileName,
  parseBinaryName,
  RELEASE_TARGETS,
  type ReleaseTarget,
} from "./targets.ts";

export class ArchiveError extends Error {
  override name = "ArchiveError";
}

export interface ArchivePlan {
  readonly target: ReleaseTarget;
  /** The binary's file name in dist/. */
  readonly source: string;
  readonly archive: string;
}

/** Which dist/ file goes into which archive; every release target must be there exactly once. */
export function planArchives(distFiles: readonly string[]): ArchivePlan[] {
  const found = new Map<string, string>();
  for (const file of distFiles) {
    if (!file.startsWith("pulumi-exporter_")) continue;
    const target = parseBinaryName(file);
    if (target === undefined) throw new ArchiveError(`${file} is not a known release target`);
    const archive = archiveFileName(target);
    const other = found.get(archive);
    if (other !== undefined) throw new ArchiveError(`${other} and ${file} both build ${archive}`);
    found.set(archive, file);
  }
  const missing = RELEASE_TARGETS.filter((t) => !found.has(archiveFileName(t))).map(archiveBaseName);
  if (missing.length > 0) throw new ArchiveError(`no binary for ${missing.join(", ")}`);
  return RELEASE_TARGETS.map((target) => {
    const archive = archiveFileName(target);
    return { target, archive, source: found.get(archive) ?? "" };
  });
}

function spawn(cmd: string[], cwd: string): Buffer {
  const result = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new ArchiveError(`${cmd[0]} failed (exit ${result.exitCode}): ${result.stderr.toString().trim()}`);
  }
  return result.stdout;
}

export interface ArchiveOptions {
  distDir: string;
  outDir: string;
  /** Where LICENSE and README.md are. */
  rootDir: string;
  /** Unix seconds for every file in the archives. */
  mtime: number;
}

/** Writes the archives and checksums.txt into outDir; returns archive name → SHA-256. */
export async function writeArchives(options: ArchiveOptions): Promise<Map<string, string>> {
  const plans = planArchives(await readdir(options.distDir));
  await mkdir(options.outDir, { recursive: true });
  const staging = await mkdtemp(join(tmpdir(), "pulumi-exporter-release-"));
  const sums = new Map<string, string>();
  try {
    for (const plan of plans) {
      const dir = join(staging, archiveBaseName(plan.target));
      await mkdir(dir);
      const binary = binaryFileName(plan.target);
      const files = [binary, "LICENSE", "README.md"];
      await copyFile(join(options.distDir, plan.source), join(dir, binary));
      await copyFile(join(options.rootDir, "LICENSE"), join(dir, "LICENSE"));
      await copyFile(join(options.rootDir, "README.md"), join(dir, "README.md"));
      await Promise.all(files.map((f) => chmod(join(dir, f), f === binary ? 0o755 : 0o644)));
      await Promise.all(files.map((f) => utimes(join(dir, f), options.mtime, options.mtime)));

      const out = join(options.outDir, plan.archive);
      if (plan.target.os === "windows") {
        await rm(out, { force: true });
        // -X: no extra attributes (uid, extended times), -D: no directory entries.
        spawn(["zip", "-q", "-X", "-D", out, ...files], dir);
      } else {
        const tar = spawn(
          [
            "tar",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            `--mtime=@${options.mtime}`,
            "-cf",
            "-",
            ...files,
          ],
          dir,
        );
        // zlib writes no timestamp into the gzip header, unlike gzip(1) without -n.
        await Bun.write(out, Bun.gzipSync(new Uint8Array(tar), { level: 9 }));
      }
      sums.set(
        plan.archive,
        new Bun.CryptoHasher("sha256").update(await Bun.file(out).bytes()).digest("hex"),
      );
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await Bun.write(join(options.outDir, "checksums.txt"), formatChecksums(sums));
  return sums;
}

function sourceDateEpoch(value: string | undefined): number {
  if (value === undefined || value === "") return Math.floor(Date.now() / 1000);
  if (!/^\d+$/.test(value)) throw new ArchiveError(`SOURCE_DATE_EPOCH must be Unix seconds, got "${value}"`);
  return Number(value);
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: { dist: { type: "string", default: "dist" }, out: { type: "string", default: "release" } },
      strict: true,
    });
    const sums = await writeArchives({
      distDir: resolve(values.dist),
      outDir: resolve(values.out),
      rootDir: resolve(import.meta.dir, "../.."),
      mtime: sourceDateEpoch(process.env.SOURCE_DATE_EPOCH),
    });
    process.stdout.write(formatChecksums(sums));
  } catch (error) {
    process.stderr.write(`archive: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
