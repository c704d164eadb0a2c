/** The exporter's validated configuration. Durations are milliseconds. */
import type { Family } from "../families.ts";

export const OTLP_PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["logfmt", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const TEMPORALITIES = ["cumulative", "delta", "lowmemory"] as const;
export type Temporality = (typeof TEMPORALITIES)[number];

export interface PulumiConfig {
  accessToken: string;
  /**
   * Where the token came from, for messages about it: `flag --pulumi.access-token`, `env PULUMI_ACCESS_TOKEN`,
   * `file /run/token (--pulumi.access-token-file)`. Never the token itself.
   */
  accessTokenSource?: string;
  /** The file the token was read from, when it came from one: re-read on SIGHUP and when it changes. */
  accessTokenFile?: string;
  apiUrl: string;
  organizations: string[];
  collectIntervalMs: number;
  /** How often organization inventory is read; never below `collectIntervalMs`. */
  orgIntervalMs: number;
  /** Every stack's drift status is read at least this often; never below `collectIntervalMs`. */
  driftRefreshMs: number;
  /** The longest a running update goes without a read while polling; never below `collectIntervalMs`. */
  runningUpdateMaxGapMs: number;
  maxConcurrency: number;
  /** Per-request timeout. */
  requestTimeoutMs: number;
  /** Largest response body read, in bytes after decompression. */
  maxResponseBytes: number;
  /** Extra CA certificate (PEM) path for the Pulumi API. */
  caFile: string | undefined;
}

export interface OtlpConfig {
  /** False when push is switched off (demo without an endpoint, or --otlp.enabled=false). */
  enabled: boolean;
  /** `host:port` (seed style) or a URL with scheme; the base endpoint (`/v1/metrics` is appended for HTTP). */
  endpoint: string;
  /** OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: the full metrics URL, used as is. */
  metricsEndpoint: string | undefined;
  protocol: OtlpProtocol;
  insecure: boolean;
  headers: Record<string, string>;
  /** Replaces the URL path (e.g. `/api/v1/otlp/v1/metrics` for Prometheus). */
  urlPath: string | undefined;
  timeoutMs: number;
  compression: "gzip" | "none";
  /** CA certificate (PEM) path for the OTLP endpoint. */
  certificateFile: string | undefined;
  temporality: Temporality;
}

/** The webhook receiver's settings; the configuration has none when no secret is set (webhooks off). */
export interface WebhookConfig {
  /** Never printed: not in logs, errors, metrics or pages. */
  secret: string;
  /** The file the secret was read from, when it came from one: re-read on SIGHUP. */
  secretFile?: string;
  /** A listener of the webhook's own; undefined serves it on the main listener. */
  listenAddress: string | undefined;
  /** How often a running update is re-read while webhooks are on; never below the collect interval. */
  reconcileIntervalMs: number;
}

export interface Config {
  pulumi: PulumiConfig;
  otlp: OtlpConfig;
  web: { listenAddress: string; preview: boolean };
  log: { level: LogLevel; format: LogFormat };
  state: { file: string | undefined };
  resource: { serviceName: string; attributes: Record<string, string> };
  /** `disable`: the families switched off, each once (a set, so a consumer asks `has(family)`). */
  metrics: { disable: ReadonlySet<Family> };
  webhook: WebhookConfig | undefined;
  configFile: string | undefined;
}

/**
 * Subcommands: `run` collects from Pulumi Cloud, `demo` runs against the embedded simulator, `check` tests the
 * configuration (token, organizations, OTLP endpoint, listen address) once and exits.
 */
export const COMMANDS = ["run", "demo", "check"] as const;
export type Command = (typeof COMMANDS)[number];
