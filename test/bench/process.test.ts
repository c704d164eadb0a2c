import { describe, expect, test } from "bun:test";
import { spawnExporter } from "../../bench/exporter-process.ts";
import { countDataPoints, startOtlpSink } from "../../bench/otlp-sink.ts";
import { requestType } from "../support/otlp-proto.ts";

/** A stand-in child that logs like the exporter: JSON lines on stderr, a non-JSON line, then waits for a signal. */
const CHILD = `
const log = (msg, fields) => process.stderr.write(JSON.stringify({ time: "t", level: "info", msg, ...fields }) + "\\n");
process.on("SIGTERM", () => { log("stopped", {}); process.exit(3); });
log("serving HTTP", { address: "127.0.0.1:1" });
log("collection cycle finished", { duration_ms: 10 });
process.stderr.write("not json\\n");
log("collection cycle finished", { duration_ms: 20 });
setInterval(() => {}, 1000);
`;

describe("spawnExporter", () => {
  test("log lines by message and count, CPU and memory from /proc, SIGTERM and the exit code", async () => {
    const child = spawnExporter({ command: [process.execPath, "-e", CHILD], env: {}, sampleEveryMs: 20 });
    try {
      const second = await child.waitForLine("collection cycle finished", 2, 5_000);
      expect(second.fields).toEqual({ time: "t", duration_ms: 20 });
      expect(second.level).toBe("info");
      expect(second.at).toBeGreaterThanOrEqual(child.spawnedAt);
      expect(child.count("collection cycle finished")).toBe(2);
      expect(child.rawLines).toEqual(["not json"]);
      expect(child.cpuSeconds()).toBeGreaterThanOrEqual(0);
      const memory = child.memory();
      expect(memory.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(memory.peakRssBytes).toBeGreaterThanOrEqual(memory.rssBytes);
      expect(child.memorySamples.length).toBeGreaterThanOrEqual(1);
    } finally {
      expect(await child.stop()).toBe(3);
    }
    expect(child.count("stopped")).toBe(1);
  });

  test("waiting past the end names the line it waited for and what came last", async () => {
    const child = spawnExporter({ command: [process.execPath, "-e", CHILD], env: {} });
    try {
      await child.waitForLine("collection cycle finished", 2, 5_000);
      await expect(child.waitForLine("collection cycle finished", 3, 50)).rejects.toThrow(
        'timed out after 50 ms waiting for "collection cycle finished" #3',
      );
    } finally {
      await child.stop();
    }
    await expect(child.waitForLine("never", 1, 5_000)).rejects.toThrow(
      'the exporter exited (code 3) before "never" #1',
    );
  });
});

describe("OTLP sink", () => {
  test("stamps each export, keeps the latest body and counts its data points per metric", async () => {
    const sink = startOtlpSink();
    try {
      const type = requestType();
      const point = (value: number) => ({ asInt: value, attributes: [] });
      const body = type
        .encode(
          type.fromObject({
            resourceMetrics: [
              {
                scopeMetrics: [
                  {
                    metrics: [
                      { name: "pulumi_stack_resource_count", gauge: { dataPoints: [point(1), point(2)] } },
                      { name: "pulumi_update_total", sum: { dataPoints: [point(3)], isMonotonic: true } },
                      { name: "pulumi_stack_resource_count", gauge: { dataPoints: [point(4)] } },
                    ],
                  },
                ],
              },
            ],
          }),
        )
        .finish();
      const before = performance.now();
      const response = await fetch(`${sink.url}/v1/metrics`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body,
      });
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
      const exports = await sink.waitForExports(1, 1_000);
      expect(exports).toHaveLength(1);
      expect(exports[0]?.size).toBe(body.byteLength);
      expect(exports[0]?.at).toBeGreaterThanOrEqual(before);
      expect(countDataPoints(sink.lastBody as Uint8Array)).toEqual(
        new Map([
          ["pulumi_stack_resource_count", 3],
          ["pulumi_update_total", 1],
        ]),
      );
      expect((await fetch(`${sink.url}/v1/traces`, { method: "POST", body: "x" })).status).toBe(404);
      await expect(sink.waitForExports(2, 30)).rejects.toThrow(
        "timed out after 30 ms waiting for OTLP export #2",
      );
    } finally {
      await sink.stop();
    }
  });
});
