/**
 * The start-up check through the compiled binary: a rejected token, an organization the token cannot see (with a
 * did-you-mean), no usable organization, `check` passing and failing, and a mistyped command; exact lines and exit
 * codes, never the token.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { launcher, runToExit, spawnExporter } from "../support/e2e-process.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";

setDefaultTimeout(30_000);

const TOKEN = "pul-e2e-startup-check-4b1f09c7d2";
const WRONG = "pul-e2e-wrong-token-9a7e31c05b";

let sim: RunningSimulator;
let receiver: OtlpHttpReceiver;
beforeAll(async () => {
  await launcher("binary");
  sim = await startSimulator({ seed: 5, orgs: 2, stacks: 4, token: TOKEN });
  receiver = startOtlpHttpReceiver({ format: "protobuf" });
}, 120_000);
afterAll(async () => {
  await sim.stop();
  await receiver.stop();
});

const base = () => [`--pulumi.api-url=${sim.url}`, "--web.listen-address=127.0.0.1:0", "--no-otlp.enabled"];

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("error: "));
}

describe("run: the start-up check", () => {
  test("a rejected token: one line with the status and the token's source, exit 1", async () => {
    const { code, stdout, stderr } = await runToExit(
      await launcher("binary"),
      ["run", ...base(), "--pulumi.organizations=org-1"],
      { env: { PULUMI_ACCESS_TOKEN: WRONG } },
    );
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(errorLines(stderr)).toEqual([
      "error: the Pulumi access token from env PULUMI_ACCESS_TOKEN was rejected: HTTP 401 Unauthorized; check that it is valid and not expired or revoked",
    ]);
    expect(stderr).not.toContain("collection cycle finished");
    expect(stderr).not.toContain(WRONG);
  });

  test("an organization the token cannot see: one error line with a did-you-mean; the others are collected", async () => {
    const child = spawnExporter(
      await launcher("binary"),
      [
        "run",
        ...base(),
        "--pulumi.organizations=org-1,org-22",
        "--pulumi.collect-interval=1h",
        "--log.level=debug",
      ],
      { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
    );
    try {
      await child.waitForOutput(/msg="collection cycle finished".*orgs=2 orgs_listed=1/, 20_000);
      const lines = child.stderr().split("\n");
      expect(lines.filter((line) => line.includes("not visible to the token"))).toHaveLength(1);
      expect(lines.find((line) => line.includes("not visible to the token"))?.replace(/^time=\S+ /, "")).toBe(
        'level=error msg="organization org-22: not visible to the token; did you mean org-2? It can see: org-1, org-2. Collecting the others; org-22 is reported as down"',
      );
      expect(lines.find((line) => line.includes("token verified"))?.replace(/^time=\S+ /, "")).toBe(
        'level=debug msg="token verified" user=sim-operator organizations=org-1',
      );
      const metrics = await (await fetch(`${await child.url()}/metrics`)).text();
      expect(metrics).toContain("\npulumi_exporter_up 0\n");
    } finally {
      await child.stop();
    }
    expect(child.stderr()).not.toContain(TOKEN);
  });

  test("no usable organization: one line naming them and what the token sees, exit 1", async () => {
    const { code, stderr } = await runToExit(
      await launcher("binary"),
      ["run", ...base(), "--pulumi.organizations=acme,globex"],
      { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
    );
    expect(code).toBe(1);
    expect(errorLines(stderr)).toEqual([
      "error: none of the configured organizations (acme, globex) is visible to the token; it can see: org-1, org-2",
    ]);
  });
});

describe("check", () => {
  test("all pass: one ok line per check, exit 0", async () => {
    const { code, stdout, stderr } = await runToExit(
      await launcher("binary"),
      [
        "check",
        `--pulumi.api-url=${sim.url}`,
        "--pulumi.organizations=org-1,org-2",
        "--web.listen-address=127.0.0.1:0",
        `--otlp.endpoint=${receiver.url}`,
      ],
      { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toBe(
      [
        "ok   token: user sim-operator, organizations: org-1, org-2",
        "ok   organization org-1",
        "ok   organization org-2",
        `ok   otlp: exported to ${receiver.metricsUrl} (http/protobuf)`,
        "ok   listen: 127.0.0.1:0 can be bound",
        "",
      ].join("\n"),
    );
    expect(receiver.attempts.length).toBeGreaterThanOrEqual(1);
  });

  test("a failure: the FAIL line says what and what to try, exit 1", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const closedPort = closed.port;
    closed.stop(true);
    try {
      const { code, stdout } = await runToExit(
        await launcher("binary"),
        [
          "check",
          `--pulumi.api-url=${sim.url}`,
          `--pulumi.access-token=${TOKEN}`,
          "--pulumi.organizations=org-1,org-3x",
          `--web.listen-address=127.0.0.1:${taken.port}`,
          `--otlp.endpoint=http://127.0.0.1:${closedPort}`,
          "--otlp.timeout=2s",
        ],
        {},
      );
      expect(code).toBe(1);
      const lines = stdout.trimEnd().split("\n");
      expect(lines.slice(0, 3)).toEqual([
        "ok   token: user sim-operator, organizations: org-1, org-2",
        "ok   organization org-1",
        "FAIL organization org-3x: not visible to the token; did you mean org-1?",
      ]);
      expect(lines[3]).toStartWith(
        `FAIL otlp: export to http://127.0.0.1:${closedPort}/v1/metrics failed: connect ECONNREFUSED`,
      );
      expect(lines[4]).toStartWith(`FAIL listen: cannot listen on "127.0.0.1:${taken.port}": `);
      expect(lines).toHaveLength(5);
      expect(stdout).not.toContain(TOKEN);
    } finally {
      taken.stop(true);
    }
  });

  test("a rejected token: the FAIL line names its source", async () => {
    const { code, stdout } = await runToExit(
      await launcher("binary"),
      ["check", ...base(), "--pulumi.organizations=org-1", `--pulumi.access-token=${WRONG}`],
      {},
    );
    expect(code).toBe(1);
    expect(stdout).toBe(
      "FAIL token: the Pulumi access token from flag --pulumi.access-token was rejected: HTTP 401 Unauthorized; check that it is valid and not expired or revoked\nok   listen: 127.0.0.1:0 can be bound\n",
    );
  });
});

describe("a mistyped command", () => {
  test("names itself and the commands, without the required-option errors; exit 2", async () => {
    const { code, stdout, stderr } = await runToExit(await launcher("binary"), ["rn"], {});
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toBe(
      'invalid configuration:\n  - unknown command "rn"; commands: run, demo, check (did you mean run?)\n',
    );
  });
});
