// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables are literal text here
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { binaryName, RELEASE_TARGETS } from "../../scripts/build.ts";

const ROOT = resolve(import.meta.dir, "../..");

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions by stage: continuation lines joined as Docker does, comments and the directive dropped. */
function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    if (current === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      current += line.slice(0, -1);
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const instruction = { keyword: (match[1] ?? "").toUpperCase(), args: (match[2] ?? "").trim() };
    if (instruction.keyword === "FROM") {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      stages.push({ from: instruction.args, name: from?.[2], instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

let dockerfile: ReturnType<typeof parseDockerfile>;
let work: string;
beforeAll(async () => {
  dockerfile = parseDockerfile(await readFile(join(ROOT, "Dockerfile"), "utf8"));
  work = await mkdtemp(join(tmpdir(), "dockerfile-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function stage(name: string | undefined): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no stage ${name}`);
  return found;
}
const args = (s: Stage, keyword: string) =>
  s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe("Dockerfile", () => {
  test("builds on the build platform, assembles on the build platform, ends FROM scratch", () => {
    expect(dockerfile.stages.map((s) => [s.from, s.name])).toEqual([
      ["--platform=$BUILDPLATFORM ${NODE_IMAGE} AS build", "build"],
      ["${DEBIAN_IMAGE} AS target-debian", "target-debian"],
      ["--platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS rootfs", "rootfs"],
      ["scratch", undefined],
    ]);
    expect(dockerfile.globalArgs.map((a) => a.args)).toEqual([
      "NODE_IMAGE=node:20-bookworm",
      "DEBIAN_IMAGE=debian:bookworm-slim",
    ]);
    // The only stage of the target platform runs nothing.
    expect(stage("target-debian").instructions).toEqual([]);
  });

  test("the build stage installs with npm ci and compiles every target", () => {
    expect(args(stage("build"), "RUN")).toEqual(["npm ci --no-audit --no-fund", "npm run build:all"]);
  });

  test("the rootfs stage runs assemble.sh, which reads files.txt, on the target's Debian", () => {
    const rootfs = stage("rootfs");
    expect(args(rootfs, "COPY")).toEqual([
      "--from=target-debian / /sysroot/",
      "--from=build /etc/ssl/certs/ca-certificates.crt /sysroot/etc/ssl/certs/ca-certificates.crt",
      "packaging/rootfs/ /packaging/rootfs/",
      "--from=build /src/dist/ /dist/",
    ]);
    const [run] = args(rootfs, "RUN");
    expect(run).toContain(
      'SYSROOT=/sysroot sh /packaging/rootfs/assemble.sh "$TARGETARCH" "$binary" /rootfs',
    );
  });

  test("the image runs /pulumi-exporter as 65532 on port 8080 with a TMPDIR and OCI labels", () => {
    const final = stage(undefined);
    expect(args(final, "COPY")).toEqual([
      "--from=rootfs /rootfs/ /",
      "--from=rootfs --chown=65532:65532 /rootfs/home/nonroot/ /home/nonroot/",
    ]);
    expect(args(final, "USER")).toEqual(["65532:65532"]);
    expect(args(final, "EXPOSE")).toEqual(["8080"]);
    expect(args(final, "ENTRYPOINT")).toEqual(['["/pulumi-exporter"]']);
    expect(args(final, "ENV").map((env) => env.split(/\s+/))).toEqual([
      ["HOME=/home/nonroot", "TMPDIR=/tmp"],
    ]);
    const labels = args(final, "LABEL").join(" ");
    const keys = [...labels.matchAll(/(org\.opencontainers\.image\.[a-z]+)=/g)].map((m) => m[1]);
    expect(keys).toEqual([
      "org.opencontainers.image.title",
      "org.opencontainers.image.description",
      "org.opencontainers.image.licenses",
      "org.opencontainers.image.source",
      "org.opencontainers.image.version",
      "org.opencontainers.image.revision",
    ]);
    expect(labels).toContain('org.opencontainers.image.licenses="Apache-2.0"');
    expect(labels).toContain('org.opencontainers.image.version="${VERSION}"');
  });

  test(".dockerignore keeps the build inputs and drops what the build makes", async () => {
    const ignored = (await readFile(join(ROOT, ".dockerignore"), "utf8"))
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("#"));
    expect(ignored).toContain("node_modules");
    expect(ignored).toContain("dist");
    for (const needed of [
      "src",
      "scripts",
      "packaging",
      "package.json",
      "package-lock.json",
      ".git",
      "openapi",
    ]) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe("the rootfs stage's RUN, executed with the build stage's paths mapped into a temporary directory", () => {
  /** Runs the Dockerfile's own command text for one TARGETARCH against a dist/ of fake binaries. */
  async function runRootfsStage(targetArch: string, sysroot: string) {
    const dist = join(work, "dist");
    await mkdir(dist, { recursive: true });
    for (const target of RELEASE_TARGETS) await writeFile(join(dist, binaryName(target)), binaryName(target));
    const out = join(work, `rootfs-${targetArch}`);
    const [run = ""] = args(stage("rootfs"), "RUN");
    const command = run
      .replaceAll("/dist/", `${dist}/`)
      .replace("SYSROOT=/sysroot", `SYSROOT=${sysroot}`)
      .replace("/packaging/rootfs/", `${ROOT}/packaging/rootfs/`)
      .replace(/ \/rootfs$/, ` ${out}`);
    const result = Bun.spawnSync(["sh", "-c", command], {
      env: { PATH: process.env.PATH ?? "", TARGETARCH: targetArch },
    });
    return { out, code: result.exitCode, stderr: result.stderr.toString() };
  }

  test("amd64 and arm64 each get the Linux glibc binary scripts/build.ts names for them", async () => {
    // amd64 from this machine's own libraries; arm64 from a stand-in sysroot with the listed paths.
    const arm64 = join(work, "arm64-sysroot");
    const listed = (await readFile(join(ROOT, "packaging/rootfs/files.txt"), "utf8"))
      .split("\n")
      .filter((l) => l.startsWith("arm64 ") || l.startsWith("* "))
      .map((l) => l.split(" ")[1] ?? "");
    for (const path of listed) {
      await mkdir(join(arm64, path, ".."), { recursive: true });
      await writeFile(join(arm64, path), path);
    }
    const host = process.arch === "x64" ? "amd64" : "arm64";
    for (const [targetArch, sysroot, bunArch] of [
      ["amd64", host === "amd64" ? "" : join(work, "none"), "x64"],
      ["arm64", arm64, "arm64"],
    ] as const) {
      const result = await runRootfsStage(targetArch, sysroot);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const target = RELEASE_TARGETS.find((t) => t.os === "linux" && t.arch === bunArch && !t.musl);
      if (target === undefined) throw new Error(`scripts/build.ts has no linux ${bunArch} target`);
      const expected = binaryName(target);
      expect(await readFile(join(result.out, "pulumi-exporter"), "utf8")).toBe(expected);
      expect((await stat(join(result.out, "etc/passwd"))).isFile()).toBe(true);
    }
  });

  test("any other TARGETARCH stops the build with its name", async () => {
    const result = await runRootfsStage("riscv64", "");
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("unsupported TARGETARCH 'riscv64' (amd64 or arm64)\n");
  });
});
