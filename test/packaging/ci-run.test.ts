/**
 * `.ci/run` on a machine without Prometheus, Chromium, qemu-user or the arm64 C library, with every command it runs replaced by a stub that logs its call: the
 * Debian package's service is kept from starting by a policy-rc.d that exits 101 during the install only, any
 * previous policy is put back, and no process is killed by name.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/build.ts";

/** Real tools the script needs besides the stubbed commands. */
const TOOLS = ["dirname", "mktemp", "rm", "mv", "chmod", "cat", "grep", "tail", "tee"];

let dir: string;
let bin: string;
let policy: string;
let calls: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ci-run-"));
  bin = join(dir, "bin");
  policy = join(dir, "policy-rc.d");
  calls = join(dir, "calls.log");
  mkdirSync(bin);
  for (const tool of TOOLS) {
    const path = Bun.which(tool);
    if (!path) throw new Error(`${tool} is not installed`);
    symlinkSync(path, join(bin, tool));
  }
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >>"$CALLS"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub("npm", `[ "$2" = test:fresh ] && printf ' 3 pass\\n 0 fail\\n'\nexit 0`);
  stub("git", "exit 0");
  // scripts/actionlint.sh runs through `bash` from PATH.
  stub("bash", "exit 0");
  stub("pkill", "exit 0");
  stub("dpkg", "exit 0");
  stub("killall", "exit 0");
  // What a package's maintainer script does before it starts a service: ask the policy.
  stub(
    "apt-get",
    `if [ "$1" = install ]; then
  if [ -e "$CI_POLICY_RC" ]; then "$CI_POLICY_RC" prometheus start; echo "policy-rc.d says $?" >>"$CALLS"
  else echo "no policy-rc.d" >>"$CALLS"; fi
  exit "\${INSTALL_EXIT:-0}"
fi
exit 0`,
  );
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(env: Record<string, string> = {}) {
  const result = Bun.spawnSync(["/bin/bash", join(ROOT, ".ci", "run")], {
    cwd: dir,
    env: { PATH: bin, CALLS: calls, CI_POLICY_RC: policy, CI_ARM64_LIBC: arm64Libc(), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    code: result.exitCode,
    stdout: result.stdout.toString(),
    stderr: result.stderr.toString(),
    calls: readFileSync(calls, "utf8").trimEnd().split("\n"),
  };
}

/** Where the script looks for the arm64 C library: absent here, so it is installed. */
function arm64Libc(): string {
  return join(dir, "no-arm64", "libc.so.6");
}

const PACKAGES = "prometheus chromium qemu-user libc6:arm64";
const INSTALL_CALLS = [
  "dpkg --add-architecture arm64",
  "apt-get update -qq",
  `apt-get install -y -qq --no-install-recommends ${PACKAGES}`,
  "policy-rc.d says 101",
];

describe(".ci/run installing Prometheus", () => {
  test("forbids service starts during the install only, and kills nothing", () => {
    const { code, stdout, calls } = run();
    expect(code).toBe(0);
    expect(stdout.trimEnd().split("\n").at(-1)).toBe("3 passed, 0 failed");
    expect(
      calls.filter(
        (c) =>
          c.startsWith("dpkg") || c.startsWith("apt-get") || c.startsWith("policy") || c.startsWith("no "),
      ),
    ).toEqual(INSTALL_CALLS);
    expect(calls.filter((c) => c.startsWith("pkill") || c.startsWith("killall"))).toEqual([]);
    expect(existsSync(policy)).toBe(false);
  });

  test("puts a previous policy-rc.d back as it was", () => {
    const previous = "#!/bin/sh\n# the machine's own policy\nexit 0\n";
    writeFileSync(policy, previous);
    chmodSync(policy, 0o700);
    const { code, calls } = run();
    expect(code).toBe(0);
    expect(calls.filter((c) => c.startsWith("policy"))).toEqual(["policy-rc.d says 101"]);
    expect(readFileSync(policy, "utf8")).toBe(previous);
    expect(statSync(policy).mode & 0o777).toBe(0o700);
  });

  test("a failed install stops the run and still restores the policy", () => {
    writeFileSync(policy, "#!/bin/sh\nexit 0\n");
    chmodSync(policy, 0o755);
    const { code, stdout, stderr, calls } = run({ INSTALL_EXIT: "100" });
    expect(code).toBe(1);
    expect(stderr).toBe(`installing ${PACKAGES} failed\n`);
    expect(stdout.trimEnd().split("\n").at(-1)).toBe("0 passed, 1 failed");
    expect(calls.filter((c) => c.startsWith("npm run"))).toEqual([]);
    expect(readFileSync(policy, "utf8")).toBe("#!/bin/sh\nexit 0\n");
  });
});

describe("npm run test:fresh", () => {
  test("runs the same install before the tests", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts["test:fresh"]).toBe("bash scripts/install-test-deps.sh && npm test");
  });

  test("without root it says what it cannot install and why, and installs nothing", () => {
    chmodSync(dir, 0o755);
    const result = Bun.spawnSync(
      [
        "/usr/bin/setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "/bin/bash",
        join(ROOT, "scripts", "install-test-deps.sh"),
      ],
      {
        env: { PATH: bin, CALLS: calls, CI_POLICY_RC: policy, CI_ARM64_LIBC: arm64Libc() },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toBe(
      `installing ${PACKAGES} needs root: run as root (or with sudo), or install them with apt-get\n`,
    );
    expect(existsSync(calls)).toBe(false);
  });
});
