/**
 * The OTLP metric exporter for the configured protocol, and a wrapper that reports each export's outcome (the SDK
 * only logs failures through its diag logger, which the app does not see).
 */
import { readFileSync } from "node:fs";
import type { PushMetricExporter } from "@opentelemetry/sdk-metrics";
import type { OtlpConfig } from "../config/types.ts";
import { exportSucceeded } from "./export-result.ts";
import { type OtlpTarget, resolveOtlpTarget } from "./otlp-endpoint.ts";
import { OtlpEndpointError } from "./otlp-endpoint-error.ts";
import type { ProtocolExporterOptions } from "./otlp-protocol.ts";

type ExportResult = Parameters<Parameters<PushMetricExporter["export"]>[1]>[0];

export interface MetricExporterOptions {
  /** An already resolved target (to log its notes first); resolved from the config when absent. */
  target?: OtlpTarget;
  /** Prepended to the exporter's User-Agent, e.g. `pulumi-exporter/1.2.3`. */
  userAgent?: string;
  /** Reads the CA file; defaults to the file system. */
  readFile?: (path: string) => Buffer;
}

/**
 * Creates the OTLP exporter for `config.protocol`. Rejects with {@link OtlpEndpointError} for an unusable endpoint,
 * header or CA file.
 *
 * Only the configured protocol's module is loaded, on this call: each brings its own OpenTelemetry exporter (the
 * gRPC one all of grpc-js), megabytes of heap that a process pushing over another protocol, or not at all, never
 * needs. scripts/build.ts bundles every branch; test/build/lazy-binary.test.ts runs them in the binary.
 */
export async function createMetricExporter(
  config: OtlpConfig,
  options: MetricExporterOptions = {},
): Promise<PushMetricExporter> {
  const target = options.target ?? resolveOtlpTarget(config);
  const ca =
    target.caFile === undefined ? undefined : readCa(target.caFile, options.readFile ?? readFileSync);
  const protocolOptions: ProtocolExporterOptions = {
    config,
    target,
    ...(ca === undefined ? {} : { ca }),
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
  };
  switch (config.protocol) {
    case "grpc":
      return (await import("./otlp-grpc.ts")).createGrpcExporter(protocolOptions);
    case "http/json":
      return (await import("./otlp-json.ts")).createJsonExporter(protocolOptions);
    case "http/protobuf":
      return (await import("./otlp-proto.ts")).createProtoExporter(protocolOptions);
  }
}

function readCa(path: string, readFile: (path: string) => Buffer): Buffer {
  try {
    return readFile(path);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new OtlpEndpointError("certificateFile", `cannot read the OTLP certificateFile ${path}: ${reason}`);
  }
}

/** Why an export failed, in the backend's words where it gave any. */
export interface ExportFailure {
  /** One line for a log: `HTTP 400 Bad Request: <body>`, `gRPC UNAVAILABLE: <details>`, or the error text. */
  message: string;
  /** The HTTP status (HTTP protocols) or gRPC status code, when the backend answered. */
  code: number | undefined;
  /** The backend's response body or gRPC details (at most 512 characters). */
  detail: string | undefined;
}

export interface ExportResultHooks {
  /** Called once per export, after the exporter's own retries: `ok`, or the failure. */
  onResult(ok: boolean, failure?: ExportFailure): void;
}

/** gRPC status names by code (grpc-js's `status` enum), so that naming one does not load grpc-js. */
const GRPC_STATUS: readonly string[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];
const MAX_DETAIL = 512;

/** Wraps an exporter so every export result reaches `hooks.onResult`; results still flow to the SDK unchanged. */
export function instrumentExporter(
  exporter: PushMetricExporter,
  hooks: ExportResultHooks,
): PushMetricExporter {
  return {
    export(metrics, resultCallback) {
      exporter.export(metrics, (result: ExportResult) => {
        try {
          if (exportSucceeded(result)) hooks.onResult(true);
          else hooks.onResult(false, describeExportError(result.error));
        } finally {
          resultCallback(result);
        }
      });
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: exporter.selectAggregationTemporality?.bind(exporter),
    selectAggregation: exporter.selectAggregation?.bind(exporter),
  };
}

/**
 * Turns the SDK's export error into an {@link ExportFailure}. HTTP errors carry the status in `code` and the body
 * in `data`; gRPC errors carry the status in `code` and the text in `details`.
 */
export function describeExportError(error: Error | undefined): ExportFailure {
  if (error === undefined)
    return { message: "export failed without an error", code: undefined, detail: undefined };
  const fields = error as Error & { code?: unknown; data?: unknown; details?: unknown };
  const code = typeof fields.code === "number" ? fields.code : undefined;
  if (typeof fields.details === "string" && code !== undefined) {
    const detail = clip(fields.details);
    return { message: `gRPC ${GRPC_STATUS[code] ?? code}: ${detail}`, code, detail };
  }
  if (code !== undefined) {
    const detail =
      typeof fields.data === "string" && fields.data.trim() !== "" ? clip(fields.data.trim()) : undefined;
    const statusText = error.message && error.message !== "undefined" ? ` ${error.message}` : "";
    return { message: `HTTP ${code}${statusText}${detail === undefined ? "" : `: ${detail}`}`, code, detail };
  }
  if (error.message === "Export failed with retryable status") {
    return {
      message:
        "export failed: the backend answered with a retryable status (429, 502, 503 or 504) and the exporter gave up",
      code: undefined,
      detail: undefined,
    };
  }
  return { message: clip(error.message || error.name), code: undefined, detail: undefined };
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}
