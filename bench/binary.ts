/** The compiled exporter the benchmarks run: rebuilt with `npm run build` when missing or older than its sources. */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BINARY = join(ROOT, "dist", "pulumi-exporter");

/** Newest modification time (ms) of the files under `paths` (files or directories, recursively). */
export function newestMtimeMs(paths: readonly string[]): number {
  let newest = 0;
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const path of paths) visit(path);
  return newest;
}

/** What goes into the binary: a change to any of these makes it stale. */
export const BINARY_INPUTS = ["src", "package.json", "package-lock.json", "scripts/build.ts"].map((p) =>
  join(ROOT, p),
);

export function binaryIsStale(binary: string = BINARY): boolean {
  if (!existsSync(binary)) return true;
  return newestMtimeMs(BINARY_INPUTS) > statSync(binary).mtimeMs;
}

/** Builds dist/pulumi-exporter unless it is up to date; returns whether it built. */
export function ensureBinary(log: (line: string) => void): boolean {
  if (!binaryIsStale()) return false;
  log("dist/pulumi-exporter is missing or older than src/: npm run build");
  const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts")], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) throw new Error(`npm run build failed (exit code ${build.exitCode})`);
  return true;
}

/** `pulumi-exporter --version` of the binary, first line. */
export function binaryVersion(binary: string = BINARY): string {
  const result = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "pipe", env: {} });
  return result.stdout.toString().trim().split("\n")[0] ?? "unknown";
}
