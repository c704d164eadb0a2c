/**
 * The release targets and the names of their archives. The names follow Go's GOOS/GOARCH (linux, darwin,
 * windows × amd64, arm64), so the assets read like every other exporter's; musl builds carry a `_musl` suffix.
 */

export type ReleaseOs = "linux" | "darwin" | "windows";
export type ReleaseArch = "amd64" | "arm64";

export interface ReleaseTarget {
  readonly os: ReleaseOs;
  readonly arch: ReleaseArch;
  readonly musl: boolean;
}

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { os: "linux", arch: "amd64", musl: false },
  { os: "linux", arch: "arm64", musl: false },
  { os: "linux", arch: "amd64", musl: true },
  { os: "linux", arch: "arm64", musl: true },
  { os: "darwin", arch: "amd64", musl: false },
  { os: "darwin", arch: "arm64", musl: false },
  { os: "windows", arch: "amd64", musl: false },
];

export const PROGRAM = "pulumi-exporter";

/** `pulumi-exporter_linux_amd64_musl`: the archive's name without its extension. */
export function archiveBaseName(target: ReleaseTarget): string {
  return `${PROGRAM}_${target.os}_${target.arch}${target.musl ? "_musl" : ""}`;
}

/** Windows users expect a zip; everyone else gets a gzipped tarball. */
export function archiveFileName(target: ReleaseTarget): string {
  return `${archiveBaseName(target)}${target.os === "windows" ? ".zip" : ".tar.gz"}`;
}

/** The binary's name inside the archive. */
export function binaryFileName(target: ReleaseTarget): string {
  return target.os === "windows" ? `${PROGRAM}.exe` : PROGRAM;
}

const ARCH_ALIASES: Record<string, ReleaseArch> = {
  x64: "amd64",
  amd64: "amd64",
  arm64: "arm64",
  aarch64: "arm64",
};

/**
 * The target of a compiled binary in dist/ (`pulumi-exporter_linux_x64_musl`, `pulumi-exporter_windows_x64.exe`),
 * whether the build names architectures like Bun (x64) or like Go (amd64); undefined for any other file.
 */
export function parseBinaryName(fileName: string): ReleaseTarget | undefined {
  const match = /^pulumi-exporter_(linux|darwin|windows)_([a-z0-9]+?)(_musl)?(\.exe)?$/.exec(fileName);
  if (!match) return undefined;
  const [, os, archName, musl, exe] = match;
  const arch = ARCH_ALIASES[archName ?? ""];
  if (arch === undefined) return undefined;
  if ((os === "windows") !== (exe !== undefined)) return undefined;
  if (musl !== undefined && os !== "linux") return undefined;
  return { os: os as ReleaseOs, arch, musl: musl !== undefined };
}
