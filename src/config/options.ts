/**
 * The one table of every configuration option. Parsing (flags, environment, YAML), `--help` and the README's flag
 * table are all derived from it, so they cannot drift apart.
 */
import { FAMILIES } from "../families.ts";
import { parseDuration } from "./duration.ts";
import { LOG_FORMATS, LOG_LEVELS, OTLP_PROTOCOLS, TEMPORALITIES } from "./types.ts";

export type OptionKind = "string" | "bool" | "int" | "bytes" | "duration" | "list" | "map" | "enum";

export interface OptionSpec {
  /** Flag name without the leading `--`; also the option's id. */
  readonly name: string;
  /** Environment variables, most specific first (OTel: the metrics-signal variable beats the generic one). */
  readonly env: readonly string[];
  /** Dotted path in the YAML file, or undefined when the option cannot be set there. */
  readonly yaml: string | undefined;
  readonly kind: OptionKind;
  /** The default as text, parsed like any other input; undefined means unset. */
  readonly default: string | undefined;
  readonly description: string;
  /** Allowed values of an `enum` option (matched case-insensitively). */
  readonly values?: readonly string[];
  /** Never printed: not in errors, not in help. */
  readonly secret?: boolean;
  /** Settable only through the environment (a secret that must not show up in process listings): no flag. */
  readonly envOnly?: boolean;
  /** `duration` only: a bare integer means milliseconds (the OTel timeout variables are integers in ms). */
  readonly bareMillis?: boolean;
  /** `map` only: percent-decode values given as text (OTel `key=value` lists follow W3C Baggage encoding). */
  readonly percentDecode?: boolean;
  /** Placeholder for the value in `--help`. */
  readonly placeholder?: string;
  /** Dotted path of the `Config` field the option sets (used to map validation errors back to their source). */
  readonly field: string;
  /** Environment variables whose text has a format of its own instead of the option's kind. */
  readonly envFormats?: Readonly<Record<string, EnvFormat>>;
  /**
   * A `duration` under `pulumi.` of something done at most once per cycle: never shorter than
   * --pulumi.collect-interval (an explicit shorter value is an error, the default follows a longer collect
   * interval), and the demo and the benchmark keep its default's ratio to the default collect interval.
   */
  readonly cadence?: true;
}

/**
 * `otel-metrics-exporters`: OTEL_METRICS_EXPORTER's list of exporter names (otlp, prometheus, none), read as
 * "push over OTLP or not". `/metrics` is served either way.
 */
export type EnvFormat = "otel-metrics-exporters";

const OTLP_METRICS = "OTEL_EXPORTER_OTLP_METRICS_";
const OTLP = "OTEL_EXPORTER_OTLP_";

export const OPTIONS = [
  {
    name: "pulumi.access-token",
    env: ["PULUMI_ACCESS_TOKEN"],
    yaml: "pulumi.access-token",
    kind: "string",
    default: undefined,
    secret: true,
    placeholder: "TOKEN",
    field: "pulumi.accessToken",
    description:
      "Pulumi Cloud access token. Required by `run` and `check`. Prefer the environment or --pulumi.access-token-file: flags show up in process listings.",
  },
  {
    name: "pulumi.access-token-file",
    env: ["PULUMI_ACCESS_TOKEN_FILE"],
    yaml: "pulumi.access-token-file",
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "pulumi.accessToken",
    description:
      "File holding the access token, such as a mounted Kubernetes secret; a trailing newline is ignored. Set either this or --pulumi.access-token at one level, not both.",
  },
  {
    name: "pulumi.api-url",
    env: ["PULUMI_API_URL"],
    yaml: "pulumi.api-url",
    kind: "string",
    default: "https://api.pulumi.com",
    placeholder: "URL",
    field: "pulumi.apiUrl",
    description: "Pulumi Cloud API base URL.",
  },
  {
    name: "pulumi.organizations",
    env: ["PULUMI_ORGANIZATIONS"],
    yaml: "pulumi.organizations",
    kind: "list",
    default: undefined,
    placeholder: "ORG[,ORG...]",
    field: "pulumi.organizations",
    description:
      "Organizations to monitor. Required by `run` and `check`. Comma-separated, and the flag can be repeated.",
  },
  {
    name: "pulumi.collect-interval",
    env: ["PULUMI_COLLECT_INTERVAL"],
    yaml: "pulumi.collect-interval",
    kind: "duration",
    default: "60s",
    field: "pulumi.collectIntervalMs",
    description: "Time between collection cycles (Go duration: 90s, 5m, 1h30m).",
  },
  {
    name: "pulumi.org-interval",
    env: ["PULUMI_ORG_INTERVAL"],
    yaml: "pulumi.org-interval",
    kind: "duration",
    default: "5m",
    field: "pulumi.orgIntervalMs",
    cadence: true,
    description:
      "Time between reads of organization inventory; never shorter than --pulumi.collect-interval (the default is raised to it).",
  },
  {
    name: "pulumi.drift-refresh",
    env: ["PULUMI_DRIFT_REFRESH"],
    yaml: "pulumi.drift-refresh",
    kind: "duration",
    default: "1h",
    field: "pulumi.driftRefreshMs",
    cadence: true,
    description:
      "Every stack's drift status is read at least this often, the reads spread over the cycles (a stack whose drift deployment finished is read at once); never shorter than --pulumi.collect-interval (the default is raised to it; equal: every stack every cycle).",
  },
  {
    name: "pulumi.running-update-max-gap",
    env: ["PULUMI_RUNNING_UPDATE_MAX_GAP"],
    yaml: "pulumi.running-update-max-gap",
    kind: "duration",
    default: "3m",
    field: "pulumi.runningUpdateMaxGapMs",
    cadence: true,
    description:
      "The longest a stack whose update is running goes without a read: the stack list does not show an update ending, so it is read again two collect intervals after it was seen running, then one interval longer each time, up to this (the end is seen up to this less one interval later; its duration and result are exact; a resource count that moves in the stack list reads it at once). Never shorter than --pulumi.collect-interval (the default is raised to it; equal: every cycle). With webhooks, --webhook.reconcile-interval applies instead.",
  },
  {
    name: "pulumi.max-concurrency",
    env: ["PULUMI_MAX_CONCURRENCY"],
    yaml: "pulumi.max-concurrency",
    kind: "int",
    default: "10",
    placeholder: "N",
    field: "pulumi.maxConcurrency",
    description: "Maximum concurrent Pulumi Cloud API requests (1-100).",
  },
  {
    name: "pulumi.request-timeout",
    env: ["PULUMI_REQUEST_TIMEOUT"],
    yaml: "pulumi.request-timeout",
    kind: "duration",
    default: "30s",
    field: "pulumi.requestTimeoutMs",
    description: "Timeout of each Pulumi Cloud API request.",
  },
  {
    name: "pulumi.max-response-bytes",
    env: ["PULUMI_MAX_RESPONSE_BYTES"],
    yaml: "pulumi.max-response-bytes",
    kind: "bytes",
    default: "64MiB",
    field: "pulumi.maxResponseBytes",
    description:
      "Largest Pulumi Cloud API response body read, counted after decompression: bytes, or a number with KiB, MiB or GiB. A larger response fails its step and is not retried.",
  },
  {
    name: "pulumi.ca-file",
    env: ["PULUMI_CA_FILE"],
    yaml: "pulumi.ca-file",
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "pulumi.caFile",
    description: "Extra CA certificate (PEM) to trust for the Pulumi Cloud API.",
  },
  {
    name: "otlp.enabled",
    env: ["PULUMI_EXPORTER_OTLP_ENABLED", "OTEL_METRICS_EXPORTER"],
    envFormats: { OTEL_METRICS_EXPORTER: "otel-metrics-exporters" },
    yaml: "otlp.enabled",
    kind: "bool",
    default: "true",
    field: "otlp.enabled",
    description:
      "Push metrics over OTLP; false serves /metrics only. `demo` defaults to false unless an OTLP endpoint is set. OTEL_METRICS_EXPORTER takes the OpenTelemetry list (otlp, prometheus, none): push when it names otlp.",
  },
  {
    name: "otlp.endpoint",
    env: [`${OTLP}ENDPOINT`],
    yaml: "otlp.endpoint",
    kind: "string",
    default: "localhost:4318",
    placeholder: "HOST:PORT|URL",
    field: "otlp.endpoint",
    description: "OTLP endpoint: host:port or a URL; /v1/metrics is appended for HTTP.",
  },
  {
    name: "otlp.metrics-endpoint",
    env: [`${OTLP_METRICS}ENDPOINT`],
    yaml: "otlp.metrics-endpoint",
    kind: "string",
    default: undefined,
    placeholder: "URL",
    field: "otlp.metricsEndpoint",
    description:
      "Full OTLP metrics URL, used as is (no path appended). Wins over --otlp.endpoint set at the same level.",
  },
  {
    name: "otlp.protocol",
    env: [`${OTLP_METRICS}PROTOCOL`, `${OTLP}PROTOCOL`],
    yaml: "otlp.protocol",
    kind: "enum",
    values: OTLP_PROTOCOLS,
    default: "http/protobuf",
    field: "otlp.protocol",
    description: "OTLP transport protocol.",
  },
  {
    name: "otlp.insecure",
    env: [`${OTLP_METRICS}INSECURE`, `${OTLP}INSECURE`],
    yaml: "otlp.insecure",
    kind: "bool",
    default: "false",
    field: "otlp.insecure",
    description: "Use plain HTTP / gRPC without TLS for a host:port endpoint.",
  },
  {
    name: "otlp.headers",
    env: [`${OTLP_METRICS}HEADERS`, `${OTLP}HEADERS`],
    yaml: "otlp.headers",
    kind: "map",
    default: undefined,
    percentDecode: true,
    placeholder: "KEY=VALUE[,KEY=VALUE...]",
    field: "otlp.headers",
    description:
      "Headers sent with every export, as key=value pairs (values may be percent-encoded); a YAML mapping in the file. The flag can be repeated.",
  },
  {
    name: "otlp.url-path",
    env: [`${OTLP_METRICS}URL_PATH`],
    yaml: "otlp.url-path",
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "otlp.urlPath",
    description: "Replaces the metrics URL path, e.g. /api/v1/otlp/v1/metrics for Prometheus.",
  },
  {
    name: "otlp.timeout",
    env: [`${OTLP_METRICS}TIMEOUT`, `${OTLP}TIMEOUT`],
    yaml: "otlp.timeout",
    kind: "duration",
    bareMillis: true,
    default: "10s",
    field: "otlp.timeoutMs",
    description:
      "Timeout of each export: a duration, or a bare number of milliseconds as in the OTel variables.",
  },
  {
    name: "otlp.compression",
    env: [`${OTLP_METRICS}COMPRESSION`, `${OTLP}COMPRESSION`],
    yaml: "otlp.compression",
    kind: "enum",
    values: ["gzip", "none"],
    default: "none",
    field: "otlp.compression",
    description: "Compression of export requests.",
  },
  {
    name: "otlp.certificate",
    env: [`${OTLP_METRICS}CERTIFICATE`, `${OTLP}CERTIFICATE`],
    yaml: "otlp.certificate",
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "otlp.certificateFile",
    description: "CA certificate (PEM) to trust for the OTLP endpoint.",
  },
  {
    name: "otlp.temporality",
    env: [`${OTLP_METRICS}TEMPORALITY_PREFERENCE`],
    yaml: "otlp.temporality",
    kind: "enum",
    values: TEMPORALITIES,
    default: "cumulative",
    field: "otlp.temporality",
    description: "Aggregation temporality preference of pushed metrics.",
  },
  {
    name: "resource.service-name",
    env: ["OTEL_SERVICE_NAME"],
    yaml: "resource.service-name",
    kind: "string",
    default: "pulumi-exporter",
    placeholder: "NAME",
    field: "resource.serviceName",
    description: "service.name resource attribute; wins over service.name in --resource.attributes.",
  },
  {
    name: "resource.attributes",
    env: ["OTEL_RESOURCE_ATTRIBUTES"],
    yaml: "resource.attributes",
    kind: "map",
    default: undefined,
    percentDecode: true,
    placeholder: "KEY=VALUE[,KEY=VALUE...]",
    field: "resource.attributes",
    description:
      "Extra resource attributes as key=value pairs (values may be percent-encoded); a YAML mapping in the file.",
  },
  {
    name: "metrics.disable",
    env: ["PULUMI_EXPORTER_METRICS_DISABLE"],
    yaml: "metrics.disable",
    kind: "list",
    default: undefined,
    placeholder: "FAMILY[,FAMILY...]",
    field: "metrics.disable",
    description: `Metric families to switch off: no API calls, no series. Comma-separated, and the flag can be repeated. Families: ${FAMILIES.join(", ")}.`,
  },
  {
    name: "web.listen-address",
    env: ["PULUMI_EXPORTER_LISTEN_ADDRESS"],
    yaml: "web.listen-address",
    kind: "string",
    default: ":8080",
    placeholder: "[HOST]:PORT",
    field: "web.listenAddress",
    description:
      "Address of the HTTP server (/metrics, health checks); an empty host is every interface, IPv4 and IPv6. `demo` defaults to 127.0.0.1:8080.",
  },
  {
    name: "web.disable-preview",
    env: ["PULUMI_EXPORTER_DISABLE_PREVIEW"],
    yaml: "web.disable-preview",
    kind: "bool",
    default: "false",
    field: "web.preview",
    description: "Switch off the /metrics-preview page.",
  },
  {
    name: "webhook.secret",
    env: ["PULUMI_EXPORTER_WEBHOOK_SECRET"],
    yaml: undefined,
    kind: "string",
    default: undefined,
    secret: true,
    envOnly: true,
    field: "webhook.secret",
    description:
      "Shared secret of the Pulumi Cloud webhook; setting it (or --webhook.secret-file) enables POST /webhooks/pulumi. Environment only, so it never shows up in process listings.",
  },
  {
    name: "webhook.secret-file",
    env: ["PULUMI_EXPORTER_WEBHOOK_SECRET_FILE"],
    yaml: "webhook.secret-file",
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "webhook.secret",
    description:
      "File holding the webhook secret, such as a mounted Kubernetes secret; a trailing newline is ignored; re-read every 30 s and on SIGHUP, so a rotated secret applies without a restart. Set either this or PULUMI_EXPORTER_WEBHOOK_SECRET at one level, not both.",
  },
  {
    name: "webhook.listen-address",
    env: ["PULUMI_EXPORTER_WEBHOOK_LISTEN_ADDRESS"],
    yaml: "webhook.listen-address",
    kind: "string",
    default: undefined,
    placeholder: "[HOST]:PORT",
    field: "webhook.listenAddress",
    description:
      "Serve the webhook on a listener of its own that serves nothing else, so only it needs to be reachable from outside; unset serves it on --web.listen-address.",
  },
  {
    name: "webhook.reconcile-interval",
    env: ["PULUMI_EXPORTER_WEBHOOK_RECONCILE_INTERVAL"],
    yaml: "webhook.reconcile-interval",
    kind: "duration",
    default: "5m",
    field: "webhook.reconcileIntervalMs",
    description:
      "With webhooks on, how often a running update is re-read in case its event was lost; never shorter than --pulumi.collect-interval.",
  },
  {
    name: "log.level",
    env: ["PULUMI_EXPORTER_LOG_LEVEL"],
    yaml: "log.level",
    kind: "enum",
    values: LOG_LEVELS,
    default: "info",
    field: "log.level",
    description: "Minimum level of log lines.",
  },
  {
    name: "log.format",
    env: ["PULUMI_EXPORTER_LOG_FORMAT"],
    yaml: "log.format",
    kind: "enum",
    values: LOG_FORMATS,
    default: "logfmt",
    field: "log.format",
    description: "Format of log lines.",
  },
  {
    name: "state.file",
    env: ["PULUMI_EXPORTER_STATE_FILE"],
    yaml: "state.file",
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "state.file",
    description: "File that keeps collector state across restarts; unset keeps it in memory only.",
  },
  {
    name: "config.file",
    env: ["PULUMI_EXPORTER_CONFIG_FILE"],
    yaml: undefined,
    kind: "string",
    default: undefined,
    placeholder: "PATH",
    field: "configFile",
    description: "YAML configuration file (see config.example.yaml).",
  },
] as const satisfies readonly OptionSpec[];

export type Option = (typeof OPTIONS)[number];
export type OptionName = Option["name"];

/** The cadence options (`OptionSpec.cadence`) and the `pulumi` fields they set. */
export type CadenceOption = Extract<Option, { readonly cadence: true }>;
type PulumiFieldOf<O> = O extends { readonly field: `pulumi.${infer F}` } ? F : never;
export type CadenceField = PulumiFieldOf<CadenceOption>;

export const CADENCES: readonly CadenceOption[] = OPTIONS.filter(
  (o): o is CadenceOption => "cadence" in o && o.cadence === true,
);

/** The `pulumi` field a cadence option sets. */
export function cadenceField(option: CadenceOption): CadenceField {
  return option.field.slice("pulumi.".length) as CadenceField;
}

/** The parsed value type of each kind. */
export interface KindValue {
  string: string;
  bool: boolean;
  int: number;
  bytes: number;
  /** Milliseconds. */
  duration: number;
  list: string[];
  map: Record<string, string>;
  enum: string;
}

export type OptionValue = KindValue[OptionKind];
export type ValueOf<N extends OptionName> = KindValue[Extract<(typeof OPTIONS)[number], { name: N }>["kind"]];

const BY_NAME: ReadonlyMap<string, Option> = new Map(OPTIONS.map((o) => [o.name, o]));
const BY_YAML: ReadonlyMap<string, Option> = new Map(
  OPTIONS.flatMap((o): [string, Option][] => (o.yaml === undefined ? [] : [[o.yaml, o]])),
);

export function optionByName(name: string): Option | undefined {
  return BY_NAME.get(name);
}

/** The option of a name known to be in the table. */
export function option(name: OptionName): Option {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`no option ${name}`);
  return spec;
}

export function optionByYamlKey(key: string): Option | undefined {
  return BY_YAML.get(key);
}

/** Every YAML key path of the table, in table order. */
export function yamlKeys(): string[] {
  return OPTIONS.flatMap((o) => (o.yaml === undefined ? [] : [o.yaml]));
}

/** Every place an option can be set, for "set it with ..." hints. */
export function describeSources(spec: OptionSpec): string {
  const places = [`--${spec.name}`, ...spec.env];
  if (spec.yaml !== undefined) places.push(`${spec.yaml} in the config file`);
  return places.join(", ");
}

/** A duration option's default in milliseconds. */
function defaultMs(spec: OptionSpec): number {
  const ms = spec.default === undefined ? undefined : parseDuration(spec.default);
  if (ms === undefined) throw new Error(`${spec.name} has no default duration (got ${spec.default})`);
  return ms;
}

export const DEFAULT_COLLECT_INTERVAL_MS = defaultMs(option("pulumi.collect-interval"));

export interface CadenceDefault {
  readonly option: CadenceOption;
  readonly field: CadenceField;
  readonly defaultMs: number;
  /** The default over the collect interval's default: 5 for 5m over 60s. */
  readonly cycles: number;
}

/** Each cadence's default, and how many default collect intervals it spans (the demo and the bench keep it). */
export const CADENCE_DEFAULTS: readonly CadenceDefault[] = CADENCES.map((spec) => ({
  option: spec,
  field: cadenceField(spec),
  defaultMs: defaultMs(spec),
  cycles: defaultMs(spec) / DEFAULT_COLLECT_INTERVAL_MS,
}));
