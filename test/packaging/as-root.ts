import { readFileSync } from "node:fs";

/** Runs commands as root: chroot, unshare and mount need it. CI machines run as root, GitHub runners have sudo. */
export const AS_ROOT: readonly string[] = process.getuid?.() === 0 ? [] : ["sudo", "-n"];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string[], env: Record<string, string> = {}): RunResult {
  const result = Bun.spawnSync(cmd, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

export function runAsRoot(cmd: string[]): RunResult {
  return run([...AS_ROOT, ...cmd]);
}

export const CHROOT = Bun.which("chroot", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }) ?? "chroot";

/**
 * The command that runs `args` inside the root filesystem `root` the way a container runtime with
 * readOnlyRootFilesystem would: private mount and PID namespaces, the root bind-mounted read-only, a tmpfs on
 * /tmp, /proc mounted (Bun reads it), an empty environment but HOME and TMPDIR, and uid/gid 65532.
 * Killing the returned process kills everything inside.
 */
export function containerCommand(root: string, args: string[]): string[] {
  const script = [
    "set -e",
    'mount --bind "$0" "$0"',
    'mount -o remount,bind,ro "$0"',
    'mount -t tmpfs -o mode=1777 tmpfs "$0/tmp"',
    'mount -t proc proc "$0/proc"',
    `exec env -i HOME=/home/nonroot TMPDIR=/tmp ${CHROOT} --userspec=65532:65532 "$0" "$@"`,
  ].join("\n");
  return [
    ...AS_ROOT,
    "unshare",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "sh",
    "-c",
    script,
    root,
    ...args,
  ];
}

function children(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.trim() === "" ? [] : text.trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/**
 * Stops what {@link containerCommand} started. unshare ignores SIGTERM and its --kill-child does not survive
 * chroot's change of user, so the namespace's first process gets SIGKILL, which ends everything in the namespace.
 */
export async function stopContainer(process: Bun.Subprocess): Promise<void> {
  const tree: number[] = [];
  const walk = (pid: number, depth: number) => {
    if (depth > 8) return;
    tree.push(pid);
    for (const child of children(pid)) walk(child, depth + 1);
  };
  walk(process.pid, 0);
  // Deepest first: the exporter, then unshare, then sudo where there is one.
  for (const pid of tree.reverse()) runAsRoot(["kill", "-KILL", String(pid)]);
  await process.exited;
}
