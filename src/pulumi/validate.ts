/**
 * Runtime checks of exactly the Pulumi Cloud fields the exporter reads. Items are validated one by one so a single
 * malformed item is dropped while the rest of the response is used; the envelope (JSON object with its array) must
 * be sound or the whole response is rejected. Undeclared fields are removed, which keeps big lists small in memory.
 */
import { ArkErrors, type } from "arktype";
import { parseDbTime, parseRfc3339 } from "./times.ts";

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** An arktype type, or anything called the same way. */
export type Validator<T> = (data: unknown) => T | ArkErrors;

/**
 * Builds a validator on its first call. arktype compiles a type when it is defined, and a process that never
 * reads, say, Neo tasks, or has not yet read anything when its HTTP server comes up, need not hold them.
 */
export function lazy<T>(build: () => Validator<T>): Validator<T> {
  let built: Validator<T> | undefined;
  return (data) => {
    built ??= build();
    return built(data);
  };
}

/**
 * An organization, project or stack name: one path segment of the requests made with it. "", "." and ".." would
 * change the request path (`/api/orgs/../teams` is `/api/teams`); "/" would split the segment at servers that
 * decode before routing.
 */
export function isPathName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/");
}

function buildScalars() {
  return {
    /**
     * Every count, version and token number the exporter reads: a JSON number that is negative, fractional, not
     * finite or beyond Number.MAX_SAFE_INTEGER is no count (seen exported before: -1, 1e+308, 18446744073709552000).
     */
    count: type("0 <= number.integer <= 9007199254740991"),
    /** Unix seconds, at most the last second of the year 9999. */
    unixSeconds: type("0 <= number.integer <= 253402300799"),
    /** See {@link isPathName}. */
    pathName: type("string").narrow(
      (name, ctx) => isPathName(name) || ctx.mustBe('a name other than "", "." and ".." without "/"'),
    ),
  };
}

let builtScalars: ReturnType<typeof buildScalars> | undefined;
/** The field types the item validators share, built with the first of them. */
export function scalars(): ReturnType<typeof buildScalars> {
  builtScalars ??= buildScalars();
  return builtScalars;
}

export const stackItem = lazy(() => {
  const { count, unixSeconds, pathName } = scalars();
  return type({
    "id?": "string",
    orgName: pathName,
    projectName: pathName,
    stackName: pathName,
    "lastUpdate?": unixSeconds,
    "resourceCount?": count,
  }).onUndeclaredKey("delete");
});

export const stackUpdateItem = lazy(() => {
  const { count, unixSeconds } = scalars();
  return type({
    kind: "string",
    result: "string",
    startTime: unixSeconds,
    "endTime?": unixSeconds,
    version: count,
    "resourceChanges?": type.Record("string", count),
  }).onUndeclaredKey("delete");
});

export const deploymentItem = lazy(() =>
  type({
    id: "string",
    // Any status string: one Pulumi adds later is ignored by the counts, not reported as a malformed item.
    status: "string",
    created: "string",
    modified: "string",
  }).onUndeclaredKey("delete"),
);

/** A deployment's `created`/`modified`: UTC without a zone, like 2026-05-20 11:57:05.650. */
function dbTime() {
  return type("string").pipe(
    (text, ctx) => parseDbTime(text) ?? ctx.error("a UTC time like 2026-05-20 11:57:05.650"),
  );
}

/** A job's time: RFC 3339, or absent (Go writes an unset time as null). */
function jobTime() {
  return type("string | null").pipe((text, ctx) =>
    text === null ? undefined : (parseRfc3339(text) ?? ctx.error("an RFC 3339 time")),
  );
}

function deploymentJob() {
  return type({ "started?": jobTime(), "lastUpdated?": jobTime() })
    .onUndeclaredKey("delete")
    .pipe((job) => ({
      ...(job.started === undefined ? {} : { startedMs: job.started }),
      ...(job.lastUpdated === undefined ? {} : { lastUpdatedMs: job.lastUpdated }),
    }));
}

/**
 * A deployment of the incremental read, times parsed (see api.ts `DeploymentRun`). An item without an id or with a
 * time that does not parse is malformed: it could be neither told apart from the others nor placed in time.
 */
export const deploymentRunItem = lazy(() =>
  type({
    id: "string > 0",
    created: dbTime(),
    // Open strings: a status or operation Pulumi adds later is not a malformed item.
    status: "string",
    pulumiOperation: "string",
    "agentPool?": type({ name: "string" }).onUndeclaredKey("delete"),
    "projectName?": "string",
    "stackName?": "string",
    "jobs?": deploymentJob().array(),
  })
    .onUndeclaredKey("delete")
    .pipe((d) => ({
      id: d.id,
      createdMs: d.created,
      status: d.status,
      operation: d.pulumiOperation,
      ...(d.agentPool === undefined ? {} : { agentPool: d.agentPool.name }),
      ...(d.projectName === undefined || d.stackName === undefined
        ? {}
        : { project: d.projectName, stack: d.stackName }),
      jobs: d.jobs ?? [],
    })),
);

/** Members are only counted: any object is kept, whatever its role. */
export const memberItem = lazy(() =>
  type({
    "role?": "string",
  }).onUndeclaredKey("delete"),
);

export const namedItem = lazy(() => type({ name: "string" }).onUndeclaredKey("delete"));

export const violationItem = lazy(() =>
  type({
    level: "string",
    // Open strings: a level or kind Pulumi adds later becomes its own series instead of a dropped item.
    kind: "string",
  }).onUndeclaredKey("delete"),
);

export const neoTaskItem = lazy(() => {
  const { count } = scalars();
  return type({
    id: "string",
    status: "string",
    createdAt: "string",
    "tokensUsed?": count,
  }).onUndeclaredKey("delete");
});

function deploymentCountsType() {
  const { count } = scalars();
  return type({
    accepted: count,
    failed: count,
    notStarted: count,
    running: count,
    skipped: count,
    succeeded: count,
    total: count,
  }).onUndeclaredKey("delete");
}

export const deploymentCounts = lazy(deploymentCountsType);

export const deploymentsMetadata = lazy(() => {
  const { count } = scalars();
  return type({
    concurrency: count,
    paused: "boolean",
    deploymentCounts: deploymentCountsType(),
  }).onUndeclaredKey("delete");
});

export const policyResultsMetadata = lazy(() => {
  const { count } = scalars();
  return type({
    policyTotalCount: count,
    policyWithIssuesCount: count,
    resourcesTotalCount: count,
    resourcesWithIssuesCount: count,
  }).onUndeclaredKey("delete");
});

export const neoTokenBudget = lazy(() => {
  const { count, unixSeconds } = scalars();
  return type({
    baseAllowanceTokens: count,
    effectiveAllowanceTokens: count,
    consumedTokens: count,
    exhausted: "boolean",
    "windowEnd?": unixSeconds,
    "windowKind?": "string",
  }).onUndeclaredKey("delete");
});

/** GetCurrentUser: the login, and the organizations the token is a member of (by their URL name, `githubLogin`). */
export const currentUser = lazy(() => {
  const { pathName } = scalars();
  return type({
    githubLogin: "string",
    organizations: type({ githubLogin: pathName }).onUndeclaredKey("delete").array(),
  }).onUndeclaredKey("delete");
});

export const resourceCount = lazy(() => {
  const { count } = scalars();
  return type({ resourceCount: count }).onUndeclaredKey("delete");
});

export const orgMetadata = lazy(() => {
  const { count } = scalars();
  return type({
    stackCount: count,
    "maxStacks?": count,
    "maxMembers?": count,
    "subscriptionPeriodEnd?": "string",
    "product?": "string",
    "subscriptionStatus?": "string",
  }).onUndeclaredKey("delete");
});

/**
 * StackDeploymentsMetadata's drift status alone: undefined when the stack has had no drift run (no `drift`, or an
 * empty `latestDriftRun`). `paused`, required by the spec, is checked so that a body that is no metadata at all
 * (`{}`) is malformed rather than read as "no drift run", which would end the stack's series.
 */
export const stackDrift = lazy(() =>
  type({
    paused: "boolean",
    "drift?": type({ driftDetected: "boolean", latestDriftRun: "string" }).onUndeclaredKey("delete"),
  })
    .onUndeclaredKey("delete")
    .pipe((m) =>
      m.drift === undefined || m.drift.latestDriftRun === ""
        ? undefined
        : { driftDetected: m.drift.driftDetected, latestDriftRun: m.drift.latestDriftRun },
    ),
);

export const accessTokenItem = lazy(() => {
  const { unixSeconds } = scalars();
  return type({ name: "string", expires: unixSeconds }).onUndeclaredKey("delete");
});

/** GetCurrentUser's `tokenInfo` alone; absent for personal tokens. */
export const userTokenInfo = lazy(() =>
  type({
    "tokenInfo?": type({ name: "string", "organization?": "string", "team?": "string" }).onUndeclaredKey(
      "delete",
    ),
  }).onUndeclaredKey("delete"),
);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function describeKind(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Go encodes absent pointers and slices as `null`: read a null field as an absent one. */
function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== null) out[key] = value;
  return out;
}

function summarize(errors: ArkErrors): string {
  return errors.summary.split("\n").join("; ");
}

/** Validate one object; nulls count as absent. */
export function validateValue<T>(value: unknown, validator: Validator<T>): Checked<T> {
  if (!isRecord(value)) return { ok: false, reason: `must be an object (was ${describeKind(value)})` };
  const result = validator(withoutNulls(value));
  if (result instanceof ArkErrors) return { ok: false, reason: summarize(result) };
  return { ok: true, value: result };
}

export interface ValidatedItems<T> {
  valid: T[];
  dropped: number;
  /** Why the first dropped item was rejected. */
  firstReason: string | undefined;
}

export function validateItems<T>(items: readonly unknown[], validator: Validator<T>): ValidatedItems<T> {
  const valid: T[] = [];
  let dropped = 0;
  let firstReason: string | undefined;
  for (const item of items) {
    const checked = validateValue(item, validator);
    if (checked.ok) {
      valid.push(checked.value);
      continue;
    }
    dropped++;
    firstReason ??= checked.reason;
  }
  return { valid, dropped, firstReason };
}

export function parseJson(text: string | undefined): Checked<unknown> {
  if (text === undefined || text.trim() === "") return { ok: false, reason: "empty body" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: "body is not JSON" };
  }
}

/** The response object around a list; the list itself must be an array. */
export function readEnvelope(body: unknown, arrayField: string): Checked<Record<string, unknown>> {
  if (!isRecord(body)) return { ok: false, reason: `body must be an object (was ${describeKind(body)})` };
  const items = body[arrayField];
  if (!Array.isArray(items)) {
    return { ok: false, reason: `${arrayField} must be an array (was ${describeKind(items)})` };
  }
  return { ok: true, value: body };
}

export function readItems(envelope: Record<string, unknown>, arrayField: string): unknown[] {
  const items = envelope[arrayField];
  return Array.isArray(items) ? items : [];
}

/** A pagination token: absent, null and "" all mean "last page". */
export function readToken(envelope: Record<string, unknown>, field: string): Checked<string | undefined> {
  const value = envelope[field];
  if (value === undefined || value === null || value === "") return { ok: true, value: undefined };
  if (typeof value !== "string")
    return { ok: false, reason: `${field} must be a string (was ${describeKind(value)})` };
  return { ok: true, value };
}

/** An optional count of the envelope, such as `total`; bounded like every count an item carries. */
export function readOptionalCount(
  envelope: Record<string, unknown>,
  field: string,
): Checked<number | undefined> {
  const value = envelope[field];
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (typeof value !== "number") {
    return { ok: false, reason: `${field} must be a number (was ${describeKind(value)})` };
  }
  if (scalars().count(value) instanceof ArkErrors) {
    return { ok: false, reason: `${field} must be a non-negative integer (was ${value})` };
  }
  return { ok: true, value };
}
