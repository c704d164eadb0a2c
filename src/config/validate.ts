/**
 * Validation of the merged configuration with arktype: each field's rule in one schema, the rules over several
 * fields in `CROSS_FIELD_RULES`, every problem reported. Values the server or the exporter parse again (listen
 * address, OTLP endpoints, headers) are checked by those very parsers.
 */
import { type } from "arktype";
import { FAMILIES, type Family, isFamily } from "../families.ts";
import { type HeaderProblem, headerProblem, parseOtlpEndpoint } from "../metrics/otlp-endpoint.ts";
import { OtlpEndpointError } from "../metrics/otlp-endpoint-error.ts";
import { parseListenAddress } from "../server/listen-address.ts";
import { ListenAddressError } from "../server/listen-address-error.ts";
import { closest } from "./argv.ts";
import { formatDuration } from "./duration.ts";
import { CADENCES, type CadenceField, cadenceField } from "./options.ts";
import {
  type Command,
  type Config,
  LOG_FORMATS,
  LOG_LEVELS,
  OTLP_PROTOCOLS,
  TEMPORALITIES,
} from "./types.ts";

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/**
 * Whether the runtime's own parser takes the value: validation asks the parser the exporter will use, so the two
 * cannot disagree. Only the parser's own error means "no"; anything else is a bug and propagates.
 */
function accepts(parse: () => unknown, rejection: new (...args: never[]) => Error): boolean {
  try {
    parse();
    return true;
  } catch (error) {
    if (error instanceof rejection) return false;
    throw error;
  }
}

const httpUrl = type("string").narrow((s, ctx) => isHttpUrl(s) || ctx.mustBe("an http:// or https:// URL"));

const metricsEndpoint = type("undefined").or(
  type("string").narrow(
    (s, ctx) =>
      accepts(() => parseOtlpEndpoint(s, "metricsEndpoint"), OtlpEndpointError) ||
      ctx.mustBe("an http:// or https:// URL"),
  ),
);

const endpoint = type("string").narrow(
  (s, ctx) =>
    accepts(() => parseOtlpEndpoint(s, "endpoint"), OtlpEndpointError) ||
    ctx.mustBe("host:port or an http:// or https:// URL"),
);

const listenAddress = type("string").narrow(
  (s, ctx) =>
    accepts(() => parseListenAddress(s), ListenAddressError) ||
    ctx.mustBe("[host]:port, such as :8080 or 127.0.0.1:8080"),
);

const urlPath = type("undefined")
  .or("string")
  .narrow((s, ctx) => s === undefined || s.startsWith("/") || ctx.mustBe("a path starting with /"));

const positiveDuration = type("number > 0").configure({
  problem: (ctx) =>
    `must be greater than 0 (got ${typeof ctx.data === "number" ? formatDuration(ctx.data) : ctx.actual})`,
});

/** Every cadence is a positive duration (and no shorter than the collect interval: `onceACycleProblems`). */
const cadenceSchema = Object.fromEntries(
  CADENCES.map((option) => [cadenceField(option), positiveDuration]),
) as Record<CadenceField, typeof positiveDuration>;

const concurrency = type("1 <= number.integer <= 100").configure({
  problem: (ctx) => `must be between 1 and 100 (got ${ctx.actual})`,
});

const byteCount = type("0 < number.integer <= 9007199254740991").configure({
  problem: (ctx) =>
    typeof ctx.data === "number" && ctx.data > 0
      ? `must be at most 9007199254740991 bytes (got ${ctx.data})`
      : `must be greater than 0 (got ${ctx.actual})`,
});

const nonEmpty = type("string").narrow(
  (s, ctx) => s.trim() !== "" || ctx.reject({ problem: "must not be empty" }),
);

/** The token is never quoted back, so problems are written without the value. */
function accessToken(required: boolean) {
  return type("string").narrow((s, ctx) => {
    if (s === "") return !required || ctx.reject({ problem: "is required" });
    return !/\s/.test(s) || ctx.reject({ problem: "must not contain whitespace or line breaks" });
  });
}

/** An organization name is a path segment of every request for it: `..` would make /api/orgs/../teams. */
function organizationProblem(org: string, index: number, count: number): string | undefined {
  if (org === "") return `organization ${index + 1} of ${count} is empty`;
  if (org === "." || org === "..")
    return `organization ${JSON.stringify(org)} is not a valid name (must not be "." or "..")`;
  if (/[\s/]/.test(org)) return `organization ${JSON.stringify(org)} must not contain spaces or "/"`;
  return undefined;
}

function organizations(required: boolean) {
  return type("string[]").narrow((orgs, ctx) => {
    if (orgs.length === 0)
      return !required || ctx.reject({ problem: "at least one organization is required" });
    let valid = true;
    orgs.forEach((org, index) => {
      const problem = organizationProblem(org, index, orgs.length);
      // Each at its own index: arktype merges problems at one path into a single unreadable one.
      if (problem !== undefined) valid = ctx.reject({ problem, relativePath: [index] });
    });
    return valid;
  });
}

/** Header values are often credentials: problems name the header, never its value. */
const HEADER_PROBLEMS: Record<HeaderProblem, (quoted: string) => string> = {
  name: (quoted) => `${quoted} is not a valid header name`,
  "grpc-key": (quoted) => `${quoted} is not a valid gRPC metadata key (letters, digits, "-", "_", ".")`,
  "grpc-binary": (quoted) => `${quoted}: binary (-bin) gRPC metadata is not supported`,
  value: (quoted) => `value of header ${quoted} must not contain CR, LF or NUL`,
};

/** The exporter's own header rule (it depends on the protocol: gRPC carries headers as metadata). */
function headerProblems(candidate: ConfigCandidate): ValidationProblem[] {
  const grpc = candidate.otlp.protocol === "grpc";
  return Object.entries(candidate.otlp.headers).flatMap(([name, value]) => {
    const problem = headerProblem(name, value, grpc);
    return problem === undefined
      ? []
      : [{ field: "otlp.headers", problem: HEADER_PROBLEMS[problem](JSON.stringify(name)) }];
  });
}

const attributes = type("Record<string, string>");

/** Short names (org, esc, neo) sit a few edits from anything: two edits still catch a swap or a dropped letter. */
const FAMILY_HINT_DISTANCE = 2;

function unknownFamily(name: string): string {
  const suggestion = closest(name.toLowerCase(), FAMILIES, FAMILY_HINT_DISTANCE);
  const hint = suggestion === undefined ? "" : ` (did you mean ${JSON.stringify(suggestion)}?)`;
  return `unknown family ${JSON.stringify(name)}${hint}; families: ${FAMILIES.join(", ")}`;
}

/** Family names match case-insensitively; an empty entry names none, so `--metrics.disable=` clears the list. */
const disabledFamilies = type("string[]")
  .narrow((names, ctx) => {
    let valid = true;
    names.forEach((name, index) => {
      if (name !== "" && !isFamily(name.toLowerCase()))
        valid = ctx.reject({ problem: unknownFamily(name), relativePath: [index] });
    });
    return valid;
  })
  .pipe((names): ReadonlySet<Family> => new Set(names.map((n) => n.toLowerCase()).filter(isFamily)));

/**
 * Durations of things read at most once per cycle (the organization inventory, every stack's drift, a running
 * update): a shorter one could never be honoured. Checked apart from the schema (which skips an object's own rules
 * when one of its fields fails), and only between two valid durations, so it is listed with every other problem
 * and never beside a problem of either duration.
 */
function onceACycleProblems(candidate: ConfigCandidate): ValidationProblem[] {
  return CADENCES.flatMap((option) => notShorterThanCollect(candidate, cadenceField(option)));
}

function notShorterThanCollect(candidate: ConfigCandidate, field: CadenceField): ValidationProblem[] {
  const { collectIntervalMs: collect, [field]: value } = candidate.pulumi;
  if (!(collect > 0 && value > 0) || value >= collect) return [];
  const problem = `must not be shorter than the collect interval, ${formatDuration(collect)} (got ${formatDuration(value)})`;
  return [{ field: `pulumi.${field}`, problem }];
}

/** The secret is never quoted back, so problems are written without the value. */
const webhookSecret = type("string").narrow(
  (s, ctx) => s.trim() !== "" || ctx.reject({ problem: "must not be empty" }),
);

const webhook = type({
  secret: webhookSecret,
  "secretFile?": "string",
  listenAddress: type("undefined").or(listenAddress),
  reconcileIntervalMs: positiveDuration,
}).or("undefined");

/** A running update is re-read at most once per cycle: a shorter reconcile interval could never be honoured. */
function reconcileIntervalProblem(candidate: ConfigCandidate): ValidationProblem[] {
  const collect = candidate.pulumi.collectIntervalMs;
  const reconcile = candidate.webhook?.reconcileIntervalMs ?? 0;
  if (!(collect > 0 && reconcile > 0) || reconcile >= collect) return [];
  const problem = `must not be shorter than the collect interval, ${formatDuration(collect)} (got ${formatDuration(reconcile)})`;
  return [{ field: "webhook.reconcileIntervalMs", problem }];
}

/** Two listeners cannot share one address. */
function webhookListenerProblem(candidate: ConfigCandidate): ValidationProblem[] {
  const own = candidate.webhook?.listenAddress;
  if (own === undefined || own !== candidate.web.listenAddress) return [];
  return [
    { field: "webhook.listenAddress", problem: `must differ from the main listen address (got ${own})` },
  ];
}

function schema(command: Command) {
  // Only the demo brings its own token and organizations.
  const required = command !== "demo";
  const pulumi = type({
    accessToken: accessToken(required),
    "accessTokenSource?": "string",
    "accessTokenFile?": "string",
    apiUrl: httpUrl,
    organizations: organizations(required),
    collectIntervalMs: positiveDuration,
    ...cadenceSchema,
    maxConcurrency: concurrency,
    requestTimeoutMs: positiveDuration,
    maxResponseBytes: byteCount,
    caFile: "string | undefined",
  });
  return type({
    pulumi,
    otlp: {
      enabled: "boolean",
      endpoint,
      metricsEndpoint,
      protocol: type.enumerated(...OTLP_PROTOCOLS),
      insecure: "boolean",
      headers: "Record<string, string>",
      urlPath,
      timeoutMs: positiveDuration,
      compression: type.enumerated("gzip", "none"),
      certificateFile: "string | undefined",
      temporality: type.enumerated(...TEMPORALITIES),
    },
    web: { listenAddress, preview: "boolean" },
    log: { level: type.enumerated(...LOG_LEVELS), format: type.enumerated(...LOG_FORMATS) },
    state: { file: "string | undefined" },
    resource: { serviceName: nonEmpty, attributes },
    metrics: { disable: disabledFamilies },
    webhook,
    configFile: "string | undefined",
  });
}

const SCHEMAS = { run: schema("run"), demo: schema("demo"), check: schema("check") };

type Widen<T> = T extends string
  ? string
  : T extends ReadonlySet<unknown>
    ? string[]
    : T extends readonly unknown[]
      ? T
      : T extends object
        ? { [K in keyof T]: Widen<T[K]> }
        : T;

/** A configuration before validation: enums are still plain strings. */
export type ConfigCandidate = Widen<Config>;
export type ValidConfig = (typeof SCHEMAS)["run"]["infer"];

export interface ValidationProblem {
  /** Dotted path of the field, e.g. `pulumi.maxConcurrency` (array indexes dropped). */
  field: string;
  problem: string;
}

export type Validation = { ok: true; config: ValidConfig } | { ok: false; problems: ValidationProblem[] };

/** Rules over more than one field, checked apart from the schema so their problems come with all the others. */
const CROSS_FIELD_RULES: ReadonlyArray<(candidate: ConfigCandidate) => ValidationProblem[]> = [
  onceACycleProblems,
  headerProblems,
  reconcileIntervalProblem,
  webhookListenerProblem,
];

export function validateConfig(candidate: ConfigCandidate, command: Command): Validation {
  const out = SCHEMAS[command](candidate);
  const crossField = CROSS_FIELD_RULES.flatMap((rule) => rule(candidate));
  if (!(out instanceof type.errors)) {
    return crossField.length === 0 ? { ok: true, config: out } : { ok: false, problems: crossField };
  }
  return {
    ok: false,
    problems: [
      ...out.map((error) => {
        const field = error.path.filter((segment) => typeof segment === "string").join(".");
        // One wording for every message: "(got X)", as the parsers say. arktype puts the path in front of some
        // problems (a choice of two values): the caller names the option already.
        const problem = error.problem.startsWith(`${field} `)
          ? error.problem.slice(field.length + 1)
          : error.problem;
        return { field, problem: problem.replace(/ \(was (.*)\)$/, " (got $1)") };
      }),
      ...crossField,
    ],
  };
}
