import { afterEach, describe, expect, test } from "bun:test";
import { createMetricExporter } from "../../src/metrics/exporters.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { metricNames, metricShape, points, resourceAttributes } from "../support/otlp-points.ts";
import { SAMPLE_EXPECTED, SAMPLE_RESOURCE, type SampleRun, startSample } from "../support/otlp-sample.ts";
import { createTestCertificate, type TestCertificate } from "../support/otlp-tls.ts";

const CUMULATIVE = 2;
const DELTA = 1;

let receiver: OtlpHttpReceiver | undefined;
let run: SampleRun | undefined;

afterEach(async () => {
  await run?.shutdown();
  await receiver?.stop();
  run = undefined;
  receiver = undefined;
});

const formats = [
  { protocol: "http/protobuf", format: "protobuf", contentType: "application/x-protobuf" },
  { protocol: "http/json", format: "json", contentType: "application/json" },
] as const;

describe.each(formats)("$protocol", ({ protocol, format, contentType }) => {
  test("exports every instrument kind as recorded", async () => {
    receiver = startOtlpHttpReceiver({ format });
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({
          endpoint: receiver.url,
          protocol,
          headers: { Authorization: "Bearer wire-test", "X-Scope-OrgID": "tenant-7" },
        }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();

    const [received] = await receiver.waitForExports(1);
    expect(receiver.received).toHaveLength(1);
    if (received === undefined) throw new Error("no export");
    expect(received.path).toBe("/v1/metrics");
    expect(received.contentType).toBe(contentType);
    expect(received.contentEncoding).toBeUndefined();
    expect(received.problems).toEqual([]);
    expect(received.headers.authorization).toBe("Bearer wire-test");
    expect(received.headers["x-scope-orgid"]).toBe("tenant-7");
    expect(received.headers["user-agent"]).toStartWith("OTel-OTLP-Exporter-JavaScript/");

    expect(resourceAttributes(received.body)).toMatchObject(SAMPLE_RESOURCE);
    expect(received.body.resourceMetrics[0]?.scopeMetrics[0]?.scope).toMatchObject({
      name: "pulumi-exporter-test",
      version: "1.0.0",
    });
    expect(metricNames(received.body)).toEqual([
      "test_ratio",
      "test_stacks",
      "test_update_duration_seconds",
      "test_updates_total",
    ]);

    const simple = (name: keyof typeof SAMPLE_EXPECTED) =>
      points(received.body, name).map(({ attributes, kind, value }) => ({ attributes, kind, value }));
    expect(simple("test_stacks")).toEqual([...SAMPLE_EXPECTED.test_stacks]);
    expect(simple("test_ratio")).toEqual([...SAMPLE_EXPECTED.test_ratio]);
    expect(simple("test_updates_total")).toEqual([...SAMPLE_EXPECTED.test_updates_total]);

    const [histogram, ...others] = points(received.body, "test_update_duration_seconds");
    expect(others).toEqual([]);
    expect(histogram).toMatchObject({ ...SAMPLE_EXPECTED.test_update_duration_seconds, kind: "histogram" });

    expect(metricShape(received.body, "test_stacks")).toEqual({
      type: "gauge",
      temporality: 0,
      monotonic: false,
      unit: "{stack}",
      description: "Stacks per project.",
    });
    expect(metricShape(received.body, "test_updates_total")).toMatchObject({
      type: "sum",
      temporality: CUMULATIVE,
      monotonic: true,
      unit: "{update}",
    });
    expect(metricShape(received.body, "test_update_duration_seconds")).toMatchObject({
      type: "histogram",
      temporality: CUMULATIVE,
      unit: "s",
    });
  });

  test("gzip compression arrives compressed and decodes to the same points", async () => {
    receiver = startOtlpHttpReceiver({ format });
    run = startSample(
      await createMetricExporter(testOtlpConfig({ endpoint: receiver.url, protocol, compression: "gzip" })),
    );
    run.instruments.recordFirst();
    await run.flush();

    const [received] = await receiver.waitForExports(1);
    expect(received?.contentEncoding).toBe("gzip");
    expect(received?.problems).toEqual([]);
    expect(points(received?.body ?? { resourceMetrics: [] }, "test_stacks").map((p) => p.value)).toEqual([
      42, 7,
    ]);
    expect(
      points(received?.body ?? { resourceMetrics: [] }, "test_update_duration_seconds")[0]?.bucketCounts,
    ).toEqual([...SAMPLE_EXPECTED.test_update_duration_seconds.bucketCounts]);
  });

  test("cumulative temporality carries totals across exports", async () => {
    receiver = startOtlpHttpReceiver({ format });
    run = startSample(await createMetricExporter(testOtlpConfig({ endpoint: receiver.url, protocol })));
    run.instruments.recordFirst();
    await run.flush();
    run.instruments.recordSecond();
    await run.flush();

    const [, second] = await receiver.waitForExports(2);
    const body = second?.body ?? { resourceMetrics: [] };
    expect(points(body, "test_updates_total").map((p) => [p.attributes.result, p.value])).toEqual([
      ["succeeded", 9],
      ["failed", 1],
    ]);
    expect(points(body, "test_update_duration_seconds")[0]).toMatchObject({
      count: 5,
      sum: 2063,
      bucketCounts: [1, 2, 0, 1, 0, 0, 0, 0, 1],
    });
  });

  test("delta temporality sends only what changed since the last export", async () => {
    receiver = startOtlpHttpReceiver({ format });
    run = startSample(
      await createMetricExporter(testOtlpConfig({ endpoint: receiver.url, protocol, temporality: "delta" })),
    );
    run.instruments.recordFirst();
    await run.flush();
    run.instruments.recordSecond();
    await run.flush();

    const [first, second] = await receiver.waitForExports(2);
    const firstBody = first?.body ?? { resourceMetrics: [] };
    const secondBody = second?.body ?? { resourceMetrics: [] };
    expect(metricShape(firstBody, "test_updates_total").temporality).toBe(DELTA);
    expect(metricShape(firstBody, "test_update_duration_seconds").temporality).toBe(DELTA);
    expect(points(firstBody, "test_updates_total").map((p) => p.value)).toEqual([5, 1]);
    // The "failed" series did not change, so delta leaves it out.
    expect(points(secondBody, "test_updates_total").map((p) => [p.attributes.result, p.value])).toEqual([
      ["succeeded", 4],
    ]);
    expect(points(secondBody, "test_update_duration_seconds")[0]).toMatchObject({
      count: 1,
      sum: 8,
      bucketCounts: [0, 1, 0, 0, 0, 0, 0, 0, 0],
    });
  });
});

describe("HTTP paths", () => {
  test("a base endpoint with a path gets /v1/metrics appended", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf", path: "/otlp/v1/metrics" });
    run = startSample(await createMetricExporter(testOtlpConfig({ endpoint: `${receiver.url}/otlp/` })));
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(received?.path).toBe("/otlp/v1/metrics");
  });

  test("a seed-style host:port endpoint with insecure uses plain HTTP", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    run = startSample(
      await createMetricExporter(testOtlpConfig({ endpoint: `127.0.0.1:${receiver.port}`, insecure: true })),
    );
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(received?.path).toBe("/v1/metrics");
  });

  test("urlPath replaces the path (Prometheus OTLP receiver)", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf", path: "/api/v1/otlp/v1/metrics" });
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({ endpoint: receiver.url, urlPath: "api/v1/otlp/v1/metrics" }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(received?.path).toBe("/api/v1/otlp/v1/metrics");
    expect(receiver.attempts).toEqual([{ path: "/api/v1/otlp/v1/metrics", status: 200, reason: undefined }]);
  });

  test("metricsEndpoint is used as is", async () => {
    receiver = startOtlpHttpReceiver({ format: "json", path: "/ingest/metrics" });
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({
          endpoint: "127.0.0.1:1",
          metricsEndpoint: `${receiver.url}/ingest/metrics`,
          protocol: "http/json",
        }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(received?.path).toBe("/ingest/metrics");
  });
});

describe("HTTPS", () => {
  let certificate: TestCertificate | undefined;
  afterEach(() => {
    certificate?.cleanup();
    certificate = undefined;
  });

  test.each(formats)("$protocol trusts the CA from certificateFile", async ({ protocol, format }) => {
    certificate = createTestCertificate();
    receiver = startOtlpHttpReceiver({ format, tls: certificate });
    expect(receiver.url).toStartWith("https://");
    run = startSample(
      await createMetricExporter(
        testOtlpConfig({
          endpoint: `127.0.0.1:${receiver.port}`,
          insecure: false,
          protocol,
          certificateFile: certificate.certFile,
        }),
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    const [received] = await receiver.waitForExports(1);
    expect(points(received?.body ?? { resourceMetrics: [] }, "test_stacks").map((p) => p.value)).toEqual([
      42, 7,
    ]);
  });
});
