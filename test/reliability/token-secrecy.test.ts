/**
 * The access token never shows: not in log lines (any level, both formats), errors, /metrics, /metrics-preview,
 * --help, or what a failing start prints, while faults fire and even when the API echoes the token back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type ExporterProcess, runCli, spawnExporter } from "../support/reliability-process.ts";

const TOKEN = "pul-secrecy-7f3a9c2e41b86d05";
const WRONG = "pul-wrong-token-5e0d44c1a9";

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 9, orgs: 2, stacks: 10, updatesPerStack: 5, token: TOKEN });
});
afterAll(() => sim.stop());

let running: ExporterProcess | undefined;
afterEach(async () => {
  await running?.kill9();
  running = undefined;
  sim.clearFaults();
});

/** A port nothing listens on. */
function closedPort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = server.port ?? 0;
  server.stop(true);
  return port;
}

/** Everything the exporter serves, as text. */
async function pages(url: string): Promise<string[]> {
  const paths = [
    "/",
    "/metrics",
    "/metrics-preview",
    "/metrics-preview?format=json",
    "/healthz",
    "/readyz",
    "/readyz?verbose",
  ];
  return Promise.all(
    paths.map(async (path) => {
      const response = await fetch(`${url}${path}`);
      return `${path} ${response.status}\n${await response.text()}`;
    }),
  );
}

function cycles(p: ExporterProcess, n: number): Promise<Record<string, string>> {
  let seen = 0;
  return p.waitForLine((f) => f.msg === "collection cycle finished" && ++seen === n);
}

describe("the access token", () => {
  test("stays out of logs, errors and pages while faults fire and the API echoes it", async () => {
    sim.setFaults([
      {
        type: "status",
        status: 403,
        operation: "ListTeams",
        org: "org-1",
        message: `token ${TOKEN} lacks access`,
      },
      {
        type: "status",
        status: 400,
        operation: "ListPolicyGroups",
        message: `bad request for token=${TOKEN}`,
      },
      { type: "malformed-json", operation: "ListTasks", times: 1 },
      { type: "invalid-item", operation: "ListUserStacks", times: 1 },
      { type: "reset", operation: "GetStackUpdates", times: 2 },
      { type: "hang", operation: "ListOrgEnvironments_esc", times: 1 },
      { type: "status", status: 429, retryAfter: 0, operation: "OrgDeploymentsMetadata", times: 1 },
    ]);
    running = spawnExporter(
      [
        "run",
        "--pulumi.organizations=org-1,org-2",
        `--pulumi.api-url=${sim.url}`,
        "--pulumi.collect-interval=1s",
        "--pulumi.request-timeout=300ms",
        "--log.level=debug",
        "--web.listen-address=127.0.0.1:0",
        `--otlp.endpoint=http://127.0.0.1:${closedPort()}`,
        "--otlp.timeout=300ms",
      ],
      { PULUMI_ACCESS_TOKEN: TOKEN },
    );
    const url = await running.url();
    await cycles(running, 2);
    const served = await pages(url);
    expect(await running.stop()).toBe(0);
    const output = running.lines.join("\n");

    for (const text of [output, ...served]) expect(text).not.toContain(TOKEN);
    // The faults did fire and the echoed token was there to leak: it was scrubbed.
    expect(output).toContain("ListTeams: HTTP 403 Forbidden (token [REDACTED] lacks access)");
    expect(output).toContain("ListPolicyGroups: HTTP 400 Bad Request (bad request for token=[REDACTED])");
    expect(output).toContain('msg="OTLP export failed"');
    expect(output).toContain('msg="retrying Pulumi Cloud request"');
    const metrics = served.find((page) => page.startsWith("/metrics 200"));
    expect(metrics).toContain('pulumi_exporter_collect_errors_total{operation="ListTeams",org="org-1"} 2\n');
    expect(metrics).toContain('pulumi_exporter_collect_errors_total{operation="ListTeams",org="org-2"} 0\n');
    for (const org of ["org-1", "org-2"])
      expect(metrics).toContain(
        `pulumi_exporter_collect_errors_total{operation="ListPolicyGroups",org="${org}"} 2\n`,
      );
    expect(served.find((page) => page.startsWith("/metrics-preview?format=json 200"))).toBeDefined();
  });

  test("a wrong token given as a flag stops the start with one line (JSON logs) that does not print it", async () => {
    running = spawnExporter([
      "run",
      "--pulumi.organizations=org-1",
      `--pulumi.api-url=${sim.url}`,
      `--pulumi.access-token=${WRONG}`,
      "--pulumi.collect-interval=1s",
      "--log.level=debug",
      "--log.format=json",
      "--web.listen-address=127.0.0.1:0",
      "--no-otlp.enabled",
    ]);
    expect(await running.exited).toBe(1);
    const output = running.lines.join("\n");
    expect(output).not.toContain(WRONG);
    expect(running.lines.filter((line) => line.startsWith("error: "))).toEqual([
      "error: the Pulumi access token from flag --pulumi.access-token was rejected: HTTP 401 Unauthorized; check that it is valid and not expired or revoked",
    ]);
    expect(output).not.toContain("collection cycle finished");
  });

  test("--help, --version, configuration errors and failed starts do not print it", async () => {
    const env = { PULUMI_ACCESS_TOKEN: TOKEN };
    const busy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    try {
      const runs = await Promise.all([
        runCli(["--help"], env),
        runCli(["run", "--help", `--pulumi.access-token=${TOKEN}`], {}),
        runCli(["--version"], env),
        // Configuration errors: a required flag missing; a bad value next to the token flag.
        runCli(["run"], env),
        runCli(["run", `--pulumi.access-token=${TOKEN}`, "--pulumi.collect-interval=soon"], {}),
        // The token where it does not belong: in an unusable API URL.
        runCli(["run", "--pulumi.organizations=acme", `--pulumi.api-url=ftp://${TOKEN}@127.0.0.1/`], env),
        // A start that fails after the configuration loaded: the listen address is taken.
        runCli(
          [
            "run",
            "--pulumi.organizations=acme",
            `--pulumi.api-url=${sim.url}`,
            `--web.listen-address=127.0.0.1:${busy.port}`,
            "--no-otlp.enabled",
          ],
          env,
        ),
      ]);
      for (const { output } of runs) expect(output).not.toContain(TOKEN);
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 2, 2, 2, 1]);
      expect(runs[0]?.output).toContain("--pulumi.access-token");
      expect(runs[3]?.output).toContain("pulumi.organizations");
      expect(runs[4]?.output).toContain("pulumi.collect-interval");
      expect(runs[5]?.output).toContain(
        'must be an http:// or https:// URL (got "ftp://[REDACTED]@127.0.0.1/")',
      );
      expect(runs[6]?.output).toMatch(/^error: cannot listen on /m);
    } finally {
      busy.stop(true);
    }
  });
});
