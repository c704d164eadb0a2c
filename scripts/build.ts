/**
 * Compiles the exporter into one self-contained executable with `bun build --compile`.
 *
 *   bun scripts/build.ts                 dist/pulumi-exporter for this machine
 *   bun scripts/build.ts --all           dist/pulumi-exporter_<os>_<arch>[_musl][.exe] for every release target,
 *                                        plus dist/checksums.txt (sha256sum format)
 *   options: --entry <file> (default src/cli/main.ts), --outdir <dir> (default dist)
 *
 * Same settings as `bun build --compile --minify --bytecode --format=esm --no-compile-autoload-dotenv
 * --no-compile-autoload-bunfig`, through the Bun.build API because the CLI takes no plugins. The version (package.json),
 * commit (`git rev-parse --short HEAD`) and build date are embedded with `define` (see src/version.ts).
 *
 * Cross-compiling needs the Bun runtime of each target. Bun would download it from GitHub; this script instead takes
 * it from the npm package Bun publishes for that platform (`@oven/bun-<os>-<arch>[-musl]`, the version of the running
 * Bun), fetched once with `npm pack` into node_modules/.cache/bun-runtimes/, so only the npm registry is needed.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { BunPlugin } from "bun";

export const ROOT = resolve(import.meta.dir, "..");
export const DEFAULT_ENTRY = "src/cli/main.ts";
export const BINARY = "pulumi-exporter";

export interface ReleaseTarget {
  bun: Bun.Build.CompileTarget;
  os: "linux" | "darwin" | "windows";
  arch: "x64" | "arm64";
  musl: boolean;
  /** The npm package holding this target's Bun runtime. */
  runtimePackage: string;
}

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { bun: "bun-linux-x64", os: "linux", arch: "x64", musl: false, runtimePackage: "@oven/bun-linux-x64" },
  {
    bun: "bun-linux-arm64",
    os: "linux",
    arch: "arm64",
    musl: false,
    runtimePackage: "@oven/bun-linux-aarch64",
  },
  {
    bun: "bun-linux-x64-musl",
    os: "linux",
    arch: "x64",
    musl: true,
    runtimePackage: "@oven/bun-linux-x64-musl",
  },
  {
    bun: "bun-linux-arm64-musl",
    os: "linux",
    arch: "arm64",
    musl: true,
    runtimePackage: "@oven/bun-linux-aarch64-musl",
  },
  { bun: "bun-darwin-x64", os: "darwin", arch: "x64", musl: false, runtimePackage: "@oven/bun-darwin-x64" },
  {
    bun: "bun-darwin-arm64",
    os: "darwin",
    arch: "arm64",
    musl: false,
    runtimePackage: "@oven/bun-darwin-aarch64",
  },
  {
    bun: "bun-windows-x64",
    os: "windows",
    arch: "x64",
    musl: false,
    runtimePackage: "@oven/bun-windows-x64",
  },
];

/** `pulumi-exporter_linux_arm64_musl`, `pulumi-exporter_windows_x64.exe`, ... */
export function binaryName(target: ReleaseTarget): string {
  return `${BINARY}_${target.os}_${target.arch}${target.musl ? "_musl" : ""}${target.os === "windows" ? ".exe" : ""}`;
}

export interface BuildInfo {
  version: string;
  commit: string;
  date: string;
}

/** Version from package.json, short commit from git ("unknown" outside a checkout), date as ISO 8601. */
export function readBuildInfo(root: string = ROOT, now: Date = new Date()): BuildInfo {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string" || pkg.version === "") throw new Error("package.json has no version");
  const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const commit = git.exitCode === 0 ? git.stdout.toString().trim() : "unknown";
  return { version: pkg.version, commit, date: now.toISOString() };
}

/** The `define` map that src/version.ts reads. */
export function buildDefines(info: BuildInfo): Record<string, string> {
  return {
    PULUMI_EXPORTER_VERSION: JSON.stringify(info.version),
    PULUMI_EXPORTER_COMMIT: JSON.stringify(info.commit),
    PULUMI_EXPORTER_BUILD_DATE: JSON.stringify(info.date),
  };
}

const CREATE_REQUIRE_BINDING =
  /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:[A-Za-z_$][\w$]*\.)?createRequire\(\s*import\.meta\.url\s*\)/g;
/** rolldown's runtime helper: `var __require = (() => createRequire(import.meta.url))();`, maybe marked pure. */
const IIFE_CREATE_REQUIRE_BINDING =
  /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:\/\*[^*]*\*\/\s*)?\(\s*\(\s*\)\s*=>\s*(?:[A-Za-z_$][\w$]*\.)?createRequire\(\s*import\.meta\.url\s*\)\s*\)\(\s*\)/g;
/**
 * `import { __require } from "./_virtual/_rolldown/runtime.mjs"`: the helper above, built in rolldown's runtime
 * module and used by every other module of the package (OpenTelemetry's 0.30x gRPC exporter loads grpc-js so).
 */
const ROLLDOWN_RUNTIME_IMPORT = /\bimport\s*\{([^}]*)\}\s*from\s*(["'])[^"'\n]*_rolldown\/runtime\.m?js\2/g;
const DIRECT_CREATE_REQUIRE_CALL =
  /(?:[A-Za-z_$][\w$]*\.)?createRequire\(\s*import\.meta\.url\s*\)\(\s*(["'])([^"'\n]+)\1\s*\)/g;

/**
 * Rewrites `require("pkg")` made through `createRequire(import.meta.url)` into a static import, which the bundler
 * can see. Without it, such a module is not in the executable and the call fails at run time (ESM builds of
 * OpenTelemetry's gRPC exporter load @grpc/grpc-js this way, and the SDK swallows the error: nothing is exported).
 * The call becomes what `require` returns: `module.exports` of a CommonJS module, the namespace of an ES module
 * without default export. Returns undefined when there is nothing to rewrite.
 */
export function rewriteCreateRequire(source: string): string | undefined {
  const bindings = requireBindings(source);
  if (bindings.length === 0 && !source.includes("createRequire")) return undefined;
  const specifiers = new Map<string, string>();
  const local = (specifier: string) => {
    let name = specifiers.get(specifier);
    if (name === undefined) {
      name = `__static_require_${specifiers.size}`;
      specifiers.set(specifier, name);
    }
    return `(${name}.default ?? ${name})`;
  };
  let out = source.replace(DIRECT_CREATE_REQUIRE_CALL, (_call, _quote, specifier: string) =>
    local(specifier),
  );
  for (const binding of bindings) {
    const call = new RegExp(
      `(?<![\\w$.])${binding.replace(/\$/g, "\\$")}\\(\\s*(["'])([^"'\\n]+)\\1\\s*\\)`,
      "g",
    );
    out = out.replace(call, (_call, _quote, specifier: string) => local(specifier));
  }
  if (specifiers.size === 0) return undefined;
  const imports = [...specifiers].map(
    ([specifier, name]) => `import * as ${name} from ${JSON.stringify(specifier)};`,
  );
  return `${imports.join("\n")}\n${out}`;
}

/** The names bound to a `require` made by createRequire(import.meta.url), here or in rolldown's runtime module. */
function requireBindings(source: string): string[] {
  const names = [
    ...[...source.matchAll(CREATE_REQUIRE_BINDING)].map((m) => m[1]),
    ...[...source.matchAll(IIFE_CREATE_REQUIRE_BINDING)].map((m) => m[1]),
  ];
  for (const [, list] of source.matchAll(ROLLDOWN_RUNTIME_IMPORT)) {
    for (const item of (list ?? "").split(",")) {
      const [imported, local] = item.trim().split(/\s+as\s+/);
      if (imported === "__require") names.push(local ?? imported);
    }
  }
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}

/**
 * Applies {@link rewriteCreateRequire} to the JavaScript files matching `filter`. The default is OpenTelemetry's
 * packages only: elsewhere createRequire often guards an optional dependency, which a static import would make
 * mandatory.
 */
export const OPENTELEMETRY_FILES = /[\\/]node_modules[\\/]@opentelemetry[\\/].+\.m?js$/;

export function staticCreateRequirePlugin(filter: RegExp = OPENTELEMETRY_FILES): BunPlugin {
  return {
    name: "static-create-require",
    setup(build) {
      build.onLoad({ filter }, async ({ path }) => {
        const rewritten = rewriteCreateRequire(await Bun.file(path).text());
        return rewritten === undefined ? undefined : { contents: rewritten, loader: "js" };
      });
    },
  };
}

export interface CompileOptions {
  /** Entry file, absolute or relative to the repository. */
  entry: string;
  outfile: string;
  info: BuildInfo;
  /** Cross-compile target; the running machine when absent. */
  target?: Bun.Build.CompileTarget;
  /** The Bun runtime to embed for `target`. */
  executablePath?: string;
  /** Which files get the createRequire rewrite; see {@link staticCreateRequirePlugin}. */
  rewriteFilter?: RegExp;
}

/** One `bun build --compile`. Throws with Bun's messages when the build fails. */
export async function compile(options: CompileOptions): Promise<string> {
  mkdirSync(dirname(options.outfile), { recursive: true });
  const result = await Bun.build({
    entrypoints: [resolve(ROOT, options.entry)],
    minify: true,
    bytecode: true,
    format: "esm",
    define: buildDefines(options.info),
    plugins: [staticCreateRequirePlugin(options.rewriteFilter)],
    compile: {
      outfile: options.outfile,
      autoloadDotenv: false,
      autoloadBunfig: false,
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(options.executablePath === undefined ? {} : { executablePath: options.executablePath }),
    },
  }).catch((error: unknown) => {
    throw new Error(`bun build of ${options.entry} failed: ${formatBuildError(error)}`);
  });
  if (!result.success) {
    throw new Error(`bun build of ${options.entry} failed: ${result.logs.map(String).join("\n")}`);
  }
  return options.outfile;
}

function formatBuildError(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(String).join("\n");
  return String(error);
}

/** The release target this machine is, if any (decides when the running Bun can serve as the runtime). */
export function hostTarget(): ReleaseTarget | undefined {
  const arch = process.arch === "x64" ? "x64" : process.arch === "arm64" ? "arm64" : undefined;
  const os = process.platform === "win32" ? "windows" : process.platform;
  const musl = os === "linux" && existsSync(`/lib/ld-musl-${arch === "arm64" ? "aarch64" : "x86_64"}.so.1`);
  return RELEASE_TARGETS.find((t) => t.os === os && t.arch === arch && t.musl === musl);
}

export interface RuntimeOptions {
  /** Where fetched runtimes are kept. */
  cacheDir: string;
  /** Fetches `<pkg>@<version>` into `dir` and returns the tarball path; defaults to `npm pack`. */
  fetchPackage?: (spec: string, dir: string) => string;
}

/**
 * The Bun runtime executable for `target`, matching the running Bun's version: the running Bun itself for the host
 * target, otherwise the binary of the target's npm package (fetched once into the cache).
 */
export function resolveRuntime(target: ReleaseTarget, options: RuntimeOptions): string {
  if (hostTarget()?.bun === target.bun) return process.execPath;
  const dir = join(options.cacheDir, Bun.version, target.runtimePackage.replace("/", "+"));
  const executable = join(dir, "package", "bin", target.os === "windows" ? "bun.exe" : "bun");
  if (existsSync(executable)) return executable;
  const spec = `${target.runtimePackage}@${Bun.version}`;
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const tarball = (options.fetchPackage ?? npmPack)(spec, staging);
    const untar = Bun.spawnSync(["tar", "-xzf", tarball, "-C", staging], { stdout: "pipe", stderr: "pipe" });
    if (untar.exitCode !== 0)
      throw new Error(`tar -xzf ${basename(tarball)}: ${untar.stderr.toString().trim()}`);
    if (!existsSync(join(staging, "package", "bin", basename(executable)))) {
      throw new Error(`${spec} has no package/bin/${basename(executable)}`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    return executable;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `no Bun runtime for ${target.bun}: ${error instanceof Error ? error.message : String(error)}. ` +
        `Run \`npm pack ${spec}\` where the npm registry is reachable and unpack it into ${dir}`,
    );
  }
}

function npmPack(spec: string, dir: string): string {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = Bun.spawnSync([npm, "pack", spec, "--pack-destination", dir, "--silent"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const name = result.stdout.toString().trim().split("\n").pop() ?? "";
  if (result.exitCode !== 0 || name === "") {
    const stderr = result.stderr
      .toString()
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("npm warn"))
      .join(" ");
    throw new Error(`npm pack ${spec} failed: ${stderr || `exit code ${result.exitCode}`}`);
  }
  return join(dir, name);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const stream = Bun.file(path).stream();
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest("hex");
}

/** `sha256sum` output: `<hex>  <name>` per line, sorted by name. */
export function checksumsText(sums: ReadonlyMap<string, string>): string {
  return [...sums]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, hex]) => `${hex}  ${name}\n`)
    .join("");
}

export interface CliOptions {
  all: boolean;
  entry: string;
  outdir: string;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { all: false, entry: DEFAULT_ENTRY, outdir: "dist" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--all") options.all = true;
    else if (arg === "--entry") options.entry = value();
    else if (arg === "--outdir") options.outdir = value();
    else throw new Error(`unknown argument ${arg} (expected --all, --entry <file>, --outdir <dir>)`);
  }
  return options;
}

/** Builds the release binaries; a target that cannot be built is reported and makes the result non-zero. */
export async function buildAll(
  options: CliOptions & { info: BuildInfo; runtime: RuntimeOptions; log: (line: string) => void },
): Promise<{ built: string[]; failed: { target: string; error: string }[] }> {
  const outdir = resolve(ROOT, options.outdir);
  const built: string[] = [];
  const failed: { target: string; error: string }[] = [];
  const sums = new Map<string, string>();
  for (const target of RELEASE_TARGETS) {
    const outfile = join(outdir, binaryName(target));
    try {
      const executablePath = resolveRuntime(target, options.runtime);
      await compile({
        entry: options.entry,
        outfile,
        info: options.info,
        target: target.bun,
        executablePath,
      });
      sums.set(binaryName(target), await sha256File(outfile));
      built.push(outfile);
      options.log(`built ${binaryName(target)}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed.push({ target: target.bun, error: message });
      options.log(`FAILED ${target.bun}: ${message}`);
    }
  }
  if (sums.size > 0) writeFileSync(join(outdir, "checksums.txt"), checksumsText(sums));
  return { built, failed };
}

export async function main(argv: readonly string[]): Promise<number> {
  const options = parseArgs(argv);
  const info = readBuildInfo();
  const log = (line: string) => console.error(line);
  log(`pulumi-exporter ${info.version} (${info.commit}, ${info.date}) from ${options.entry}`);
  if (!options.all) {
    const outfile = await compile({
      entry: options.entry,
      outfile: resolve(ROOT, options.outdir, BINARY),
      info,
    });
    log(`built ${outfile}`);
    return 0;
  }
  const { built, failed } = await buildAll({
    ...options,
    info,
    runtime: { cacheDir: join(ROOT, "node_modules", ".cache", "bun-runtimes") },
    log,
  });
  log(
    `${built.length} built, ${failed.length} failed; checksums in ${join(options.outdir, "checksums.txt")}`,
  );
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
