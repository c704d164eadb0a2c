/**
 * A real Prometheus (the Debian package's /usr/bin/prometheus) scraping local targets, for end-to-end tests of
 * what Prometheus makes of our `/metrics`. Every wait is bounded; `stop()` kills the process and removes its data.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BINARY ?? "/usr/bin/prometheus";

export interface PrometheusSample {
  /** All labels, `__name__` included. */
  readonly metric: Record<string, string>;
  /** `+Inf`, `-Inf` and `NaN` become the matching numbers. */
  readonly value: number;
}

export interface PrometheusTarget {
  readonly scrapeUrl: string;
  readonly health: "up" | "down" | "unknown";
  readonly lastError: string;
  /** Unix milliseconds of the last scrape; 0 before the first. */
  readonly lastScrape: number;
}

export interface PrometheusMetadata {
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** A rule as `/api/v1/rules` reports it. */
export interface PrometheusRule {
  readonly group: string;
  readonly name: string;
  readonly type: "alerting" | "recording";
  readonly health: "ok" | "err" | "unknown";
  readonly lastError: string;
  /** Unix milliseconds of the last evaluation; 0 before the first. */
  readonly lastEvaluation: number;
  /** Alerting rules only: inactive, pending or firing. */
  readonly state?: string;
}

export interface RunningPrometheus {
  /** Base URL of Prometheus' HTTP API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /**
   * Instant query at the current time, or at `atSeconds` (Unix seconds); samples sorted by their labels. Throws with
   * Prometheus' error message.
   */
  query(promql: string, atSeconds?: number): Promise<PrometheusSample[]>;
  targets(): Promise<PrometheusTarget[]>;
  /** The TYPE/HELP/UNIT Prometheus recorded for a metric family. */
  metadata(metric: string): Promise<PrometheusMetadata[]>;
  /** Every rule of the rule files, in file order. */
  rules(): Promise<PrometheusRule[]>;
  /** Resolves once every target has been scraped successfully after this call (e.g. after changing a value). */
  waitForScrape(timeoutMs?: number): Promise<void>;
  /** The rules once every one has been evaluated after `sinceMs` (epoch ms); bounded by `timeoutMs`. */
  rulesEvaluatedAfter(sinceMs: number, timeoutMs?: number): Promise<PrometheusRule[]>;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** Default PROMETHEUS_BINARY. */
  binary?: string;
  /** Default 1. */
  scrapeIntervalSeconds?: number;
  /** Default `/metrics`. */
  metricsPath?: string;
  /** Default `pulumi-exporter`. */
  jobName?: string;
  /** Wait until every target has been scraped successfully once before resolving (default true). */
  waitForTargetsUp?: boolean;
  /** Bound for starting and for the first successful scrapes (default 20 s). */
  timeoutMs?: number;
  /** Rule files to load (absolute paths); default none. */
  ruleFiles?: readonly string[];
  /** Default: the scrape interval. */
  evaluationIntervalSeconds?: number;
  /** The job's `metric_relabel_configs`, as Prometheus' YAML would have them; default none. */
  metricRelabelConfigs?: readonly unknown[];
}

type Settings = Required<Omit<StartPrometheusOptions, "binary">>;

const POLL_MS = 100;
const running = new Set<ReturnType<typeof Bun.spawn>>();

// A test that fails before calling stop() must not leave Prometheus behind.
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function labelKey(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface ApiResponse<T> {
  status: "success" | "error";
  data?: T;
  errorType?: string;
  error?: string;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as ApiResponse<T>;
  if (body.status !== "success" || body.data === undefined) {
    throw new Error(`Prometheus ${url}: ${body.errorType ?? response.status}: ${body.error ?? "no data"}`);
  }
  return body.data;
}

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await Bun.sleep(POLL_MS);
  }
}

/** JSON is YAML: lists and objects go in as JSON. */
function configYaml(targets: readonly string[], options: Settings): string {
  return [
    "global:",
    `  scrape_interval: ${options.scrapeIntervalSeconds}s`,
    `  scrape_timeout: ${options.scrapeIntervalSeconds}s`,
    `  evaluation_interval: ${options.evaluationIntervalSeconds}s`,
    `rule_files: ${JSON.stringify(options.ruleFiles)}`,
    "scrape_configs:",
    `  - job_name: ${JSON.stringify(options.jobName)}`,
    `    metrics_path: ${JSON.stringify(options.metricsPath)}`,
    `    metric_relabel_configs: ${JSON.stringify(options.metricRelabelConfigs)}`,
    "    static_configs:",
    `      - targets: ${JSON.stringify(targets)}`,
    "",
  ].join("\n");
}

export async function startPrometheus(
  targets: readonly string[],
  options: StartPrometheusOptions = {},
): Promise<RunningPrometheus> {
  const binary = options.binary ?? PROMETHEUS_BINARY;
  if (!existsSync(binary)) {
    throw new Error(
      `${binary} is missing: install Prometheus (apt-get install prometheus; .ci/run installs it) or set PROMETHEUS_BINARY`,
    );
  }
  const scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 1;
  const settings: Settings = {
    scrapeIntervalSeconds,
    evaluationIntervalSeconds: options.evaluationIntervalSeconds ?? scrapeIntervalSeconds,
    ruleFiles: options.ruleFiles ?? [],
    metricRelabelConfigs: options.metricRelabelConfigs ?? [],
    metricsPath: options.metricsPath ?? "/metrics",
    jobName: options.jobName ?? "pulumi-exporter",
    waitForTargetsUp: options.waitForTargetsUp ?? true,
    timeoutMs: options.timeoutMs ?? 20_000,
  };
  const dir = await mkdtemp(join(tmpdir(), "prometheus-test-"));
  const configFile = join(dir, "prometheus.yml");
  const logFile = join(dir, "prometheus.log");
  await writeFile(configFile, configYaml(targets, settings));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn(
    [
      binary,
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdout: "ignore", stderr: Bun.file(logFile), cwd: dir },
  );
  running.add(proc);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
      running.delete(proc);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const logTail = async () => {
    const log = await readFile(logFile, "utf8").catch(() => "");
    return log.trim().split("\n").slice(-10).join("\n");
  };

  const targetsNow = async (): Promise<PrometheusTarget[]> => {
    const data = await api<{ activeTargets: Array<Record<string, unknown>> }>(
      `${url}/api/v1/targets?state=active`,
    );
    return data.activeTargets.map((t) => ({
      scrapeUrl: String(t.scrapeUrl),
      health: t.health as PrometheusTarget["health"],
      lastError: String(t.lastError ?? ""),
      lastScrape: Date.parse(String(t.lastScrape)) || 0,
    }));
  };

  const query = async (promql: string, atSeconds?: number): Promise<PrometheusSample[]> => {
    const at = atSeconds === undefined ? "" : `&time=${atSeconds}`;
    const data = await api<{ resultType: string; result: unknown }>(
      `${url}/api/v1/query?query=${encodeURIComponent(promql)}${at}`,
    );
    if (data.resultType === "scalar") {
      const [, value] = data.result as [number, string];
      return [{ metric: {}, value: parseValue(value) }];
    }
    if (data.resultType !== "vector")
      throw new Error(`unexpected result type ${data.resultType} for ${promql}`);
    const samples = (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map(
      (r) => ({ metric: r.metric, value: parseValue(r.value[1]) }),
    );
    return samples.sort((a, b) => {
      const ka = labelKey(a.metric);
      const kb = labelKey(b.metric);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  };

  const scrapedSince = async (since: number, timeoutMs: number) => {
    let seen: PrometheusTarget[] = [];
    try {
      await until(`every target to be scraped (${targets.join(", ")})`, timeoutMs, async () => {
        seen = await targetsNow();
        if (seen.length !== targets.length || seen.some((t) => t.health !== "up" || t.lastScrape <= since)) {
          return undefined;
        }
        // Targets report before the scrape's samples are committed; `up` is committed with them.
        const ups = await query(`timestamp(up{job=${JSON.stringify(settings.jobName)}} == 1)`);
        return ups.length === targets.length && ups.every((u) => u.value * 1000 > since) ? true : undefined;
      });
    } catch (error) {
      const states = seen.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`.trim()).join("; ");
      throw new Error(`${(error as Error).message}; targets: [${states}]`);
    }
  };

  try {
    await until("Prometheus to be ready", settings.timeoutMs, async () => {
      if (proc.exitCode !== null) throw new Error(`Prometheus exited with code ${proc.exitCode}`);
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.ok ? true : undefined;
    });
    if (settings.waitForTargetsUp) await scrapedSince(0, settings.timeoutMs);
  } catch (error) {
    const log = await logTail();
    await stop();
    throw new Error(`${(error as Error).message}${log === "" ? "" : `\nPrometheus log:\n${log}`}`);
  }

  const server: RunningPrometheus = {
    url,
    query,
    targets: targetsNow,
    async metadata(metric) {
      const data = await api<Record<string, PrometheusMetadata[]>>(
        `${url}/api/v1/metadata?metric=${encodeURIComponent(metric)}`,
      );
      return data[metric] ?? [];
    },
    async rules() {
      const data = await api<{ groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> }>(
        `${url}/api/v1/rules`,
      );
      return data.groups.flatMap((group) =>
        group.rules.map((r) => ({
          group: group.name,
          name: String(r.name),
          type: r.type as PrometheusRule["type"],
          health: r.health as PrometheusRule["health"],
          lastError: String(r.lastError ?? ""),
          // Go's zero time (0001-01-01) before the first evaluation.
          lastEvaluation: Math.max(0, Date.parse(String(r.lastEvaluation)) || 0),
          ...(r.type === "alerting" ? { state: String(r.state) } : {}),
        })),
      );
    },
    waitForScrape: (timeoutMs = settings.timeoutMs) => scrapedSince(Date.now(), timeoutMs),
    rulesEvaluatedAfter(sinceMs, timeoutMs = settings.timeoutMs) {
      return until(`every rule evaluated after ${new Date(sinceMs).toISOString()}`, timeoutMs, async () => {
        const rules = await server.rules();
        return rules.length > 0 && rules.every((r) => r.lastEvaluation > sinceMs) ? rules : undefined;
      });
    },
    stop,
  };
  return server;
}
