import { afterEach, describe, expect, test } from "bun:test";
import { createMetricExporter } from "../../src/metrics/exporters.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from "../support/otlp-grpc-receiver.ts";
import { metricNames, metricShape, points, resourceAttributes } from "../support/otlp-points.ts";
import { SAMPLE_EXPECTED, SAMPLE_RESOURCE, type SampleRun, startSample } from "../support/otlp-sample.ts";
import { startByteCountingProxy } from "../support/otlp-tcp-proxy.ts";
import { createTestCertificate, type TestCertificate } from "../support/otlp-tls.ts";

let receiver: OtlpGrpcReceiver | undefined;
let run: SampleRun | undefined;
let certificate: TestCertificate | undefined;

afterEach(async () => {
  await run?.shutdown();
  await receiver?.stop();
  certificate?.cleanup();
  run = undefined;
  receiver = undefined;
  certificate = undefined;
});

const EMPTY = { resourceMetrics: [] };

describe("grpc", () => {
  test("exports every instrument kind with metadata", async () => {
    receiver = await startOtlpGrpcReceiver();
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({
          endpoint: receiver.address,
          insecure: true,
          protocol: "grpc",
          headers: { Authorization: "Bearer wire-test", "X-Scope-OrgID": "tenant-7" },
        }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();

    const [received] = await receiver.waitForExports(1);
    const body = received?.body ?? EMPTY;
    expect(received?.metadata.authorization).toBe("Bearer wire-test");
    expect(received?.metadata["x-scope-orgid"]).toBe("tenant-7");
    expect(received?.metadata["user-agent"]).toContain("OTel-OTLP-Exporter-JavaScript/");
    expect(resourceAttributes(body)).toMatchObject(SAMPLE_RESOURCE);
    expect(metricNames(body)).toEqual([
      "test_ratio",
      "test_stacks",
      "test_update_duration_seconds",
      "test_updates_total",
    ]);
    const simple = (name: keyof typeof SAMPLE_EXPECTED) =>
      points(body, name).map(({ attributes, kind, value }) => ({ attributes, kind, value }));
    expect(simple("test_stacks")).toEqual([...SAMPLE_EXPECTED.test_stacks]);
    expect(simple("test_ratio")).toEqual([...SAMPLE_EXPECTED.test_ratio]);
    expect(simple("test_updates_total")).toEqual([...SAMPLE_EXPECTED.test_updates_total]);
    expect(points(body, "test_update_duration_seconds")).toEqual([
      expect.objectContaining({ ...SAMPLE_EXPECTED.test_update_duration_seconds, kind: "histogram" }),
    ]);
    expect(metricShape(body, "test_updates_total")).toMatchObject({
      type: "sum",
      temporality: 2,
      monotonic: true,
    });
  });

  test("an http:// URL endpoint means plaintext even without insecure", async () => {
    receiver = await startOtlpGrpcReceiver();
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({ endpoint: receiver.url, insecure: false, protocol: "grpc" }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(points(received?.body ?? EMPTY, "test_ratio").map((p) => p.value)).toEqual([0.25]);
  });

  test("gzip compression shrinks what goes on the wire and decodes to the same points", async () => {
    receiver = await startOtlpGrpcReceiver();
    const sent: Record<string, number> = {};
    const blob = "x".repeat(50_000);
    for (const compression of ["none", "gzip"] as const) {
      const proxy = await startByteCountingProxy(receiver.port);
      const sample = startSample(
        await createMetricExporter(
          testOtlpConfig({ endpoint: `http://127.0.0.1:${proxy.port}`, protocol: "grpc", compression }),
        ),
      );
      sample.provider.getMeter("blob").createGauge("test_blob").record(1, { blob });
      await sample.flush();
      await sample.shutdown();
      await proxy.stop();
      sent[compression] = proxy.clientBytes();
    }
    const received = await receiver.waitForExports(2);
    for (const r of received) {
      expect(points(r.body, "test_blob").map((p) => p.attributes.blob?.length)).toEqual([50_000]);
    }
    // 50 kB of one repeated letter gzips to well under 1 kB; the gRPC framing adds a few hundred bytes.
    expect(sent.none).toBeGreaterThan(50_000);
    expect(sent.gzip).toBeLessThan(5_000);
  });

  test("delta temporality sends only what changed", async () => {
    receiver = await startOtlpGrpcReceiver();
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({ endpoint: receiver.url, protocol: "grpc", temporality: "delta" }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    run.instruments.recordSecond();
    await run.flush();
    const [first, second] = await receiver.waitForExports(2);
    expect(metricShape(first?.body ?? EMPTY, "test_updates_total").temporality).toBe(1);
    expect(
      points(second?.body ?? EMPTY, "test_updates_total").map((p) => [p.attributes.result, p.value]),
    ).toEqual([["succeeded", 4]]);
  });

  test("TLS with the CA from certificateFile", async () => {
    certificate = createTestCertificate();
    receiver = await startOtlpGrpcReceiver({ tls: certificate });
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({
          endpoint: `localhost:${receiver.port}`,
          insecure: false,
          protocol: "grpc",
          certificateFile: certificate.certFile,
        }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(points(received?.body ?? EMPTY, "test_stacks").map((p) => p.value)).toEqual([42, 7]);
  });
});
