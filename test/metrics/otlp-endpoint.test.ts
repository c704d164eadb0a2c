import { describe, expect, test } from "bun:test";
import type { OtlpProtocol } from "../../src/config/types.ts";
import {
  appendMetricsPath,
  maskUserInfo,
  type OtlpEndpointSettings,
  resolveOtlpTarget,
} from "../../src/metrics/otlp-endpoint.ts";
import { OtlpEndpointError } from "../../src/metrics/otlp-endpoint-error.ts";

function settings(overrides: Partial<OtlpEndpointSettings>): OtlpEndpointSettings {
  return {
    endpoint: "localhost:4318",
    metricsEndpoint: undefined,
    protocol: "http/protobuf",
    insecure: false,
    headers: {},
    urlPath: undefined,
    certificateFile: undefined,
    ...overrides,
  };
}

interface Row {
  name: string;
  endpoint: string;
  protocol?: OtlpProtocol;
  insecure?: boolean;
  metricsEndpoint?: string;
  urlPath?: string;
  url: string;
  address: string;
  tls: boolean;
  notes?: number;
}

const rows: Row[] = [
  // host:port (seed style): insecure picks the scheme
  {
    name: "host:port insecure → http",
    endpoint: "localhost:4318",
    insecure: true,
    url: "http://localhost:4318/v1/metrics",
    address: "localhost:4318",
    tls: false,
  },
  {
    name: "host:port secure → https",
    endpoint: "collector:4318",
    url: "https://collector:4318/v1/metrics",
    address: "collector:4318",
    tls: true,
  },
  {
    name: "host without port → 4318",
    endpoint: "collector",
    insecure: true,
    url: "http://collector:4318/v1/metrics",
    address: "collector:4318",
    tls: false,
  },
  {
    name: "host:443 secure keeps 443",
    endpoint: "otlp.example.com:443",
    url: "https://otlp.example.com/v1/metrics",
    address: "otlp.example.com:443",
    tls: true,
  },
  {
    name: "host:port with base path",
    endpoint: "collector:4318/otlp",
    insecure: true,
    url: "http://collector:4318/otlp/v1/metrics",
    address: "collector:4318",
    tls: false,
  },
  {
    name: "IPv6 [::1]:4318",
    endpoint: "[::1]:4318",
    insecure: true,
    url: "http://[::1]:4318/v1/metrics",
    address: "[::1]:4318",
    tls: false,
  },
  {
    name: "IPv6 [::1] without port",
    endpoint: "[::1]",
    insecure: true,
    url: "http://[::1]:4318/v1/metrics",
    address: "[::1]:4318",
    tls: false,
  },
  // URLs with a scheme are literal
  {
    name: "http URL without path",
    endpoint: "http://localhost:4318",
    url: "http://localhost:4318/v1/metrics",
    address: "localhost:4318",
    tls: false,
  },
  {
    name: "http URL trailing slash",
    endpoint: "http://localhost:4318/",
    url: "http://localhost:4318/v1/metrics",
    address: "localhost:4318",
    tls: false,
  },
  {
    name: "base path",
    endpoint: "http://h:4318/otlp",
    url: "http://h:4318/otlp/v1/metrics",
    address: "h:4318",
    tls: false,
  },
  {
    name: "base path trailing slash",
    endpoint: "http://h:4318/otlp/",
    url: "http://h:4318/otlp/v1/metrics",
    address: "h:4318",
    tls: false,
  },
  {
    name: "https URL without port → 443",
    endpoint: "https://otlp.example.com/otlp",
    url: "https://otlp.example.com/otlp/v1/metrics",
    address: "otlp.example.com:443",
    tls: true,
  },
  {
    name: "http URL without port → 80",
    endpoint: "http://collector",
    url: "http://collector/v1/metrics",
    address: "collector:80",
    tls: false,
  },
  {
    name: "https scheme wins over insecure",
    endpoint: "https://h:4318",
    insecure: true,
    url: "https://h:4318/v1/metrics",
    address: "h:4318",
    tls: true,
    notes: 1,
  },
  {
    name: "http scheme wins over secure",
    endpoint: "http://h:4318",
    insecure: false,
    url: "http://h:4318/v1/metrics",
    address: "h:4318",
    tls: false,
  },
  {
    name: "uppercase scheme",
    endpoint: "HTTP://H:4318",
    url: "http://h:4318/v1/metrics",
    address: "h:4318",
    tls: false,
  },
  {
    name: "query kept after appended path",
    endpoint: "http://h:4318/otlp?tenant=a",
    url: "http://h:4318/otlp/v1/metrics?tenant=a",
    address: "h:4318",
    tls: false,
  },
  {
    name: "IPv6 URL",
    endpoint: "http://[::1]:4318",
    url: "http://[::1]:4318/v1/metrics",
    address: "[::1]:4318",
    tls: false,
  },
  // the doubled-path trap
  {
    name: "base already /v1/metrics",
    endpoint: "http://h:4318/v1/metrics",
    url: "http://h:4318/v1/metrics",
    address: "h:4318",
    tls: false,
    notes: 1,
  },
  {
    name: "base already /otlp/v1/metrics/",
    endpoint: "http://h:4318/otlp/v1/metrics/",
    url: "http://h:4318/otlp/v1/metrics",
    address: "h:4318",
    tls: false,
    notes: 1,
  },
  {
    name: "metricsEndpoint doubled is collapsed",
    endpoint: "unused:1",
    metricsEndpoint: "http://h:4318/v1/metrics/v1/metrics",
    url: "http://h:4318/v1/metrics",
    address: "h:4318",
    tls: false,
    notes: 1,
  },
  // metricsEndpoint is used as is and wins
  {
    name: "metricsEndpoint as is",
    endpoint: "ignored:4318",
    metricsEndpoint: "http://m:9090/custom/ingest",
    url: "http://m:9090/custom/ingest",
    address: "m:9090",
    tls: false,
  },
  {
    name: "metricsEndpoint without path",
    endpoint: "ignored:4318",
    metricsEndpoint: "https://m:4318",
    url: "https://m:4318/",
    address: "m:4318",
    tls: true,
    notes: 1,
  },
  // urlPath replaces the path
  {
    name: "urlPath Prometheus",
    endpoint: "http://prom:9090",
    urlPath: "/api/v1/otlp/v1/metrics",
    url: "http://prom:9090/api/v1/otlp/v1/metrics",
    address: "prom:9090",
    tls: false,
  },
  {
    name: "urlPath without leading slash",
    endpoint: "prom:9090",
    insecure: true,
    urlPath: "api/v1/otlp/v1/metrics",
    url: "http://prom:9090/api/v1/otlp/v1/metrics",
    address: "prom:9090",
    tls: false,
  },
  {
    name: "urlPath replaces base path",
    endpoint: "http://h:4318/otlp",
    urlPath: "/ingest",
    url: "http://h:4318/ingest",
    address: "h:4318",
    tls: false,
  },
  {
    name: "urlPath replaces metricsEndpoint path",
    endpoint: "x:1",
    metricsEndpoint: "http://m:1/a",
    urlPath: "/b",
    url: "http://m:1/b",
    address: "m:1",
    tls: false,
  },
  {
    name: "blank urlPath is unset",
    endpoint: "http://h:4318",
    urlPath: "  ",
    url: "http://h:4318/v1/metrics",
    address: "h:4318",
    tls: false,
  },
  {
    name: "http/json same rules",
    endpoint: "http://h:4318/otlp",
    protocol: "http/json",
    url: "http://h:4318/otlp/v1/metrics",
    address: "h:4318",
    tls: false,
  },
  // gRPC: scheme, host and port only
  {
    name: "grpc host:port insecure",
    endpoint: "localhost:4317",
    protocol: "grpc",
    insecure: true,
    url: "http://localhost:4317",
    address: "localhost:4317",
    tls: false,
  },
  {
    name: "grpc host:port secure",
    endpoint: "collector:4317",
    protocol: "grpc",
    url: "https://collector:4317",
    address: "collector:4317",
    tls: true,
  },
  {
    name: "grpc host without port → 4317",
    endpoint: "collector",
    protocol: "grpc",
    insecure: true,
    url: "http://collector:4317",
    address: "collector:4317",
    tls: false,
  },
  {
    name: "grpc http URL is plaintext",
    endpoint: "http://collector:4317",
    protocol: "grpc",
    url: "http://collector:4317",
    address: "collector:4317",
    tls: false,
  },
  {
    name: "grpc https URL without port → 443",
    endpoint: "https://otlp.example.com",
    protocol: "grpc",
    url: "https://otlp.example.com:443",
    address: "otlp.example.com:443",
    tls: true,
  },
  {
    name: "grpc path ignored",
    endpoint: "http://c:4317/v1/metrics",
    protocol: "grpc",
    url: "http://c:4317",
    address: "c:4317",
    tls: false,
    notes: 1,
  },
  {
    name: "grpc urlPath ignored",
    endpoint: "http://c:4317",
    protocol: "grpc",
    urlPath: "/x",
    url: "http://c:4317",
    address: "c:4317",
    tls: false,
    notes: 1,
  },
  {
    name: "grpc IPv6",
    endpoint: "[::1]:4317",
    protocol: "grpc",
    insecure: true,
    url: "http://[::1]:4317",
    address: "[::1]:4317",
    tls: false,
  },
  {
    name: "grpc metricsEndpoint wins",
    endpoint: "a:1",
    protocol: "grpc",
    metricsEndpoint: "http://b:4317",
    url: "http://b:4317",
    address: "b:4317",
    tls: false,
  },
];

describe("resolveOtlpTarget", () => {
  test.each(rows.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    const target = resolveOtlpTarget(
      settings({
        endpoint: row.endpoint,
        protocol: row.protocol ?? "http/protobuf",
        insecure: row.insecure ?? false,
        metricsEndpoint: row.metricsEndpoint,
        urlPath: row.urlPath,
      }),
    );
    expect({ url: target.url, address: target.address, tls: target.tls, notes: target.notes.length }).toEqual(
      {
        url: row.url,
        address: row.address,
        tls: row.tls,
        notes: row.notes ?? 0,
      },
    );
    expect(target.protocol).toBe(row.protocol ?? "http/protobuf");
  });

  test("the doubled-path note says what happened", () => {
    const target = resolveOtlpTarget(settings({ endpoint: "http://h:4318/v1/metrics" }));
    expect(target.notes).toEqual(["endpoint already ends in /v1/metrics; it is not appended again"]);
  });

  test("headers pass through unchanged", () => {
    const headers = { Authorization: "Bearer abc", "X-Scope-OrgID": "tenant-1" };
    expect(resolveOtlpTarget(settings({ headers })).headers).toEqual(headers);
  });

  test.each([
    ["CR", "a\rb"],
    ["LF", "a\nInjected: yes"],
    ["NUL", "a\0b"],
  ])("a header value with %s is refused without echoing it", (_kind, value) => {
    const run = () => resolveOtlpTarget(settings({ headers: { Authorization: value } }));
    expect(run).toThrow(OtlpEndpointError);
    expect(run).toThrow("OTLP header Authorization has a line break or NUL in its value");
  });

  test("a header name with a space is refused", () => {
    expect(() => resolveOtlpTarget(settings({ headers: { "bad name": "v" } }))).toThrow(
      'OTLP header name "bad name" is not valid',
    );
  });

  test("gRPC refuses binary metadata keys", () => {
    expect(() => resolveOtlpTarget(settings({ protocol: "grpc", headers: { "trace-bin": "x" } }))).toThrow(
      "OTLP header trace-bin: binary (-bin) gRPC metadata is not supported",
    );
  });

  test("the CA file applies only to TLS", () => {
    expect(resolveOtlpTarget(settings({ endpoint: "https://h", certificateFile: "/ca.pem" })).caFile).toBe(
      "/ca.pem",
    );
    const plain = resolveOtlpTarget(settings({ endpoint: "http://h", certificateFile: "/ca.pem" }));
    expect(plain.caFile).toBeUndefined();
    expect(plain.notes).toEqual(["certificateFile is ignored: the endpoint is not TLS"]);
  });

  test("display masks user info", () => {
    const target = resolveOtlpTarget(settings({ endpoint: "https://user:s3cret@h:4318" }));
    expect(target.url).toBe("https://user:s3cret@h:4318/v1/metrics");
    expect(target.display).toBe("https://***@h:4318/v1/metrics");
  });

  test.each([
    ["empty", "", "OTLP endpoint is empty"],
    ["blank", "   ", "OTLP endpoint is empty"],
    ["unsupported scheme", "grpc://h:4317", 'OTLP endpoint has unsupported scheme "grpc://"'],
    ["bare IPv6", "::1:4318", "OTLP endpoint has an IPv6 address without brackets"],
    ["bad port", "h:99999", "OTLP endpoint is neither a URL nor host:port: h:99999"],
    ["no host", "http://:4318", "OTLP endpoint is neither a URL nor host:port: http://:4318"],
  ])("%s endpoint is refused", (_name, endpoint, message) => {
    const run = () => resolveOtlpTarget(settings({ endpoint }));
    expect(run).toThrow(OtlpEndpointError);
    expect(run).toThrow(message);
  });

  test("an invalid endpoint error masks the password", () => {
    const run = () => resolveOtlpTarget(settings({ endpoint: "ftp://user:s3cret@h" }));
    expect(run).toThrow(
      'OTLP endpoint has unsupported scheme "ftp://" (use http://, https:// or host:port): ftp://***@h',
    );
  });

  test("a metricsEndpoint without a scheme is refused: it is the full metrics URL", () => {
    expect(() =>
      resolveOtlpTarget(settings({ insecure: true, metricsEndpoint: "m:4318/v1/metrics" })),
    ).toThrow("OTLP metricsEndpoint must be a URL with http:// or https://: m:4318/v1/metrics");
  });

  test("an invalid metricsEndpoint names that setting", () => {
    try {
      resolveOtlpTarget(settings({ metricsEndpoint: "ftp://h" }));
      throw new Error("expected a failure");
    } catch (error) {
      expect(error).toBeInstanceOf(OtlpEndpointError);
      expect((error as OtlpEndpointError).setting).toBe("metricsEndpoint");
    }
  });

  test("urlPath with a query is refused", () => {
    expect(() => resolveOtlpTarget(settings({ urlPath: "/a?b=c" }))).toThrow(
      "OTLP urlPath must be a plain path, got: /a?b=c",
    );
  });
});

describe("appendMetricsPath", () => {
  test.each([
    ["/", "/v1/metrics"],
    ["", "/v1/metrics"],
    ["/otlp", "/otlp/v1/metrics"],
    ["/otlp//", "/otlp/v1/metrics"],
    ["/v1/metrics", "/v1/metrics"],
  ])("%s → %s", (path, expected) => {
    expect(appendMetricsPath(path)).toBe(expected);
  });
});

describe("maskUserInfo", () => {
  test.each([
    ["https://u:p@h/x", "https://***@h/x"],
    ["u:p@h:1", "***@h:1"],
    ["https://h/x?a=b@c", "https://h/x?a=b@c"],
  ])("%s → %s", (input, expected) => {
    expect(maskUserInfo(input)).toBe(expected);
  });
});
