/**
 * Configuration validation and the runtime parse the listen address, the OTLP endpoints and the export headers
 * with one rule each: a value passes validation exactly when the code that uses it accepts it. Each row is an edge
 * where the two used to disagree, or a boundary both must keep.
 */
import { describe, expect, test } from "bun:test";
import { resolveOtlpTarget } from "../../src/metrics/otlp-endpoint.ts";
import { parseListenAddress } from "../../src/server/listen-address.ts";
import { testOtlpConfig } from "../support/otlp-config.ts";
import { expectProblems, load, TOKEN } from "./support.ts";

const BASE = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];

function validationAccepts(argv: string[]): boolean {
  return load([...BASE, ...argv]).kind === "config";
}

function runtimeAccepts(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}

describe("--web.listen-address and the server's parseListenAddress", () => {
  test.each([
    ["[fe80::1%eth0]:80", true], // an IPv6 zone: the server binds it, validation refused it
    ["[::1]:9000", true],
    [":0", true],
    [":65535", true],
    [":65536", false],
    ["[]:9000", false],
    ["::1:9000", false],
    ["localhost", false],
    ["http://localhost:80", false],
  ])("%p: accepted by both = %p", (address, accepted) => {
    expect({
      validation: validationAccepts([`--web.listen-address=${address}`]),
      runtime: runtimeAccepts(() => parseListenAddress(address)),
    }).toEqual({ validation: accepted, runtime: accepted });
  });
});

describe("--otlp.endpoint and --otlp.metrics-endpoint, and the exporter's resolveOtlpTarget", () => {
  test.each([
    ["collector:4318/otlp", true], // host:port with a base path: the exporter takes it, validation refused it
    ["HTTP://H:4318", true],
    ["[::1]:4318", true],
    ["collector:99999", false],
    ["::1:4318", false],
    ["grpc://c:4317", false],
  ])("endpoint %p: accepted by both = %p", (endpoint, accepted) => {
    expect({
      validation: validationAccepts([`--otlp.endpoint=${endpoint}`]),
      runtime: runtimeAccepts(() => resolveOtlpTarget(testOtlpConfig({ endpoint }))),
    }).toEqual({ validation: accepted, runtime: accepted });
  });

  test.each([
    ["m:4318/v1/metrics", false], // no scheme: validation refused it, the exporter took it
    ["http://m:4318/v1/metrics", true],
    ["ftp://m/v1/metrics", false],
  ])("metrics endpoint %p: accepted by both = %p", (metricsEndpoint, accepted) => {
    expect({
      validation: validationAccepts([`--otlp.metrics-endpoint=${metricsEndpoint}`]),
      runtime: runtimeAccepts(() => resolveOtlpTarget(testOtlpConfig({ metricsEndpoint }))),
    }).toEqual({ validation: accepted, runtime: accepted });
  });
});

describe("--otlp.headers and the exporter's header rule", () => {
  test.each([
    ["http/protobuf", "x!tenant", true],
    ["grpc", "x!tenant", false], // not a gRPC metadata key: validation took it, the exporter refused it at start
    ["grpc", "trace-bin", false],
    ["http/protobuf", "bad name", false],
    ["grpc", "x-scope-orgid", true],
  ])("%s header %p: accepted by both = %p", (protocol, name, accepted) => {
    expect({
      validation: validationAccepts([`--otlp.protocol=${protocol}`, `--otlp.headers=${name}=1`]),
      runtime: runtimeAccepts(() =>
        resolveOtlpTarget(
          testOtlpConfig({
            protocol: protocol === "grpc" ? "grpc" : "http/protobuf",
            headers: { [name]: "1" },
          }),
        ),
      ),
    }).toEqual({ validation: accepted, runtime: accepted });
  });

  test("the gRPC problems are exact and name the header, never the value", () => {
    expect(
      expectProblems(
        load([...BASE, "--otlp.protocol=grpc", `--otlp.headers=x!tenant=${TOKEN},trace-bin=abc`]),
      ),
    ).toEqual([
      '--otlp.headers: "x!tenant" is not a valid gRPC metadata key (letters, digits, "-", "_", ".")',
      '--otlp.headers: "trace-bin": binary (-bin) gRPC metadata is not supported',
    ]);
  });
});
