/**
 * Derivation rules: the values that are not one option's winning value, but follow from several options, their
 * sources or the command. Each is a small named function in `DERIVATIONS`; `buildCandidate` assembles them with
 * the plain values into the configuration to validate.
 */
import { tryRead } from "./config-fs.ts";
import { type Findings, isSet, optional, RANK, type Resolution, type Resolved } from "./layers.ts";
import { CADENCES, type CadenceField, cadenceField } from "./options.ts";
import type { ConfigCandidate } from "./validate.ts";

/** The demo needs no one else to reach it, so unless told otherwise it listens on loopback only. */
export const DEMO_LISTEN_ADDRESS = "127.0.0.1:8080";

/** `flag --pulumi.access-token`, `env PULUMI_ACCESS_TOKEN`, `config file config.yaml:3: pulumi.access-token`. */
function describeSource(origin: Resolved): string {
  const kind = origin.layer === "flag" ? "flag" : origin.layer === "env" ? "env" : "config file";
  return `${kind} ${origin.label}`;
}

interface AccessToken {
  accessToken: string;
  accessTokenSource?: string;
  accessTokenFile?: string;
}

/** The token file's contents, its trailing line break dropped. */
function tokenFromFile(r: Resolution, out: Findings, tokenFile: Resolved, path: string): AccessToken {
  out.origins.set("pulumi.accessToken", tokenFile);
  const read = tryRead(r.fs, path);
  if (!read.ok) {
    out.failed.add("pulumi.access-token-file");
    out.problems.push(`${tokenFile.label}: cannot read ${path}: ${read.reason}`);
    return { accessToken: "" };
  }
  const accessToken = read.text.replace(/[\r\n]+$/, "");
  out.secrets.push(accessToken);
  if (accessToken === "") {
    out.failed.add("pulumi.access-token-file");
    out.problems.push(`${tokenFile.label}: ${path} is empty`);
  }
  return { accessToken, accessTokenSource: `file ${path} (${tokenFile.label})`, accessTokenFile: path };
}

/** The access token: inline or from a file, whichever is set at the higher level; both at one level is an error. */
function deriveAccessToken(r: Resolution, out: Findings): AccessToken {
  const inline = r.winner("pulumi.access-token");
  const tokenFile = r.winner("pulumi.access-token-file");
  const tokenFilePath = optional(tokenFile?.value);
  let token: AccessToken = { accessToken: "" };
  if (
    inline !== undefined &&
    optional(inline.value) !== undefined &&
    tokenFile !== undefined &&
    tokenFilePath !== undefined &&
    inline.layer === tokenFile.layer
  ) {
    out.failed.add("pulumi.access-token");
    out.problems.push(`${inline.label} and ${tokenFile.label} are both set; use one`);
  } else if (
    tokenFile !== undefined &&
    tokenFilePath !== undefined &&
    RANK[tokenFile.layer] > RANK[inline?.layer ?? "default"]
  ) {
    token = tokenFromFile(r, out, tokenFile, tokenFilePath);
  } else if (!out.failed.has("pulumi.access-token")) {
    token = { accessToken: r.get("pulumi.access-token") ?? "" };
    if (inline !== undefined && inline.layer !== "default") token.accessTokenSource = describeSource(inline);
  }
  if (out.failed.has("pulumi.access-token-file")) out.failed.add("pulumi.access-token");
  return token;
}

/**
 * OTLP endpoints: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT beats the generic endpoint at the same level, per the OTel
 * spec, but not an endpoint set at a higher level (a flag beats any variable). Push is on unless switched off,
 * except that the demo pushes only when given an endpoint.
 */
function deriveOtlpPush(
  r: Resolution,
  out: Findings,
): { metricsEndpoint: string | undefined; enabled: boolean } {
  const endpoint = r.winner("otlp.endpoint");
  let metricsEndpoint = optional(r.get("otlp.metrics-endpoint"));
  const metricsOrigin = r.winner("otlp.metrics-endpoint");
  if (metricsEndpoint !== undefined && endpoint !== undefined && metricsOrigin !== undefined) {
    if (RANK[endpoint.layer] > RANK[metricsOrigin.layer]) {
      out.warnings.push(`${metricsOrigin.label} is ignored: ${endpoint.label} is set and takes precedence`);
      metricsEndpoint = undefined;
    }
  }
  const endpointGiven = isSet(endpoint) || metricsEndpoint !== undefined;
  const enabledOrigin = r.winner("otlp.enabled");
  const enabled =
    isSet(enabledOrigin) && !out.failed.has("otlp.enabled")
      ? enabledOrigin?.value === true
      : r.command !== "demo" || endpointGiven;
  return { metricsEndpoint, enabled };
}

/** service.name: the explicit option, else service.name in the resource attributes, else the default. */
function deriveResource(r: Resolution): { serviceName: string; attributes: Record<string, string> } {
  const attributes = { ...(r.get("resource.attributes") ?? {}) };
  const attributeServiceName = attributes["service.name"];
  delete attributes["service.name"];
  const serviceName =
    isSet(r.winner("resource.service-name")) || attributeServiceName === undefined
      ? (r.get("resource.service-name") ?? "")
      : attributeServiceName;
  return { serviceName, attributes };
}

function deriveListenAddress(r: Resolution): string {
  if (r.command === "demo" && !isSet(r.winner("web.listen-address"))) return DEMO_LISTEN_ADDRESS;
  return r.get("web.listen-address") ?? "";
}

/**
 * The cadences (the organization interval, the drift refresh, the running-update gap): an explicit value is
 * validated against the collect interval (validate.ts); a default is only a default, so it follows a longer
 * collect interval rather than failing.
 */
function deriveCadences(r: Resolution, out: Findings): Record<CadenceField, number> {
  const collect = r.get("pulumi.collect-interval") ?? 0;
  const cadences = {} as Record<CadenceField, number>;
  for (const option of CADENCES) {
    const ms = r.get(option.name) ?? 0;
    const explicit = isSet(r.winner(option.name)) && !out.failed.has(option.name);
    cadences[cadenceField(option)] = explicit ? ms : Math.max(ms, collect);
  }
  return cadences;
}

export interface WebhookCandidate {
  secret: string;
  /** The file the secret was read from, when it came from one: re-read on SIGHUP. */
  secretFile?: string;
  listenAddress: string | undefined;
  reconcileIntervalMs: number;
}

/** The secret file's contents, its trailing line break dropped; problems never quote the contents. */
function webhookSecretFromFile(r: Resolution, out: Findings, origin: Resolved, path: string): string {
  out.origins.set("webhook.secret", origin);
  const read = tryRead(r.fs, path);
  if (!read.ok) {
    out.failed.add("webhook.secret-file");
    out.problems.push(`${origin.label}: cannot read ${path}: ${read.reason}`);
    return "";
  }
  const secret = read.text.replace(/[\r\n]+$/, "");
  out.secrets.push(secret);
  if (secret === "") {
    out.failed.add("webhook.secret-file");
    out.problems.push(`${origin.label}: ${path} is empty`);
  }
  return secret;
}

/**
 * Webhooks are on when a secret is set, inline (environment only) or from a file, whichever is set at the higher
 * level (both at one level is an error). The reconcile interval's default follows a longer collect interval, as the
 * organization interval's does; an explicit one is validated against it.
 */
function deriveWebhook(r: Resolution, out: Findings): WebhookCandidate | undefined {
  const inline = r.winner("webhook.secret");
  const file = r.winner("webhook.secret-file");
  const path = optional(file?.value);
  const inlineSecret = optional(inline?.value);
  let secret: string | undefined;
  let secretFile: string | undefined;
  if (inline !== undefined && inlineSecret !== undefined && file !== undefined && path !== undefined) {
    if (inline.layer === file.layer) {
      out.failed.add("webhook.secret");
      out.problems.push(`${inline.label} and ${file.label} are both set; use one`);
      return undefined;
    }
  }
  if (file !== undefined && path !== undefined && RANK[file.layer] > RANK[inline?.layer ?? "default"]) {
    secret = webhookSecretFromFile(r, out, file, path);
    secretFile = path;
  } else if (inlineSecret !== undefined) secret = inlineSecret;
  if (secret === undefined) {
    // A listener that does not come up is worth a word; the interval is harmless (the example file sets it).
    const listener = r.winner("webhook.listen-address");
    if (isSet(listener) && optional(listener?.value) !== undefined)
      out.warnings.push(`${listener?.label} is ignored: no webhook secret is set`);
    return undefined;
  }
  const reconcile = r.get("webhook.reconcile-interval") ?? 0;
  const explicit =
    isSet(r.winner("webhook.reconcile-interval")) && !out.failed.has("webhook.reconcile-interval");
  return {
    secret,
    ...(secretFile === undefined ? {} : { secretFile }),
    listenAddress: optional(r.get("webhook.listen-address")),
    reconcileIntervalMs: explicit ? reconcile : Math.max(reconcile, r.get("pulumi.collect-interval") ?? 0),
  };
}

/** Certificates must be readable now rather than at the first request. Derives nothing. */
function checkCertificatesReadable(r: Resolution, out: Findings): undefined {
  for (const name of ["pulumi.ca-file", "otlp.certificate"] as const) {
    const path = optional(r.get(name));
    const origin = r.winner(name);
    if (path === undefined || origin === undefined) continue;
    const read = tryRead(r.fs, path);
    if (!read.ok) out.problems.push(`${origin.label}: cannot read ${path}: ${read.reason}`);
  }
  return undefined;
}

/** Every derivation rule, run in this order (the order of their problems and warnings). */
export const DERIVATIONS = {
  token: deriveAccessToken,
  otlpPush: deriveOtlpPush,
  resource: deriveResource,
  listenAddress: deriveListenAddress,
  cadences: deriveCadences,
  certificates: checkCertificatesReadable,
  webhook: deriveWebhook,
} as const satisfies Record<string, (r: Resolution, out: Findings) => unknown>;

export type Derived = { [K in keyof typeof DERIVATIONS]: ReturnType<(typeof DERIVATIONS)[K]> };

export function derive(r: Resolution, out: Findings): Derived {
  const derived: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(DERIVATIONS)) derived[name] = rule(r, out);
  return derived as Derived;
}

/** The configuration to validate: plain winning values and the derived ones. */
export function buildCandidate(r: Resolution, d: Derived): ConfigCandidate {
  return {
    pulumi: {
      ...d.token,
      apiUrl: r.get("pulumi.api-url") ?? "",
      organizations: r.get("pulumi.organizations") ?? [],
      collectIntervalMs: r.get("pulumi.collect-interval") ?? 0,
      ...d.cadences,
      maxConcurrency: r.get("pulumi.max-concurrency") ?? 0,
      requestTimeoutMs: r.get("pulumi.request-timeout") ?? 0,
      maxResponseBytes: r.get("pulumi.max-response-bytes") ?? 0,
      caFile: optional(r.get("pulumi.ca-file")),
    },
    otlp: {
      ...d.otlpPush,
      endpoint: r.get("otlp.endpoint") ?? "",
      protocol: r.get("otlp.protocol") ?? "",
      insecure: r.get("otlp.insecure") ?? false,
      headers: r.get("otlp.headers") ?? {},
      urlPath: optional(r.get("otlp.url-path")),
      timeoutMs: r.get("otlp.timeout") ?? 0,
      compression: r.get("otlp.compression") ?? "",
      certificateFile: optional(r.get("otlp.certificate")),
      temporality: r.get("otlp.temporality") ?? "",
    },
    web: { listenAddress: d.listenAddress, preview: !(r.get("web.disable-preview") ?? false) },
    log: { level: r.get("log.level") ?? "", format: r.get("log.format") ?? "" },
    state: { file: optional(r.get("state.file")) },
    resource: d.resource,
    metrics: { disable: r.get("metrics.disable") ?? [] },
    webhook: d.webhook,
    configFile: r.configFile,
  };
}
