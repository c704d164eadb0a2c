/**
 * `demo` as a first-time operator runs it: on loopback unless told otherwise. These tests bind 127.0.0.1:8080,
 * the demo's own default, so they run one after the other and stop each process before the next starts.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ExporterProcess, launcher, spawnExporter } from "../support/e2e-process.ts";

setDefaultTimeout(30_000);

let child: ExporterProcess | undefined;
afterEach(async () => {
  await child?.stop();
  child = undefined;
});

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
    const warnings = output
      .split("\n")
      .filter((line) => line.includes("level=warn") || line.includes("level=error"))
      .map((line) => line.replace(/^time=\S+ /, ""));
    expect(warnings).toEqual([
      'level=warn msg="environment variable PULUMI_ORGANISATIONS is not used; did you mean PULUMI_ORGANIZATIONS?"',
    ]);
    expect(output).not.toContain("not-to-print");
  }, 120_000);
});
