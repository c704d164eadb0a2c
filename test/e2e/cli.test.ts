/**
 * The command line of the compiled binary (and, where cheap, of the source): configuration errors exit 2 listing
 * every problem, runtime errors exit 1 with one line, neither with a stack trace or the access token; `--version`
 * prints what the build embedded; `--help` never prints a current value.
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { e2eBinary } from "../support/e2e-binary.ts";
import { LAUNCHERS, launcher, runToExit } from "../support/e2e-process.ts";

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(30_000);

const TOKEN = "pul-e2e-cli-token-7d41c0b9e2aa";
beforeAll(async () => {
  await launcher("binary");
}, 120_000);

const STACK_FRAME = /^\s+at /m;

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe("configuration errors", () => {
  test.each(LAUNCHERS)(
    "%s: exit 2 with every problem of flags and environment, no trace, no token",
    async (name) => {
      const { code, stdout, stderr } = await runToExit(
        await launcher(name),
        [
          "run",
          "--pulumi.organizations=acme",
          "--pulumi.collect-interval=banana",
          `--otlp.protocol=${TOKEN}`,
          "--log.level=loud",
          "--pulumi.max-concurrency=0",
          `--web.listen-address=${TOKEN}`,
          "--bogus-flag",
        ],
        {
          env: {
            PULUMI_ACCESS_TOKEN: TOKEN,
            PULUMI_REQUEST_TIMEOUT: "soon",
            OTEL_EXPORTER_OTLP_COMPRESSION: "zstd",
          },
        },
      );
      expect(code).toBe(2);
      expect(stdout).toBe("");
      const lines = stderr.trimEnd().split("\n");
      expect(lines[0]).toBe("invalid configuration:");
      const problems = lines.slice(1);
      // One line per problem, each naming where the bad value came from.
      expect(problems.map((line) => line.replace(/^ {2}- ([^:]+?)(:.*)?$/, "$1")).sort()).toEqual(
        [
          "unknown flag --bogus-flag",
          "--pulumi.collect-interval",
          "--otlp.protocol",
          "--log.level",
          "--pulumi.max-concurrency",
          "--web.listen-address",
          "PULUMI_REQUEST_TIMEOUT",
          "OTEL_EXPORTER_OTLP_COMPRESSION",
        ].sort(),
      );
      expect(problems.find((line) => line.includes("--otlp.protocol"))).toContain('(got "[REDACTED]")');
      expect(problems.find((line) => line.includes("--web.listen-address"))).toContain('(got "[REDACTED]")');
      expect(problems.find((line) => line.includes("--log.level"))).toContain('(got "loud")');
      // A choice of two values reads like any other: the option named once.
      expect(problems).toContain('  - OTEL_EXPORTER_OTLP_COMPRESSION: must be "gzip" or "none" (got "zstd")');
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(stderr).not.toContain(TOKEN);
    },
  );

  test("binary: a token given by flag is scrubbed from the errors too", async () => {
    const { code, stderr } = await runToExit(await launcher("binary"), [
      `--pulumi.access-token=${TOKEN}`,
      "--pulumi.organizations=acme",
      `--log.format=${TOKEN}`,
    ]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'invalid configuration:\n  - --log.format: must be "json" or "logfmt" (got "[REDACTED]")\n',
    );
  });

  test("binary: a port already taken is a one-line error, exit 1", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    cleanup = () => taken.stop(true);
    const { code, stdout, stderr } = await runToExit(
      await launcher("binary"),
      ["--pulumi.organizations=acme", "--no-otlp.enabled", `--web.listen-address=127.0.0.1:${taken.port}`],
      { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
    );
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const errors = stderr.split("\n").filter((line) => line.startsWith("error: "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`127.0.0.1:${taken.port}`);
    expect(stderr).not.toMatch(STACK_FRAME);
    expect(stderr).not.toContain(TOKEN);
  });
});

describe("--version and --help", () => {
  test("binary: --version prints the version, commit and date the build embedded", async () => {
    const built = await e2eBinary();
    const { code, stdout, stderr } = await runToExit(await launcher("binary"), ["--version"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toBe(
      `pulumi-exporter ${built.info.version} (commit ${built.info.commit}, built ${built.info.date})\n`,
    );
    expect(built.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(built.info.commit).toMatch(/^([0-9a-f]{7,}|unknown)$/);
    expect(Number.isNaN(Date.parse(built.info.date))).toBe(false);
  });

  test("source: --version says it is an unreleased build", async () => {
    const { code, stdout } = await runToExit(await launcher("source"), ["--version"]);
    expect(code).toBe(0);
    expect(stdout).toBe("pulumi-exporter 0.1.0-dev (commit unknown, built unknown)\n");
  });

  test.each(LAUNCHERS)(
    "%s: --help lists the flags but not the token from the environment or a flag",
    async (name) => {
      const { code, stdout, stderr } = await runToExit(
        await launcher(name),
        [`--pulumi.access-token=${TOKEN}x`, "--help"],
        { env: { PULUMI_ACCESS_TOKEN: TOKEN, PULUMI_ORGANIZATIONS: "acme" } },
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toStartWith("Usage: pulumi-exporter [run|demo|check] [flags]\n");
      for (const flag of [
        "--pulumi.access-token=",
        "--otlp.endpoint=",
        "--web.listen-address=",
        "--config.file=",
      ])
        expect(stdout).toContain(flag);
      expect(stdout).not.toContain(TOKEN);
      expect(stdout).not.toContain("acme");
    },
  );
});
