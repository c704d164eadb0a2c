/**
 * Where the OTLP exporter sends metrics: a pure translation of the OTLP settings into one target.
 *
 * Rules (OTel exporter spec, plus the `host:port` form the Go exporter accepts):
 * - `endpoint` is either a URL with an `http://` or `https://` scheme, or `host:port[/path]` without one. Without a
 *   scheme, `insecure` picks plaintext (`http`) or TLS (`https`), and a missing port defaults to 4318 (HTTP) or 4317
 *   (gRPC). A URL with a scheme is taken literally: its port defaults to 80/443 like any URL, and its scheme, not
 *   `insecure`, decides TLS.
 * - HTTP: `endpoint` is a base URL and `/v1/metrics` is appended to its path (`http://h:4318/otlp` →
 *   `http://h:4318/otlp/v1/metrics`); a base already ending in `/v1/metrics` is kept as is. `metricsEndpoint`
 *   (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) must be an http(s) URL; it wins over `endpoint` and is used as is. `urlPath` replaces the path of
 *   whichever was chosen. A path never ends in a doubled `/v1/metrics`.
 * - gRPC: only scheme, host and port matter; a path or `urlPath` is ignored (with a note).
 * - IPv6 hosts go in brackets: `[::1]:4318`, `http://[::1]:4318`.
 */
import type { OtlpConfig, OtlpProtocol } from "../config/types.ts";
import { OtlpEndpointError } from "./otlp-endpoint-error.ts";

export const DEFAULT_OTLP_HTTP_PORT = 4318;
export const DEFAULT_OTLP_GRPC_PORT = 4317;
export const OTLP_METRICS_PATH = "/v1/metrics";

export type OtlpEndpointSettings = Pick<
  OtlpConfig,
  "endpoint" | "metricsEndpoint" | "protocol" | "insecure" | "headers" | "urlPath" | "certificateFile"
>;

export interface OtlpTarget {
  protocol: OtlpProtocol;
  /**
   * HTTP: the full metrics URL. gRPC: `http://host:port` (plaintext) or `https://host:port` (TLS), without a path;
   * the gRPC exporter reads only the host and port from it.
   */
  url: string;
  /** `host:port` with the port always explicit (`[::1]:4317` for IPv6). */
  address: string;
  /** True when the connection uses TLS. */
  tls: boolean;
  /** CA certificate (PEM) path to trust for TLS; undefined when TLS is off or no file was given. */
  caFile: string | undefined;
  headers: Record<string, string>;
  /** `url` with any user info masked, for logs. */
  display: string;
  /** Adjustments and ignored settings worth a log line at startup. */
  notes: string[];
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
// RFC 9110 token: what an HTTP header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// gRPC metadata keys: lowercase letters, digits, `-`, `_`, `.` (grpc-js lowercases the rest).
const GRPC_METADATA_KEY = /^[0-9A-Za-z_.-]+$/;
const DOUBLED_METRICS_PATH = `${OTLP_METRICS_PATH}${OTLP_METRICS_PATH}`;

/** Resolves the OTLP settings into the target the exporter connects to. Throws {@link OtlpEndpointError}. */
export function resolveOtlpTarget(settings: OtlpEndpointSettings): OtlpTarget {
  const notes: string[] = [];
  const grpc = settings.protocol === "grpc";
  const defaultPort = grpc ? DEFAULT_OTLP_GRPC_PORT : DEFAULT_OTLP_HTTP_PORT;
  const metricsEndpoint = blankToUndefined(settings.metricsEndpoint);
  const urlPath = normalizeUrlPath(settings.urlPath);
  const setting = metricsEndpoint === undefined ? "endpoint" : "metricsEndpoint";
  const { url, hadScheme } = parseOtlpEndpoint(
    metricsEndpoint ?? settings.endpoint,
    setting,
    settings.insecure,
    defaultPort,
  );
  const tls = url.protocol === "https:";
  if (hadScheme && settings.insecure && tls) {
    notes.push(`insecure is ignored: the ${setting} URL asks for https`);
  }

  if (grpc) {
    if (url.pathname !== "/" || url.search !== "") {
      notes.push(`the path of the ${setting} is ignored for grpc`);
    }
    if (urlPath !== undefined) notes.push("urlPath is ignored for grpc");
    url.pathname = "/";
    url.search = "";
    url.hash = "";
  } else if (urlPath !== undefined) {
    url.pathname = urlPath;
  } else if (metricsEndpoint === undefined) {
    url.pathname = appendMetricsPath(url.pathname, notes);
  } else if (url.pathname === "/") {
    notes.push(
      "metricsEndpoint has no path and is used as is; set endpoint instead to have /v1/metrics appended",
    );
  }
  if (!grpc) url.pathname = collapseDoubledMetricsPath(url.pathname, notes);

  const caFile = blankToUndefined(settings.certificateFile);
  if (caFile !== undefined && !tls) notes.push("certificateFile is ignored: the endpoint is not TLS");

  const address = `${url.hostname}:${url.port === "" ? (tls ? 443 : 80) : url.port}`;
  const href = grpc ? `${url.protocol}//${address}` : url.href;
  return {
    protocol: settings.protocol,
    url: href,
    address,
    tls,
    caFile: tls ? caFile : undefined,
    headers: checkHeaders(settings.headers, grpc),
    display: maskUserInfo(href),
    notes,
  };
}

/** `path` + `/v1/metrics`, unless it already ends there. */
export function appendMetricsPath(path: string, notes: string[] = []): string {
  const base = path.replace(/\/+$/, "");
  if (base.endsWith(OTLP_METRICS_PATH)) {
    notes.push(`endpoint already ends in ${OTLP_METRICS_PATH}; it is not appended again`);
    return base;
  }
  return `${base}${OTLP_METRICS_PATH}`;
}

function collapseDoubledMetricsPath(path: string, notes: string[]): string {
  let out = path;
  // Bounded: each pass removes one segment pair.
  for (let i = 0; i < 8 && out.replace(/\/+$/, "").endsWith(DOUBLED_METRICS_PATH); i++) {
    out = out.replace(/\/+$/, "").slice(0, -OTLP_METRICS_PATH.length);
  }
  if (out !== path) notes.push(`the metrics path ${path} repeated ${OTLP_METRICS_PATH}; using ${out}`);
  return out;
}

/**
 * Parses `endpoint` (a URL or `host:port[/path]`) or `metricsEndpoint` (a URL: the full metrics URL, as
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is in the OTel spec). The one parser of both: configuration validation calls
 * it too, so what `--otlp.endpoint` accepts is what the exporter can use. Throws {@link OtlpEndpointError}.
 */
export function parseOtlpEndpoint(
  raw: string,
  setting: "endpoint" | "metricsEndpoint",
  insecure = false,
  defaultPort = DEFAULT_OTLP_HTTP_PORT,
): { url: URL; hadScheme: boolean } {
  const text = raw.trim();
  if (text === "") throw new OtlpEndpointError(setting, `OTLP ${setting} is empty`);
  const schemeMatch = SCHEME.exec(text);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    throw new OtlpEndpointError(
      setting,
      `OTLP ${setting} has unsupported scheme "${scheme}://" (use http://, https:// or host:port): ${maskUserInfo(text)}`,
    );
  }
  if (scheme === undefined && setting === "metricsEndpoint") {
    throw new OtlpEndpointError(
      setting,
      `OTLP metricsEndpoint must be a URL with http:// or https://: ${maskUserInfo(text)}`,
    );
  }
  const authority = authorityOf(text.slice(schemeMatch?.[0].length ?? 0));
  if (authority.split(":").length > 2 && !authority.startsWith("[")) {
    throw new OtlpEndpointError(
      setting,
      `OTLP ${setting} has an IPv6 address without brackets (write it as [::1]:4318): ${maskUserInfo(text)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(scheme === undefined ? `${insecure ? "http" : "https"}://${text}` : text);
  } catch {
    throw new OtlpEndpointError(
      setting,
      `OTLP ${setting} is neither a URL nor host:port: ${maskUserInfo(text)}`,
    );
  }
  if (url.hostname === "") {
    throw new OtlpEndpointError(setting, `OTLP ${setting} has no host: ${maskUserInfo(text)}`);
  }
  // `new URL` drops a port equal to the scheme's default, so look at the text to know whether one was written.
  if (scheme === undefined && !/:\d+$/.test(authority)) url.port = String(defaultPort);
  return { url, hadScheme: scheme !== undefined };
}

/** The `[user@]host[:port]` part, without user info. */
function authorityOf(rest: string): string {
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  return authority.slice(authority.lastIndexOf("@") + 1);
}

function normalizeUrlPath(urlPath: string | undefined): string | undefined {
  const path = blankToUndefined(urlPath);
  if (path === undefined) return undefined;
  if (/[?#\s]/.test(path)) {
    throw new OtlpEndpointError("urlPath", `OTLP urlPath must be a plain path, got: ${path}`);
  }
  return path.startsWith("/") ? path : `/${path}`;
}

/** What is wrong with one export header, if anything. */
export type HeaderProblem = "name" | "grpc-key" | "grpc-binary" | "value";

/**
 * The one rule for export headers: configuration validation and the exporter both ask it. Over gRPC a header is
 * metadata: a narrower key, and no binary (`-bin`) values.
 */
export function headerProblem(name: string, value: string, grpc: boolean): HeaderProblem | undefined {
  if (!HEADER_NAME.test(name)) return "name";
  if (grpc && !GRPC_METADATA_KEY.test(name)) return "grpc-key";
  if (grpc && name.toLowerCase().endsWith("-bin")) return "grpc-binary";
  if (/[\r\n\0]/.test(value)) return "value";
  return undefined;
}

function checkHeaders(headers: Record<string, string>, grpc: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    switch (headerProblem(name, value, grpc)) {
      case "name":
      case "grpc-key":
        throw new OtlpEndpointError("headers", `OTLP header name ${JSON.stringify(name)} is not valid`);
      case "grpc-binary":
        throw new OtlpEndpointError(
          "headers",
          `OTLP header ${name}: binary (-bin) gRPC metadata is not supported`,
        );
      case "value":
        // Values are never echoed: they usually hold credentials.
        throw new OtlpEndpointError("headers", `OTLP header ${name} has a line break or NUL in its value`);
      case undefined:
        out[name] = value;
    }
  }
  return out;
}

/** Masks `user:password@` in a URL-ish string. */
export function maskUserInfo(text: string): string {
  return text.replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?)[^/?#@]*@/, "$1***@");
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
