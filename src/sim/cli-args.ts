/** Command-line flags of `bun src/sim/main.ts`. */
import type { FaultRule } from "./faults.ts";
import { parseFaultRules } from "./faults.ts";
import type { ScenarioOptions } from "./options.ts";
import type { StartOptions } from "./server.ts";
import { parseDuration } from "./time.ts";
import type { WebhookFaults, WebhookSenderOptions } from "./webhooks.ts";

type NumericScenarioKey = {
  [K in keyof ScenarioOptions]: ScenarioOptions[K] extends number ? K : never;
}[keyof ScenarioOptions];

const SCENARIO_FLAGS: Record<string, NumericScenarioKey> = {
  "--seed": "seed",
  "--orgs": "orgs",
  "--projects-per-org": "projectsPerOrg",
  "--stacks": "stacks",
  "--updates-per-stack": "updatesPerStack",
  "--deployments-per-org": "deploymentsPerOrg",
  "--members-per-org": "membersPerOrg",
  "--teams-per-org": "teamsPerOrg",
  "--environments-per-org": "environmentsPerOrg",
  "--policy-groups": "policyGroups",
  "--policy-packs": "policyPacks",
  "--violations-per-org": "violationsPerOrg",
  "--neo-tasks-per-org": "neoTasksPerOrg",
  "--churn": "churn",
  "--stacks-created-per-tick": "stacksCreatedPerTick",
  "--stacks-deleted-per-tick": "stacksDeletedPerTick",
  "--deployments-per-tick": "deploymentsPerTick",
  "--neo-tasks-per-tick": "neoTasksPerTick",
  "--tick-seconds": "tickSeconds",
  "--start-time": "startTime",
};

export const USAGE = `Usage: bun src/sim/main.ts [flags]

A simulated Pulumi Cloud API for demos and tests. Prints its URL and access token.

  --port N                    listen port (default 8081; 0 = any free port)
  --host HOST                 listen address (default 127.0.0.1)
  --token TOKEN               access token clients must send (default: a fixed demo token)
  --latency DURATION          latency added to every API call, e.g. 50ms
  --jitter DURATION           random extra latency up to this much
  --tick-every DURATION       advance the simulated clock one tick per this much real time, e.g. 10s
  --faults JSON               fault rules, e.g. '[{"type":"status","status":429,"retryAfter":2,"probability":0.1}]'
  --webhook-url URL           send signed Pulumi Cloud webhooks of what is simulated to this URL
  --webhook-secret SECRET     the webhook's shared secret (required with --webhook-url)
  --webhook-faults JSON       delivery faults, probabilities per event, e.g.
                              '{"drop":0.1,"duplicate":0.1,"delay":0.2,"maxDelayTicks":3,"reorder":0.5,"badSignature":0.05}'
${Object.entries(SCENARIO_FLAGS)
  .map(([flag, key]) => `  ${`${flag} N`.padEnd(28)}scenario option ${key}`)
  .join("\n")}
  --help                      show this help

--start-time defaults to the current time (Unix seconds); --tick-seconds to the --tick-every interval
(else 60), so in real-time mode the simulated clock keeps pace with the wall clock.`;

export interface SimArgs {
  help: boolean;
  options: StartOptions;
}

function number(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value === "" || !Number.isFinite(n))
    throw new Error(`${flag} needs a number (got ${value ?? "nothing"})`);
  return n;
}

const FAULT_KEYS = ["drop", "duplicate", "delay", "maxDelayTicks", "reorder", "badSignature"] as const;

/** `--webhook-faults`: an object of probabilities (0-1), and `maxDelayTicks` (a whole number >= 1). */
function parseWebhookFaults(text: string | undefined): WebhookFaults {
  let input: unknown;
  try {
    input = JSON.parse(text ?? "");
  } catch {
    throw new Error("--webhook-faults needs a JSON object");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new Error("--webhook-faults needs a JSON object");
  const faults: Record<string, number> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(FAULT_KEYS as readonly string[]).includes(key))
      throw new Error(`--webhook-faults: unknown fault ${key} (known: ${FAULT_KEYS.join(", ")})`);
    const valid =
      key === "maxDelayTicks"
        ? Number.isInteger(value) && value >= 1
        : typeof value === "number" && value >= 0 && value <= 1;
    if (!valid)
      throw new Error(
        `--webhook-faults: ${key} must be ${key === "maxDelayTicks" ? "a whole number >= 1" : "between 0 and 1"}`,
      );
    faults[key] = value as number;
  }
  return faults;
}

function webhookOptions(webhook: {
  url?: string | undefined;
  secret?: string | undefined;
  faults?: WebhookFaults;
}): WebhookSenderOptions | undefined {
  if (webhook.url === undefined) {
    if (webhook.secret !== undefined || webhook.faults !== undefined)
      throw new Error("--webhook-secret and --webhook-faults need --webhook-url");
    return undefined;
  }
  if (!/^https?:\/\//.test(webhook.url)) throw new Error("--webhook-url must be an http:// or https:// URL");
  if (webhook.secret === undefined || webhook.secret === "")
    throw new Error("--webhook-url needs --webhook-secret");
  return { url: webhook.url, secret: webhook.secret, ...(webhook.faults ? { faults: webhook.faults } : {}) };
}

/** Parses flags; `nowSeconds` is the default start time. Throws with the offending flag named. */
export function parseSimArgs(argv: readonly string[], nowSeconds: number): SimArgs {
  const options: StartOptions = { port: 8081 };
  const scenario: Partial<Record<NumericScenarioKey, number>> = {};
  let latencyMs: number | undefined;
  let jitterMs: number | undefined;
  let faults: FaultRule[] = [];
  const webhook: { url?: string | undefined; secret?: string | undefined; faults?: WebhookFaults } = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.indexOf("=");
    const flag = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
    if (flag === "--help" || flag === "-h") return { help: true, options };
    const value = raw.startsWith("--") && eq > 0 ? raw.slice(eq + 1) : argv[++i];
    const key = SCENARIO_FLAGS[flag];
    if (key) scenario[key] = number(flag, value);
    else if (flag === "--port") options.port = number(flag, value);
    else if (flag === "--host") options.hostname = value;
    else if (flag === "--token") options.token = value;
    else if (flag === "--latency") latencyMs = parseDuration(value ?? "");
    else if (flag === "--jitter") jitterMs = parseDuration(value ?? "");
    else if (flag === "--tick-every") options.tickEveryMs = parseDuration(value ?? "");
    else if (flag === "--faults") {
      try {
        faults = parseFaultRules(JSON.parse(value ?? ""));
      } catch (error) {
        throw new Error(`--faults: ${(error as Error).message}`);
      }
    } else if (flag === "--webhook-url") webhook.url = value;
    else if (flag === "--webhook-secret") webhook.secret = value;
    else if (flag === "--webhook-faults") webhook.faults = parseWebhookFaults(value);
    else throw new Error(`unknown flag ${raw} (see --help)`);
  }
  const sender = webhookOptions(webhook);
  if (sender) options.webhook = sender;
  if (options.token === "") throw new Error("--token must not be empty");
  Object.assign(options, scenario);
  options.startTime ??= nowSeconds;
  if (options.tickSeconds === undefined && options.tickEveryMs !== undefined) {
    options.tickSeconds = Math.max(1, Math.round(options.tickEveryMs / 1000));
  }
  if (latencyMs !== undefined || jitterMs !== undefined) {
    faults.unshift({ type: "latency", ms: latencyMs ?? 0, ...(jitterMs === undefined ? {} : { jitterMs }) });
  }
  if (faults.length > 0) options.faults = faults;
  return { help: false, options };
}
