/** The wire-test receivers must catch what a real backend would refuse, or the wire tests prove little. */
import { afterEach, describe, expect, test } from "bun:test";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { points } from "../support/otlp-points.ts";
import { decodeJsonRequest, requestType } from "../support/otlp-proto.ts";

const gaugeRequest = (point: Record<string, unknown>) => ({
  resourceMetrics: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "x" } }] },
      scopeMetrics: [{ scope: { name: "s" }, metrics: [{ name: "g", gauge: { dataPoints: [point] } }] }],
    },
  ],
});

describe("decodeJsonRequest", () => {
  test("a conforming OTLP/JSON document has no problems and decodes int64 strings", () => {
    const { request, problems } = decodeJsonRequest(
      gaugeRequest({ timeUnixNano: "1700000000000000001", asInt: "9007199254740993" }),
    );
    expect(problems).toEqual([]);
    expect(request.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.gauge?.dataPoints[0]).toEqual({
      attributes: [],
      exemplars: [],
      timeUnixNano: "1700000000000000001",
      asInt: "9007199254740993",
    });
  });

  test("snake_case keys, string enums, unsafe int64 numbers and wrong types are problems", () => {
    const doc = {
      resource_metrics: [],
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: "s",
                  sum: { aggregationTemporality: "AGGREGATION_TEMPORALITY_DELTA", isMonotonic: "yes" },
                },
                { name: 5, gauge: { dataPoints: [{ asInt: 2 ** 53 + 2, asDouble: "0.5" }] } },
              ],
            },
          ],
        },
      ],
    };
    expect(decodeJsonRequest(doc).problems).toEqual([
      "$.resource_metrics: not a field of ExportMetricsServiceRequest",
      "$.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.aggregationTemporality: enum AggregationTemporality must be an integer",
      "$.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.isMonotonic: bool must be true or false",
      "$.resourceMetrics[0].scopeMetrics[0].metrics[1].name: string must be a string",
      "$.resourceMetrics[0].scopeMetrics[0].metrics[1].gauge.dataPoints[0].asInt: sfixed64 must be a decimal string (got 9007199254740994)",
      "$.resourceMetrics[0].scopeMetrics[0].metrics[1].gauge.dataPoints[0].asDouble: double must be a number",
    ]);
  });
});

describe("OTLP HTTP receiver", () => {
  let receiver: OtlpHttpReceiver | undefined;
  afterEach(async () => {
    await receiver?.stop();
    receiver = undefined;
  });

  const protobufBody = () => {
    const type = requestType();
    return type.encode(type.fromObject(gaugeRequest({ asDouble: 1.5 }))).finish();
  };

  test("decodes gzip protobuf", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    const response = await fetch(receiver.metricsUrl, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", "content-encoding": "gzip" },
      body: Bun.gzipSync(new Uint8Array(protobufBody())),
    });
    expect(response.status).toBe(200);
    expect(points(receiver.received, "g").map((p) => [p.kind, p.value])).toEqual([["double", 1.5]]);
  });

  test("refuses the wrong content type, path and a broken body", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    const post = (path: string, contentType: string, body: Uint8Array | string) =>
      fetch(`${receiver?.url}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
    expect((await post("/v1/metrics", "application/json", "{}")).status).toBe(415);
    expect((await post("/v1/traces", "application/x-protobuf", protobufBody())).status).toBe(404);
    expect((await post("/v1/metrics", "application/x-protobuf", new Uint8Array([0x0a, 0xff]))).status).toBe(
      400,
    );
    expect(receiver.received).toEqual([]);
    expect(receiver.attempts.map((a) => [a.status, a.path])).toEqual([
      [415, "/v1/metrics"],
      [404, "/v1/traces"],
      [400, "/v1/metrics"],
    ]);
  });

  test("answers injected failures first, then accepts", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    receiver.failNext({ status: 503, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(receiver.metricsUrl, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: protobufBody(),
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(receiver.received).toHaveLength(1);
  });

  test("waitForExports names what arrived when it times out", async () => {
    receiver = startOtlpHttpReceiver({ format: "json" });
    await fetch(receiver.metricsUrl, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    await expect(receiver.waitForExports(1, 20)).rejects.toThrow(
      "OTLP HTTP receiver: timed out waiting for 1 accepted export(s); got: [415 /v1/metrics (expected application/json, got text/plain)]",
    );
  });
});
