/**
 * Decodes OTLP metrics requests with the official protos (../shared/otlp-proto, read at test time), independently
 * of the OpenTelemetry SDK that encoded them. Every receiver turns what it gets into the same plain object shape:
 * lowerCamelCase field names, 64-bit integers as decimal strings, enums as numbers.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

export const OTLP_PROTO_DIR = fileURLToPath(new URL("../../../shared/otlp-proto/", import.meta.url));
export const METRICS_SERVICE_PROTO = "opentelemetry/proto/collector/metrics/v1/metrics_service.proto";
const PACKAGE = "opentelemetry.proto.collector.metrics.v1";

/** Shared by protobufjs (HTTP receivers) and @grpc/proto-loader (gRPC receiver) so all decode alike. */
export const CONVERSION = {
  longs: String,
  enums: Number,
  bytes: String,
  defaults: false,
  arrays: true,
  oneofs: false,
} as const;

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asInt?: string;
  asDouble?: number;
  exemplars: unknown[];
  flags?: number;
}
export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  bucketCounts: string[];
  explicitBounds: number[];
  min?: number;
  max?: number;
  exemplars: unknown[];
  flags?: number;
}
export interface Metric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: NumberDataPoint[] };
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints: HistogramDataPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints: unknown[]; aggregationTemporality?: number };
  summary?: { dataPoints: unknown[] };
}
export interface ScopeMetrics {
  scope?: { name?: string; version?: string; attributes: KeyValue[] };
  metrics: Metric[];
  schemaUrl?: string;
}
export interface ResourceMetrics {
  resource?: { attributes: KeyValue[] };
  scopeMetrics: ScopeMetrics[];
  schemaUrl?: string;
}
export interface ExportRequest {
  resourceMetrics: ResourceMetrics[];
}

let root: protobuf.Root | undefined;

/** The OTLP metrics protos, loaded once with their imports resolved inside {@link OTLP_PROTO_DIR}. */
export function otlpRoot(): protobuf.Root {
  if (root === undefined) {
    const loaded = new protobuf.Root();
    loaded.resolvePath = (_origin, target) => join(OTLP_PROTO_DIR, target);
    loaded.loadSync(METRICS_SERVICE_PROTO);
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

export function requestType(): protobuf.Type {
  return otlpRoot().lookupType(`${PACKAGE}.ExportMetricsServiceRequest`);
}

export function responseType(): protobuf.Type {
  return otlpRoot().lookupType(`${PACKAGE}.ExportMetricsServiceResponse`);
}

/** Decodes a binary (application/x-protobuf) ExportMetricsServiceRequest. Throws on malformed input. */
export function decodeProtobufRequest(bytes: Uint8Array): ExportRequest {
  const type = requestType();
  return type.toObject(type.decode(bytes), CONVERSION) as unknown as ExportRequest;
}

/**
 * Decodes an OTLP/JSON ExportMetricsServiceRequest. `problems` lists every way the document departs from the
 * OTLP/JSON encoding (unknown or snake_case keys, enums not integers, 64-bit integers not decimal strings or safe
 * numbers, wrong JSON types), because protobufjs `fromObject` alone would silently ignore them.
 */
export function decodeJsonRequest(json: unknown): { request: ExportRequest; problems: string[] } {
  const type = requestType();
  const problems: string[] = [];
  checkMessage(type, json, "$", problems);
  const message = type.fromObject(isObject(json) ? json : {});
  return { request: type.toObject(message, CONVERSION) as unknown as ExportRequest, problems };
}

const INT64 = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const INT32 = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);

function checkMessage(type: protobuf.Type, value: unknown, path: string, problems: string[]): void {
  if (!isObject(value)) {
    problems.push(`${path}: expected an object for ${type.name}`);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const field = type.fields[key];
    if (field === undefined) {
      problems.push(`${path}.${key}: not a field of ${type.name}`);
      continue;
    }
    if (item === null) continue;
    if (field.repeated) {
      if (!Array.isArray(item)) {
        problems.push(`${path}.${key}: expected an array`);
        continue;
      }
      item.forEach((element, i) => {
        checkValue(field, element, `${path}.${key}[${i}]`, problems);
      });
    } else {
      checkValue(field, item, `${path}.${key}`, problems);
    }
  }
}

function checkValue(field: protobuf.Field, value: unknown, path: string, problems: string[]): void {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkMessage(resolved, value, path, problems);
    return;
  }
  if (resolved instanceof protobuf.Enum) {
    if (!Number.isInteger(value)) problems.push(`${path}: enum ${resolved.name} must be an integer`);
    return;
  }
  if (INT64.has(field.type)) {
    const ok =
      (typeof value === "string" && /^-?\d+$/.test(value)) ||
      (typeof value === "number" && Number.isSafeInteger(value));
    if (!ok) problems.push(`${path}: ${field.type} must be a decimal string (got ${JSON.stringify(value)})`);
  } else if (INT32.has(field.type)) {
    if (!Number.isInteger(value)) problems.push(`${path}: ${field.type} must be an integer`);
  } else if (field.type === "double" || field.type === "float") {
    if (typeof value !== "number" && !["NaN", "Infinity", "-Infinity"].includes(String(value))) {
      problems.push(`${path}: ${field.type} must be a number`);
    }
  } else if (field.type === "bool") {
    if (typeof value !== "boolean") problems.push(`${path}: bool must be true or false`);
  } else if (typeof value !== "string") {
    // string, and bytes (OTLP/JSON writes trace and span ids as hex strings)
    problems.push(`${path}: ${field.type} must be a string`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
