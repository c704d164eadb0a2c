/**
 * The compiled executable must export over OTLP/gRPC. The gRPC exporter loads @grpc/grpc-js lazily; if the bundler
 * cannot see that load (ESM builds do it through createRequire), the executable fails to load the module at run
 * time and the SDK swallows the error: the receiver gets nothing. scripts/build.ts rewrites such loads into static
 * imports; these tests compile real executables and check what arrives.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildInfo, compile } from "../../scripts/build.ts";
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from "../support/otlp-grpc-receiver.ts";
import { points, resourceAttributes } from "../support/otlp-points.ts";

const INFO: BuildInfo = { version: "1.2.3-test", commit: "abc1234", date: "2030-01-02T03:04:05.000Z" };

let dir: string;
let probe: string;
let fixture: string;
let receiver: OtlpGrpcReceiver | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grpc-binary-"));
  probe = await compile({
    entry: "test/support/otlp-grpc-probe.ts",
    outfile: join(dir, "probe"),
    info: INFO,
  });
  fixture = await compile({
    entry: "test/build/fixtures/create-require-grpc.mjs",
    outfile: join(dir, "create-require"),
    info: INFO,
    rewriteFilter: /create-require-grpc\.mjs$/,
  });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

/** Runs a compiled executable away from the repository (no node_modules to fall back on), with an empty env. */
async function runBinary(
  path: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([path, ...args], { cwd: dir, env: {}, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

describe("compiled executable", () => {
  test("exports a metric over gRPC to a real receiver", async () => {
    receiver = await startOtlpGrpcReceiver();
    const { code, stdout, stderr } = await runBinary(probe, [receiver.address]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(stdout) as { outcomes: { ok: boolean }[] };
    expect(report.outcomes.length).toBeGreaterThan(0);
    expect(report.outcomes.every((o) => o.ok)).toBe(true);

    const [received] = await receiver.waitForExports(1);
    expect(received?.metadata["x-probe"]).toBe("compiled");
    const body = received?.body ?? { resourceMetrics: [] };
    expect(resourceAttributes(body)["service.name"]).toBe("otlp-grpc-probe");
    expect(
      points(body, "probe_value").map(({ attributes, kind, value }) => ({ attributes, kind, value })),
    ).toEqual([{ attributes: { probe: "grpc" }, kind: "int", value: 7 }]);
  });

  test("embeds version, commit and build date", async () => {
    receiver = await startOtlpGrpcReceiver();
    const { stdout } = await runBinary(probe, [receiver.address]);
    expect(JSON.parse(stdout)).toMatchObject({
      version: "1.2.3-test",
      commit: "abc1234",
      buildDate: "2030-01-02T03:04:05.000Z",
    });
  });

  test("a createRequire load of @grpc/grpc-js is bundled by the build plugin", async () => {
    const { code, stdout } = await runBinary(fixture, []);
    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: "loaded secure=false" });
  });
});
