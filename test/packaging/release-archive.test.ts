import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ArchiveError, planArchives, writeArchives } from "../../packaging/release/archive.ts";
import { ChecksumsError, formatChecksums, parseChecksums } from "../../packaging/release/checksums.ts";
import { archiveFileName, parseBinaryName, RELEASE_TARGETS } from "../../packaging/release/targets.ts";

const ROOT = resolve(import.meta.dir, "../..");
const ARCHIVE_SCRIPT = join(ROOT, "packaging/release/archive.ts");
const BUN = process.execPath;

/** Bun's target names, as `bun build --compile --target=bun-<os>-<arch>[-musl]` calls them. */
const BUILT = [
  "pulumi-exporter_linux_x64",
  "pulumi-exporter_linux_arm64",
  "pulumi-exporter_linux_x64_musl",
  "pulumi-exporter_linux_arm64_musl",
  "pulumi-exporter_darwin_x64",
  "pulumi-exporter_darwin_arm64",
  "pulumi-exporter_windows_x64.exe",
];

const ARCHIVES = [
  "pulumi-exporter_darwin_amd64.tar.gz",
  "pulumi-exporter_darwin_arm64.tar.gz",
  "pulumi-exporter_linux_amd64.tar.gz",
  "pulumi-exporter_linux_amd64_musl.tar.gz",
  "pulumi-exporter_linux_arm64.tar.gz",
  "pulumi-exporter_linux_arm64_musl.tar.gz",
  "pulumi-exporter_windows_amd64.zip",
];

function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const result = Bun.spawnSync(cmd, { cwd, env: { ...process.env, ...env } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

let work: string;
let dist: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "release-test-"));
  dist = join(work, "dist");
  await mkdir(dist);
  for (const name of BUILT) await writeFile(join(dist, name), `binary ${name}\n`, { mode: 0o644 });
  // What else build:all leaves in dist/: the host build and the binaries' own checksums.
  await writeFile(join(dist, "pulumi-exporter"), "host binary\n");
  await writeFile(join(dist, "checksums.txt"), "");
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("targets", () => {
  test("names the seven archives Go-style", () => {
    expect(RELEASE_TARGETS.map(archiveFileName).sort()).toEqual(ARCHIVES);
  });

  test("reads Bun and Go architecture names and rejects anything else", () => {
    expect(parseBinaryName("pulumi-exporter_linux_x64_musl")).toEqual({
      os: "linux",
      arch: "amd64",
      musl: true,
    });
    expect(parseBinaryName("pulumi-exporter_linux_aarch64")).toEqual({
      os: "linux",
      arch: "arm64",
      musl: false,
    });
    expect(parseBinaryName("pulumi-exporter_windows_amd64.exe")).toEqual({
      os: "windows",
      arch: "amd64",
      musl: false,
    });
    expect(parseBinaryName("pulumi-exporter_windows_x64")).toBeUndefined();
    expect(parseBinaryName("pulumi-exporter_linux_x64.exe")).toBeUndefined();
    expect(parseBinaryName("pulumi-exporter_darwin_arm64_musl")).toBeUndefined();
    expect(parseBinaryName("pulumi-exporter_linux_riscv64")).toBeUndefined();
    expect(parseBinaryName("pulumi-exporter")).toBeUndefined();
  });
});

describe("planArchives", () => {
  test("fails naming every missing target", () => {
    expect(() => planArchives(["pulumi-exporter_linux_x64", "pulumi-exporter_darwin_arm64"])).toThrow(
      new ArchiveError(
        "no binary for pulumi-exporter_linux_arm64, pulumi-exporter_linux_amd64_musl, pulumi-exporter_linux_arm64_musl, pulumi-exporter_darwin_amd64, pulumi-exporter_windows_amd64",
      ),
    );
  });

  test("fails on a binary it does not know and on two binaries for one archive", () => {
    expect(() => planArchives([...BUILT, "pulumi-exporter_linux_x64_baseline"])).toThrow(
      "pulumi-exporter_linux_x64_baseline is not a known release target",
    );
    expect(() => planArchives([...BUILT, "pulumi-exporter_linux_amd64"])).toThrow(
      "pulumi-exporter_linux_x64 and pulumi-exporter_linux_amd64 both build pulumi-exporter_linux_amd64.tar.gz",
    );
  });
});

describe("checksums", () => {
  test("parses sha256sum text and binary lines and formats them back sorted", () => {
    const a = "a".repeat(64);
    const b = "B".repeat(64);
    const sums = parseChecksums(`${b} *z.tar.gz\n\n${a}  a.zip\n`);
    expect([...sums]).toEqual([
      ["z.tar.gz", "b".repeat(64)],
      ["a.zip", a],
    ]);
    expect(formatChecksums(sums)).toBe(`${a}  a.zip\n${"b".repeat(64)}  z.tar.gz\n`);
  });

  test("names the malformed line", () => {
    expect(() => parseChecksums(`${"a".repeat(64)}  ok\nnot a checksum\n`, "dist/checksums.txt")).toThrow(
      new ChecksumsError('dist/checksums.txt line 2 is not "<sha256>  <file>": "not a checksum"'),
    );
  });
});

describe("archive.ts", () => {
  test("packs each binary with LICENSE and README.md and writes checksums that sha256sum verifies", async () => {
    const out = join(work, "release");
    const result = run([BUN, ARCHIVE_SCRIPT, "--dist", dist, "--out", out], ROOT, {
      SOURCE_DATE_EPOCH: "1700000000",
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([...ARCHIVES, "checksums.txt"].sort());
    expect(result.stdout).toBe(await readFile(join(out, "checksums.txt"), "utf8"));
    expect([...parseChecksums(result.stdout).keys()]).toEqual(ARCHIVES);
    expect(run(["sha256sum", "--check", "--strict", "checksums.txt"], out).code).toBe(0);

    const listing = run(["tar", "-tvzf", "pulumi-exporter_linux_arm64_musl.tar.gz"], out, { TZ: "UTC" });
    expect(listing.code).toBe(0);
    const entries = listing.stdout
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/))
      .map(([mode, owner, , date, time, name]) => [mode, owner, `${date} ${time}`, name]);
    expect(entries).toEqual([
      ["-rwxr-xr-x", "0/0", "2023-11-14 22:13", "pulumi-exporter"],
      ["-rw-r--r--", "0/0", "2023-11-14 22:13", "LICENSE"],
      ["-rw-r--r--", "0/0", "2023-11-14 22:13", "README.md"],
    ]);
    const binary = run(["tar", "-xzOf", "pulumi-exporter_linux_arm64_musl.tar.gz", "pulumi-exporter"], out);
    expect(binary.stdout).toBe("binary pulumi-exporter_linux_arm64_musl\n");
    const license = run(["tar", "-xzOf", "pulumi-exporter_darwin_amd64.tar.gz", "LICENSE"], out);
    expect(license.stdout).toBe(await readFile(join(ROOT, "LICENSE"), "utf8"));

    const zip = run(["unzip", "-Z1", "pulumi-exporter_windows_amd64.zip"], out);
    expect(zip.stdout.trim().split("\n")).toEqual(["pulumi-exporter.exe", "LICENSE", "README.md"]);
    const exe = run(["unzip", "-p", "pulumi-exporter_windows_amd64.zip", "pulumi-exporter.exe"], out);
    expect(exe.stdout).toBe("binary pulumi-exporter_windows_x64.exe\n");
  });

  test("gives byte-identical archives for the same SOURCE_DATE_EPOCH", async () => {
    const options = { distDir: dist, rootDir: ROOT, mtime: 1700000000 };
    const first = await writeArchives({ ...options, outDir: join(work, "one") });
    const second = await writeArchives({ ...options, outDir: join(work, "two") });
    expect(second).toEqual(first);
  });

  test("exits 1 with the reason when a target is missing", async () => {
    const partial = join(work, "partial");
    await mkdir(partial);
    await writeFile(join(partial, "pulumi-exporter_linux_x64"), "x");
    const result = run([BUN, ARCHIVE_SCRIPT, "--dist", partial, "--out", join(work, "never")], ROOT);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "archive: no binary for pulumi-exporter_linux_arm64, pulumi-exporter_linux_amd64_musl, pulumi-exporter_linux_arm64_musl, pulumi-exporter_darwin_amd64, pulumi-exporter_darwin_arm64, pulumi-exporter_windows_amd64\n",
    );
  });
});
