import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstat, mkdir, mkdtemp, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { containerCommand, run, runAsRoot } from "./as-root.ts";

// The compiled exporter is Bun's runtime with the program appended, so Bun itself proves the library list.
const ROOT = resolve(import.meta.dir, "../..");
const ASSEMBLE = join(ROOT, "packaging/rootfs/assemble.sh");
const FILES_TXT = join(ROOT, "packaging/rootfs/files.txt");
const BUN = join(ROOT, "node_modules/bun/bin/bun.exe");
const HOST_ARCH = process.arch === "arm64" ? "arm64" : "amd64";

/** Runs a command inside `root` as the image's user, on a read-only root with /proc and a /tmp. */
function inRootfs(root: string, args: string[]) {
  const result = Bun.spawnSync(containerCommand(root, args));
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

async function listedPaths(arch: string): Promise<string[]> {
  const lines = (await readFile(FILES_TXT, "utf8")).split("\n");
  return lines
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/\s+/))
    .filter(([a]) => a === arch || a === "*")
    .map(([, path]) => path ?? "");
}

let work: string;
let hostRoot: string;
let assembled: ReturnType<typeof run>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rootfs-test-"));
  hostRoot = join(work, "host");
  // Made first so that the test can still write into it when assemble.sh runs through sudo.
  await mkdir(join(hostRoot, "proc"), { recursive: true });
  assembled = runAsRoot([ASSEMBLE, HOST_ARCH, BUN, hostRoot]);
});
afterAll(() => {
  runAsRoot(["rm", "-rf", work]);
});

describe("files.txt", () => {
  test("lists the loader and the four glibc libraries for each architecture, plus the CA bundle", async () => {
    expect(await listedPaths("amd64")).toEqual([
      "/lib64/ld-linux-x86-64.so.2",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib/x86_64-linux-gnu/libm.so.6",
      "/lib/x86_64-linux-gnu/libpthread.so.0",
      "/lib/x86_64-linux-gnu/libdl.so.2",
      "/etc/ssl/certs/ca-certificates.crt",
    ]);
    expect(await listedPaths("arm64")).toEqual([
      "/lib/ld-linux-aarch64.so.1",
      "/lib/aarch64-linux-gnu/libc.so.6",
      "/lib/aarch64-linux-gnu/libm.so.6",
      "/lib/aarch64-linux-gnu/libpthread.so.0",
      "/lib/aarch64-linux-gnu/libdl.so.2",
      "/etc/ssl/certs/ca-certificates.crt",
    ]);
  });

  test("covers every library the host binary declares (readelf DT_NEEDED and interpreter)", async () => {
    const dynamic = run(["readelf", "-d", "-l", BUN]);
    expect(dynamic.code).toBe(0);
    const needed = [...dynamic.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
    const interpreter = /Requesting program interpreter: (.+?)\]/.exec(dynamic.stdout)?.[1];
    const listed = await listedPaths(HOST_ARCH);
    expect(interpreter).toBeDefined();
    expect(listed).toContain(interpreter ?? "");
    const listedNames = listed.map((path) => path.slice(path.lastIndexOf("/") + 1));
    expect(needed.length).toBeGreaterThan(0);
    for (const name of needed) expect(listedNames).toContain(name ?? "");
  });
});

describe("assemble.sh", () => {
  test(`builds a ${HOST_ARCH} root filesystem in which the runtime starts as uid 65532`, async () => {
    const root = hostRoot;
    expect(assembled.stderr).toBe("");
    expect(assembled.stdout).toBe(`assemble.sh: ${HOST_ARCH} root filesystem in ${root} (6 listed files)\n`);
    expect(assembled.code).toBe(0);

    for (const path of await listedPaths(HOST_ARCH)) {
      // Copies, not links: a scratch image cannot follow a link into a directory it does not have.
      expect((await stat(join(root, path))).isFile()).toBe(true);
    }
    expect(await readFile(join(root, "etc/passwd"), "utf8")).toContain(
      "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    );
    expect(await readFile(join(root, "etc/group"), "utf8")).toContain("nonroot:x:65532:\n");
    expect((await stat(join(root, "tmp"))).mode & 0o7777).toBe(0o1777);
    const home = await stat(join(root, "home/nonroot"));
    expect([home.uid, home.gid, home.mode & 0o777]).toEqual([65532, 65532, 0o700]);
    expect((await stat(join(root, "pulumi-exporter"))).mode & 0o777).toBe(0o755);

    const version = inRootfs(root, ["/pulumi-exporter", "--version"]);
    expect(version.stderr).toBe("");
    expect(version.stdout.trim()).toBe(Bun.version);
    expect(version.code).toBe(0);
  });

  test("the runtime serves HTTP on loopback, writes to TMPDIR and reads the CA bundle inside the root", async () => {
    const root = hostRoot;
    await writeFile(
      join(root, "probe.ts"),
      `import { readFileSync } from "node:fs";
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("pong") });
const body = await (await fetch(\`http://127.0.0.1:\${server.port}/\`)).text();
server.stop(true);
const scratch = \`\${process.env.TMPDIR}/probe\`;
await Bun.write(scratch, "written");
const ca = readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
console.log(JSON.stringify({ uid: process.getuid?.(), body, scratch: readFileSync(scratch, "utf8"), ca: ca.includes("BEGIN CERTIFICATE") }));
`,
    );
    const probe = inRootfs(root, ["/pulumi-exporter", "/probe.ts"]);
    expect(probe.stderr).toBe("");
    expect(JSON.parse(probe.stdout)).toEqual({ uid: 65532, body: "pong", scratch: "written", ca: true });
    expect(probe.code).toBe(0);
  });

  test("copies the other architecture's files from a merged-/usr SYSROOT, following its links inside it", async () => {
    const other = HOST_ARCH === "amd64" ? "arm64" : "amd64";
    const sysroot = join(work, "sysroot");
    // Like Debian: /lib and /lib64 link to usr/..., and the loader is an absolute link that only resolves inside
    // the sysroot (on the host it would name the host's own loader, or nothing).
    const inUsr = (path: string) => (/^\/lib(64)?\//.test(path) ? `/usr${path}` : path);
    for (const path of await listedPaths(other)) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      const real = name.startsWith("ld-linux") ? `/usr/lib/${other}-loader/${name}` : inUsr(path);
      await mkdir(join(sysroot, real, ".."), { recursive: true });
      await writeFile(join(sysroot, real), `content of ${path}`);
      if (real !== inUsr(path)) {
        await mkdir(join(sysroot, inUsr(path), ".."), { recursive: true });
        await symlink(real, join(sysroot, inUsr(path)));
      }
    }
    await mkdir(join(sysroot, "usr/lib64"), { recursive: true });
    await symlink("usr/lib", join(sysroot, "lib"));
    await symlink("usr/lib64", join(sysroot, "lib64"));

    const root = join(work, other);
    const assembled = run([ASSEMBLE, other, BUN, root], { SYSROOT: sysroot });
    expect(assembled.stderr).toBe("");
    expect(assembled.code).toBe(0);
    for (const path of await listedPaths(other)) {
      expect((await lstat(join(root, path))).isFile()).toBe(true);
      expect(await readFile(join(root, path), "utf8")).toBe(`content of ${path}`);
    }
  });

  test("names every listed file that is missing and fails", async () => {
    const empty = join(work, "empty-sysroot");
    await mkdir(empty);
    const result = run([ASSEMBLE, "arm64", BUN, join(work, "never")], { SYSROOT: empty });
    expect(result.code).toBe(1);
    const missing = (await listedPaths("arm64")).map(
      (path) => `assemble.sh: ${empty}${path} is missing (listed for arm64 in files.txt)`,
    );
    expect(result.stderr).toBe(
      `${[...missing, "assemble.sh: 6 listed file(s) missing for arm64"].join("\n")}\n`,
    );
  });

  test("rejects an unknown architecture and a missing binary", () => {
    const arch = run([ASSEMBLE, "riscv64", BUN, join(work, "x")]);
    expect([arch.code, arch.stderr]).toEqual([
      2,
      "assemble.sh: unsupported architecture 'riscv64' (expected amd64 or arm64)\n",
    ]);
    const binary = run([ASSEMBLE, "amd64", join(work, "no-such-binary"), join(work, "x")]);
    expect([binary.code, binary.stderr]).toEqual([
      1,
      `assemble.sh: binary '${join(work, "no-such-binary")}' not found\n`,
    ]);
    const usage = run([ASSEMBLE, "amd64"]);
    expect([usage.code, usage.stderr]).toEqual([2, "usage: assemble.sh <amd64|arm64> <binary> <outdir>\n"]);
  });
});
