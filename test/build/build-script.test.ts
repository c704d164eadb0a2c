import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BINARY,
  binaryName,
  buildAll,
  buildDefines,
  checksumsText,
  hostTarget,
  parseArgs,
  RELEASE_TARGETS,
  type ReleaseTarget,
  ROOT,
  readBuildInfo,
  resolveRuntime,
  rewriteCreateRequire,
  sha256File,
} from "../../scripts/build.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "build-script-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function target(bun: string): ReleaseTarget {
  const found = RELEASE_TARGETS.find((t) => t.bun === bun);
  if (found === undefined) throw new Error(`no target ${bun}`);
  return found;
}

function host(): ReleaseTarget {
  const found = hostTarget();
  if (found === undefined) throw new Error(`${process.platform}/${process.arch} is not a release target`);
  return found;
}

describe("release targets", () => {
  test("file names follow pulumi-exporter_<os>_<arch>[_musl][.exe]", () => {
    expect(RELEASE_TARGETS.map((t) => [t.bun, binaryName(t), t.runtimePackage])).toEqual([
      ["bun-linux-x64", "pulumi-exporter_linux_x64", "@oven/bun-linux-x64"],
      ["bun-linux-arm64", "pulumi-exporter_linux_arm64", "@oven/bun-linux-aarch64"],
      ["bun-linux-x64-musl", "pulumi-exporter_linux_x64_musl", "@oven/bun-linux-x64-musl"],
      ["bun-linux-arm64-musl", "pulumi-exporter_linux_arm64_musl", "@oven/bun-linux-aarch64-musl"],
      ["bun-darwin-x64", "pulumi-exporter_darwin_x64", "@oven/bun-darwin-x64"],
      ["bun-darwin-arm64", "pulumi-exporter_darwin_arm64", "@oven/bun-darwin-aarch64"],
      ["bun-windows-x64", "pulumi-exporter_windows_x64.exe", "@oven/bun-windows-x64"],
    ]);
    expect(BINARY).toBe("pulumi-exporter");
  });
});

describe("build information", () => {
  test("version from package.json, short commit from git, the given date", () => {
    const info = readBuildInfo(ROOT, new Date("2031-05-06T07:08:09.000Z"));
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT });
    expect(info).toEqual({
      version: pkg.version,
      commit: git.stdout.toString().trim(),
      date: "2031-05-06T07:08:09.000Z",
    });
    expect(info.commit).toMatch(/^[0-9a-f]{7,}$/);
  });

  test("outside a git checkout the commit is unknown", () => {
    const root = join(dir, "no-git");
    mkdirSync(root);
    writeFileSync(join(root, "package.json"), JSON.stringify({ version: "4.5.6" }));
    expect(readBuildInfo(root, new Date(0))).toEqual({
      version: "4.5.6",
      commit: "unknown",
      date: "1970-01-01T00:00:00.000Z",
    });
  });

  test("a package.json without version is an error", () => {
    const root = join(dir, "no-version");
    mkdirSync(root);
    writeFileSync(join(root, "package.json"), "{}");
    expect(() => readBuildInfo(root)).toThrow("package.json has no version");
  });

  test("defines are JSON string literals for src/version.ts", () => {
    expect(buildDefines({ version: "1.0.0", commit: "abc", date: "2030-01-01T00:00:00.000Z" })).toEqual({
      PULUMI_EXPORTER_VERSION: '"1.0.0"',
      PULUMI_EXPORTER_COMMIT: '"abc"',
      PULUMI_EXPORTER_BUILD_DATE: '"2030-01-01T00:00:00.000Z"',
    });
  });
});

describe("rewriteCreateRequire", () => {
  test("turns require calls through a createRequire binding into static imports", () => {
    const source = [
      'import { createRequire } from "module";',
      "const require = createRequire(import.meta.url);",
      "export function a() { const { credentials } = require('@grpc/grpc-js'); return credentials; }",
      'export function b() { return require("@grpc/grpc-js").Metadata; }',
      'export function c() { return require("./local.js"); }',
      "export function d(name) { return require(name); }",
    ].join("\n");
    expect(rewriteCreateRequire(source)).toBe(
      [
        'import * as __static_require_0 from "@grpc/grpc-js";',
        'import * as __static_require_1 from "./local.js";',
        'import { createRequire } from "module";',
        "const require = createRequire(import.meta.url);",
        "export function a() { const { credentials } = (__static_require_0.default ?? __static_require_0); return credentials; }",
        "export function b() { return (__static_require_0.default ?? __static_require_0).Metadata; }",
        "export function c() { return (__static_require_1.default ?? __static_require_1); }",
        "export function d(name) { return require(name); }",
      ].join("\n"),
    );
  });

  test("handles module.createRequire, other binding names and direct calls", () => {
    const source = [
      "const req = module.createRequire(import.meta.url);",
      "const grpc = req('@grpc/grpc-js');",
      'const x = createRequire(import.meta.url)("x-pkg");',
      'const y = other.req("not-this");',
    ].join("\n");
    expect(rewriteCreateRequire(source)).toBe(
      [
        'import * as __static_require_0 from "x-pkg";',
        'import * as __static_require_1 from "@grpc/grpc-js";',
        "const req = module.createRequire(import.meta.url);",
        "const grpc = (__static_require_1.default ?? __static_require_1);",
        "const x = (__static_require_0.default ?? __static_require_0);",
        'const y = other.req("not-this");',
      ].join("\n"),
    );
  });

  test("follows the require that a rolldown runtime module builds with createRequire and exports", () => {
    // @opentelemetry/otlp-grpc-exporter-base 0.30x: dist/_virtual/_rolldown/runtime.mjs builds `__require`, the
    // transport imports it and loads grpc-js through it.
    const transport = [
      'import { __require, __toCommonJS } from "./_virtual/_rolldown/runtime.mjs";',
      'function createInsecureCredentials() { const { credentials } = __require("@grpc/grpc-js"); return credentials; }',
    ].join("\n");
    expect(rewriteCreateRequire(transport)).toBe(
      [
        'import * as __static_require_0 from "@grpc/grpc-js";',
        'import { __require, __toCommonJS } from "./_virtual/_rolldown/runtime.mjs";',
        "function createInsecureCredentials() { const { credentials } = (__static_require_0.default ?? __static_require_0); return credentials; }",
      ].join("\n"),
    );
    const runtime = [
      'import { createRequire } from "node:module";',
      "var __require = /* #__PURE__ */ (() => createRequire(import.meta.url))();",
      'const local = __require("./x.cjs");',
    ].join("\n");
    expect(rewriteCreateRequire(runtime)?.split("\n").at(-1)).toBe(
      "const local = (__static_require_0.default ?? __static_require_0);",
    );
    expect(
      rewriteCreateRequire('import { __require } from "./elsewhere.mjs"; __require("x");'),
    ).toBeUndefined();
  });

  test("leaves other code alone", () => {
    expect(rewriteCreateRequire('const grpc = require("@grpc/grpc-js");')).toBeUndefined();
    expect(rewriteCreateRequire("const r = createRequire(__filename); r('x');")).toBeUndefined();
  });
});

describe("arguments", () => {
  test("defaults and options", () => {
    expect(parseArgs([])).toEqual({ all: false, entry: "src/cli/main.ts", outdir: "dist" });
    expect(parseArgs(["--all", "--entry", "x.ts", "--outdir", "out"])).toEqual({
      all: true,
      entry: "x.ts",
      outdir: "out",
    });
  });

  test("bad arguments are errors", () => {
    expect(() => parseArgs(["--entry"])).toThrow("--entry needs a value");
    expect(() => parseArgs(["--outdir", "--all"])).toThrow("--outdir needs a value");
    expect(() => parseArgs(["--target", "x"])).toThrow(
      "unknown argument --target (expected --all, --entry <file>, --outdir <dir>)",
    );
  });
});

describe("checksums", () => {
  test("sha256sum format that sha256sum -c accepts", async () => {
    const sumsDir = join(dir, "sums");
    mkdirSync(sumsDir);
    writeFileSync(join(sumsDir, "b.bin"), "hello\n");
    writeFileSync(join(sumsDir, "a.bin"), "");
    const sums = new Map([
      ["b.bin", await sha256File(join(sumsDir, "b.bin"))],
      ["a.bin", await sha256File(join(sumsDir, "a.bin"))],
    ]);
    const text = checksumsText(sums);
    expect(text).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.bin\n" +
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  b.bin\n",
    );
    writeFileSync(join(sumsDir, "checksums.txt"), text);
    const check = Bun.spawnSync(["sha256sum", "-c", "checksums.txt"], { cwd: sumsDir });
    expect(check.exitCode).toBe(0);
  });
});

describe("Bun runtimes for cross-compiling", () => {
  test("the host target uses the running Bun", () => {
    expect(resolveRuntime(host(), { cacheDir: join(dir, "unused") })).toBe(process.execPath);
  });

  test("another target's runtime is unpacked from its npm package once, then cached", () => {
    const cacheDir = join(dir, "cache");
    const other =
      RELEASE_TARGETS.find((t) => t.bun !== host().bun && t.os !== "windows") ?? target("bun-darwin-arm64");
    const fetched: string[] = [];
    const fetchPackage = (spec: string, into: string) => {
      fetched.push(spec);
      mkdirSync(join(into, "src", "package", "bin"), { recursive: true });
      writeFileSync(join(into, "src", "package", "bin", "bun"), "runtime bytes");
      const tarball = join(into, "runtime.tgz");
      Bun.spawnSync(["tar", "-czf", tarball, "-C", join(into, "src"), "package"]);
      return tarball;
    };
    const first = resolveRuntime(other, { cacheDir, fetchPackage });
    const second = resolveRuntime(other, { cacheDir, fetchPackage });
    expect(first).toBe(
      join(cacheDir, Bun.version, other.runtimePackage.replace("/", "+"), "package", "bin", "bun"),
    );
    expect(second).toBe(first);
    expect(readFileSync(first, "utf8")).toBe("runtime bytes");
    expect(fetched).toEqual([`${other.runtimePackage}@${Bun.version}`]);
  });

  test("a runtime that cannot be fetched is a clear error and leaves no partial cache", () => {
    const cacheDir = join(dir, "cache-fail");
    const windows = target("bun-windows-x64");
    const fail = () => {
      throw new Error("npm pack @oven/bun-windows-x64@1.0.0 failed: 404 Not Found");
    };
    expect(() => resolveRuntime(windows, { cacheDir, fetchPackage: fail })).toThrow(
      `no Bun runtime for bun-windows-x64: npm pack @oven/bun-windows-x64@1.0.0 failed: 404 Not Found. ` +
        `Run \`npm pack @oven/bun-windows-x64@${Bun.version}\` where the npm registry is reachable and unpack it into ` +
        join(cacheDir, Bun.version, "@oven+bun-windows-x64"),
    );
    expect(existsSync(join(cacheDir, Bun.version, "@oven+bun-windows-x64.partial"))).toBe(false);
  });
});

describe("buildAll", () => {
  test("builds what it can, reports every target it cannot, and writes checksums for the built ones", async () => {
    const outdir = join(dir, "dist");
    const lines: string[] = [];
    const result = await buildAll({
      all: true,
      entry: "test/build/fixtures/print-version.ts",
      outdir,
      info: { version: "0.0.1", commit: "abc1234", date: "2030-01-01T00:00:00.000Z" },
      runtime: {
        cacheDir: join(dir, "cache-empty"),
        fetchPackage: (spec) => {
          throw new Error(`npm pack ${spec} failed: offline`);
        },
      },
      log: (line) => lines.push(line),
    });
    const hostName = binaryName(host());
    expect(result.built).toEqual([join(outdir, hostName)]);
    expect(result.failed.map((f) => f.target)).toEqual(
      RELEASE_TARGETS.filter((t) => t.bun !== host().bun).map((t) => t.bun),
    );
    for (const failure of result.failed) {
      expect(failure.error).toStartWith(`no Bun runtime for ${failure.target}: npm pack @oven/`);
    }
    expect(lines).toContain(`built ${hostName}`);
    expect(lines.filter((l) => l.startsWith("FAILED "))).toHaveLength(RELEASE_TARGETS.length - 1);

    const checksums = readFileSync(join(outdir, "checksums.txt"), "utf8");
    expect(checksums).toMatch(new RegExp(`^[0-9a-f]{64}  ${hostName}\\n$`));
    expect(Bun.spawnSync(["sha256sum", "-c", "checksums.txt"], { cwd: outdir }).exitCode).toBe(0);

    const run = Bun.spawnSync([join(outdir, hostName)], { cwd: dir, env: {} });
    expect(run.stdout.toString().trim()).toBe("0.0.1 abc1234 2030-01-01T00:00:00.000Z");
  }, 60_000);
});
