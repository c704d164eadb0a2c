import { afterEach, describe, expect, test } from "bun:test";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { OtlpConfig } from "../../src/config/types.ts";
import {
  createMetricExporter,
  describeExportError,
  type ExportFailure,
  instrumentExporter,
} from "../../src/metrics/exporters.ts";
import { OtlpEndpointError } from "../../src/metrics/otlp-endpoint-error.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from "../support/otlp-grpc-receiver.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { type SampleRun, startSample } from "../support/otlp-sample.ts";
import { createTestCertificate, type TestCertificate } from "../support/otlp-tls.ts";

type Outcome = { ok: boolean; failure: ExportFailure | undefined };

let httpReceiver: OtlpHttpReceiver | undefined;
let grpcReceiver: OtlpGrpcReceiver | undefined;
let run: SampleRun | undefined;
let certificate: TestCertificate | undefined;

afterEach(async () => {
  await run?.shutdown();
  await httpReceiver?.stop();
  await grpcReceiver?.stop();
  certificate?.cleanup();
  run = undefined;
  httpReceiver = undefined;
  grpcReceiver = undefined;
  certificate = undefined;
});

/** Exports the sample once through an instrumented exporter and returns every reported outcome. */
async function exportOnce(config: OtlpConfig): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const exporter = instrumentExporter(await createMetricExporter(config), {
    onResult: (ok, failure) => outcomes.push({ ok, failure }),
  });
  run = startSample(exporter);
  run.instruments.recordFirst();
  await run.flush();
  return outcomes;
}

describe("instrumentExporter over HTTP", () => {
  test("a success is reported once", async () => {
    httpReceiver = startOtlpHttpReceiver({ format: "protobuf" });
    expect(await exportOnce(testOtlpConfig({ endpoint: httpReceiver.url }))).toEqual([
      { ok: true, failure: undefined },
    ]);
  });

  test("a 400 is a failure with the backend's message, sent once and not retried", async () => {
    httpReceiver = startOtlpHttpReceiver({ format: "protobuf" });
    httpReceiver.failNext({ status: 400, body: "invalid metric name test_stacks", times: 10 });
    const outcomes = await exportOnce(testOtlpConfig({ endpoint: httpReceiver.url }));
    expect(outcomes).toEqual([
      {
        ok: false,
        failure: {
          message: "HTTP 400 Bad Request: invalid metric name test_stacks",
          code: 400,
          detail: "invalid metric name test_stacks",
        },
      },
    ]);
    expect(httpReceiver.attempts).toHaveLength(1);
    expect(httpReceiver.received).toHaveLength(0);
  });

  test("a 401 over http/json keeps the status and body", async () => {
    httpReceiver = startOtlpHttpReceiver({ format: "json" });
    httpReceiver.failNext({ status: 401, body: '{"code":16,"message":"missing token"}' });
    const outcomes = await exportOnce(testOtlpConfig({ endpoint: httpReceiver.url, protocol: "http/json" }));
    expect(outcomes).toEqual([
      {
        ok: false,
        failure: {
          message: 'HTTP 401 Unauthorized: {"code":16,"message":"missing token"}',
          code: 401,
          detail: '{"code":16,"message":"missing token"}',
        },
      },
    ]);
  });

  test("a 503 with Retry-After: 0 is retried and the export succeeds", async () => {
    httpReceiver = startOtlpHttpReceiver({ format: "protobuf" });
    httpReceiver.failNext({ status: 503, headers: { "retry-after": "0" }, times: 2 });
    const outcomes = await exportOnce(testOtlpConfig({ endpoint: httpReceiver.url }));
    expect(outcomes).toEqual([{ ok: true, failure: undefined }]);
    expect(httpReceiver.attempts.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(httpReceiver.received).toHaveLength(1);
  });

  test("a 503 that never ends is reported as a failure after the exporter's retries", async () => {
    httpReceiver = startOtlpHttpReceiver({ format: "protobuf" });
    httpReceiver.failNext({ status: 503, headers: { "retry-after": "0" }, times: 100 });
    const outcomes = await exportOnce(testOtlpConfig({ endpoint: httpReceiver.url }));
    expect(outcomes).toEqual([
      {
        ok: false,
        failure: {
          message:
            "export failed: the backend answered with a retryable status (429, 502, 503 or 504) and the exporter gave up",
          code: undefined,
          detail: undefined,
        },
      },
    ]);
    // One attempt and the exporter's five retries.
    expect(httpReceiver.attempts.map((a) => a.status)).toEqual([503, 503, 503, 503, 503, 503]);
  });

  test("nothing listening is a failure naming the connection error", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = closed.port;
    await closed.stop(true);
    const outcomes = await exportOnce(testOtlpConfig({ endpoint: `127.0.0.1:${port}`, timeoutMs: 300 }));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.ok).toBe(false);
    expect(outcomes[0]?.failure?.message).toContain("ECONNREFUSED");
  });

  test("HTTPS with an untrusted certificate fails when no CA is given", async () => {
    certificate = createTestCertificate();
    httpReceiver = startOtlpHttpReceiver({ format: "protobuf", tls: certificate });
    const outcomes = await exportOnce(
      testOtlpConfig({ endpoint: `127.0.0.1:${httpReceiver.port}`, insecure: false, timeoutMs: 500 }),
    );
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.ok).toBe(false);
    expect(outcomes[0]?.failure?.message).toMatch(/self[- ]signed|certificate/i);
    expect(httpReceiver.received).toHaveLength(0);
  });
});

describe("instrumentExporter over gRPC", () => {
  test("INVALID_ARGUMENT is a failure with the status name and details", async () => {
    grpcReceiver = await startOtlpGrpcReceiver();
    grpcReceiver.failNext({ code: grpcStatus.INVALID_ARGUMENT, details: "bad data point" });
    const outcomes = await exportOnce(testOtlpConfig({ endpoint: grpcReceiver.url, protocol: "grpc" }));
    expect(outcomes).toEqual([
      {
        ok: false,
        failure: { message: "gRPC INVALID_ARGUMENT: bad data point", code: 3, detail: "bad data point" },
      },
    ]);
    expect(grpcReceiver.attempts).toEqual([{ code: grpcStatus.INVALID_ARGUMENT, details: "bad data point" }]);
  });

  test("UNAVAILABLE is reported, and the next export succeeds", async () => {
    grpcReceiver = await startOtlpGrpcReceiver();
    grpcReceiver.failNext({ code: grpcStatus.UNAVAILABLE, details: "overloaded" });
    const outcomes: Outcome[] = [];
    run = startSample(
      instrumentExporter(
        await createMetricExporter(testOtlpConfig({ endpoint: grpcReceiver.url, protocol: "grpc" })),
        {
          onResult: (ok, failure) => outcomes.push({ ok, failure }),
        },
      ),
    );
    run.instruments.recordFirst();
    await run.flush();
    await run.flush();
    expect(outcomes).toEqual([
      { ok: false, failure: { message: "gRPC UNAVAILABLE: overloaded", code: 14, detail: "overloaded" } },
      { ok: true, failure: undefined },
    ]);
    expect(grpcReceiver.received).toHaveLength(1);
  });

  test("TLS with an untrusted certificate fails when no CA is given", async () => {
    certificate = createTestCertificate();
    grpcReceiver = await startOtlpGrpcReceiver({ tls: certificate });
    const outcomes = await exportOnce(
      testOtlpConfig({ endpoint: `localhost:${grpcReceiver.port}`, insecure: false, protocol: "grpc" }),
    );
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.failure?.code).toBe(grpcStatus.UNAVAILABLE);
    expect(grpcReceiver.received).toHaveLength(0);
  });
});

describe("createMetricExporter", () => {
  test("an unreadable CA file is a clear error", async () => {
    const run = () =>
      createMetricExporter(
        testOtlpConfig({ endpoint: "https://127.0.0.1:4318", certificateFile: "/nonexistent/ca.pem" }),
      );
    expect(run()).rejects.toThrow(OtlpEndpointError);
    expect(run()).rejects.toThrow("cannot read the OTLP certificateFile /nonexistent/ca.pem: ENOENT");
  });

  test("a bad endpoint is a clear error", async () => {
    expect(createMetricExporter(testOtlpConfig({ endpoint: "" }))).rejects.toThrow("OTLP endpoint is empty");
  });
});

describe("describeExportError", () => {
  test("an error without code keeps its message", () => {
    expect(describeExportError(new Error("socket hang up"))).toEqual({
      message: "socket hang up",
      code: undefined,
      detail: undefined,
    });
  });

  test("a missing error still gives a message", () => {
    expect(describeExportError(undefined).message).toBe("export failed without an error");
  });

  test("a long body is cut to one line of 512 characters", () => {
    const error = Object.assign(new Error("Bad Request"), {
      code: 400,
      data: `line one\n${"y".repeat(1000)}`,
    });
    const failure = describeExportError(error);
    expect(failure.detail).toHaveLength(513);
    expect(failure.detail).toStartWith("line one yyy");
    expect(failure.detail).toEndWith("…");
  });
});
