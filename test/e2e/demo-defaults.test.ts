/**
 * `demo` as a first-time operator runs it: on loopback unless told otherwise. One test binds 127.0.0.1:8080, the
 * demo's own default, because that is what it checks; the others take a free port.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../../scripts/build.ts";
import { type ExporterProcess, launcher, runToExit, spawnExporter } from "../support/e2e-process.ts";

setDefaultTimeout(30_000);

let child: ExporterProcess | undefined;
afterEach(async () => {
  await child?.stop();
  child = undefined;
});

/** Log lines at warn or error, without their timestamps. */
function problemLines(process: ExporterProcess): string[] {
  return `${process.stdout()}\n${process.stderr()}`
    .split("\n")
    .filter((line) => line.includes("level=warn") || line.includes("level=error"))
    .map((line) => line.replace(/^time=\S+ /, ""));
}

/** /metrics once the first collection cycle has ended, as its log line says: no polling of the endpoint. */
async function metricsAfterFirstCycle(process: ExporterProcess, url: string): Promise<string> {
  await process.waitForOutput(/msg="collection cycle finished"/, 20_000);
  return (await fetch(`${url}/metrics`)).text();
}

/** The "serving HTTP" log line, without its timestamp. */
async function servingLine(process: ExporterProcess): Promise<string> {
  const [line] = await process.waitForOutput(/^.*msg="serving HTTP".*$/m, 20_000);
  return line.replace(/^time=\S+ /, "");
}

describe("the demo's listen address", () => {
  test("without --web.listen-address the demo serves on 127.0.0.1:8080", async () => {
    child = spawnExporter(await launcher("source"), ["demo"]);
    expect(await servingLine(child)).toBe('level=info msg="serving HTTP" address=127.0.0.1:8080');
  });

  test("an explicit --web.listen-address=:0 still binds every interface", async () => {
    child = spawnExporter(await launcher("source"), ["demo", "--web.listen-address=:0"]);
    expect(await servingLine(child)).toMatch(/^level=info msg="serving HTTP" address=\[::\]:[1-9]\d*$/);
  });
});

describe("near-miss environment variables", () => {
  test("compiled binary: one warning for a typo, none for the Pulumi CLI's variables, no value shown", async () => {
    const binary = await launcher("binary");
    child = spawnExporter(binary, ["demo", "--web.listen-address=127.0.0.1:0"], {
      env: {
        PULUMI_ORGANISATIONS: "value-not-to-print",
        PULUMI_HOME: "/tmp/pulumi-home",
        PULUMI_BACKEND_URL: "file:///tmp/state",
        PULUMI_CONFIG_PASSPHRASE: "passphrase-not-to-print",
      },
    });
    await child.url(20_000);
    const output = `${child.stdout()}\n${child.stderr()}`;
    expect(problemLines(child)).toEqual([
      'level=warn msg="environment variable PULUMI_ORGANISATIONS is not used; did you mean PULUMI_ORGANIZATIONS?"',
    ]);
    expect(output).not.toContain("not-to-print");
  }, 120_000);
});

describe("near-miss environment variables on a configuration error", () => {
  test("compiled binary: exit 2, the problem, then the hint that explains it", async () => {
    const { code, stdout, stderr } = await runToExit(await launcher("binary"), ["run"], {
      env: { PULUMI_ACCESS_TOKEN: "pul-e2e-env-hints-0123456789", PULUMI_ORGANISATIONS: "acme" },
    });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      [
        "invalid configuration:",
        "  - --pulumi.organizations: at least one organization is required; set --pulumi.organizations, PULUMI_ORGANIZATIONS or pulumi.organizations in the config file",
        "warning: environment variable PULUMI_ORGANISATIONS is not used; did you mean PULUMI_ORGANIZATIONS?",
        "",
      ].join("\n"),
    );
  }, 120_000);
});

describe("config.example.yaml", () => {
  test("demo --config.file=config.example.yaml serves the simulator's organizations, pushes nothing, warns of nothing", async () => {
    // The file sets no address (the demo's default is checked above); a free port keeps 8080 out of this one.
    child = spawnExporter(
      await launcher("source"),
      ["demo", `--config.file=${join(ROOT, "config.example.yaml")}`],
      {
        env: { PULUMI_EXPORTER_LISTEN_ADDRESS: "127.0.0.1:0" },
      },
    );
    const url = await child.url(20_000);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const metrics = await metricsAfterFirstCycle(child, url);
    for (const org of ["org-1", "org-2", "org-3"]) {
      expect(metrics).toMatch(
        new RegExp(`\npulumi_stack_resource_count\\{org="${org}",project="[^"]+",stack="[^"]+"\\} \\d+\n`),
      );
    }
    expect(metrics).not.toContain("my-org");
    expect(child.stdout()).toContain("  OTLP push is off: add --otlp.endpoint=HOST:PORT to push as well\n");
    expect(`${child.stdout()}${child.stderr()}`).not.toContain("pushing metrics over OTLP");
    expect(problemLines(child)).toEqual([]);
  });
});
