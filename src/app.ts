/**
 * The running exporter: config → Pulumi client → collector → metrics → OTLP push and the HTTP server.
 * Shared by the `run` and `demo` commands.
 */
import { applyToRun, checkStartup, type StartupClock, type StartupRetry } from "./check/startup.ts";
import { Collector } from "./collect/collector.ts";
import { cycleBudgetMs } from "./collect/cycle.ts";
import { Scheduler } from "./collect/scheduler.ts";
import { StateStore } from "./collect/state-store.ts";
import type { Config } from "./config/types.ts";
import type { Logger } from "./log/logger.ts";
import { createMetricExporter } from "./metrics/exporters.ts";
import type { Instruments } from "./metrics/instruments.ts";
import { resolveOtlpTarget } from "./metrics/otlp-endpoint.ts";
import { createMetricsPipeline, type MetricsPipeline } from "./metrics/provider.ts";
import { cachedSnapshotReadings } from "./metrics/readings.ts";
import type { ClientHooks, PulumiApi, UserApi } from "./pulumi/api.ts";
import { createPulumiClient, type PulumiClientOptions } from "./pulumi/client.ts";
import { createServerApp } from "./server/app.ts";
import { formatHostPort } from "./server/listen-address.ts";
import { startServer } from "./server/serve.ts";
import { systemTimers, type Timers, waitOn } from "./timers.ts";
import { VERSION } from "./version.ts";

export interface RunningExporter {
  readonly url: string;
  readonly port: number;
  readonly collector: Collector;
  readonly scheduler: Scheduler;
  readonly pipeline: MetricsPipeline;
  /** Takes a reloaded configuration: the access token is used from the next request on (see `src/reload.ts`). */
  applyConfig(config: Config): void;
  /** Stops polling, finishes (or abandons) the running cycle, flushes the last export and closes the server. */
  stop(deadlineMs?: number): Promise<void>;
}

export interface StartOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Replaces the HTTP client (tests). */
  readonly api?: PulumiApi;
  /**
   * Answers the start-up check (token and organizations) before the first cycle. Default: the HTTP client when
   * `api` is not given; with an `api` of its own and no `userApi`, the check is skipped.
   */
  readonly userApi?: UserApi;
  /** The start-up check's clock and retry bound while the API cannot be reached (tests). */
  readonly startupClock?: StartupClock;
  readonly startupRetry?: StartupRetry;
  /** The collection loop's clock and timers: the scheduler's interval, liveness and the cycle deadline (tests). */
  readonly timers?: Timers;
  /** The clock compared with Pulumi's timestamps, epoch ms (tests: the simulator's); the timers' by default. */
  readonly now?: () => number;
  /** Between two steps of restoring a large state file (tests hold it to see the exporter while it restores). */
  readonly restorePause?: () => Promise<void>;
  /**
   * When the exporter cannot go on after it started serving: the start-up check failed (token rejected, no usable
   * organization, API unreachable), or a large state file, read after the server started, turned out unusable
   * and cannot be moved aside. Default: log it; no cycle runs, so nothing overwrites the file.
   */
  readonly onFatal?: (error: Error) => void;
}

/** The HTTP client's options from the configuration. */
export function pulumiClientOptions(
  config: Config,
  logger: Logger,
  hooks?: ClientHooks,
  token: () => string = () => config.pulumi.accessToken,
): PulumiClientOptions {
  return {
    baseUrl: config.pulumi.apiUrl,
    token,
    timeoutMs: config.pulumi.requestTimeoutMs,
    maxResponseBytes: config.pulumi.maxResponseBytes,
    logger,
    ...(hooks ? { hooks } : {}),
    ...(config.pulumi.caFile ? { caFile: config.pulumi.caFile } : {}),
  };
}

/** Hooks that forward to the instruments once they exist: the client is built before the metrics pipeline. */
function lateHooks(target: () => Instruments | undefined): Required<ClientHooks> {
  return {
    onRequest: (...args) => target()?.clientHooks.onRequest(...args),
    onRetry: (...args) => target()?.clientHooks.onRetry(...args),
    onDropped: (...args) => target()?.clientHooks.onDropped(...args),
  };
}

export async function startExporter(options: StartOptions): Promise<RunningExporter> {
  const { config, logger } = options;
  /** The token of the latest reload; the HTTP clients ask for it on every request. */
  let accessToken = config.pulumi.accessToken;
  const timers = options.timers ?? systemTimers;
  let pipeline: MetricsPipeline | undefined;
  let callsThisCycle = 0;
  const hooks = lateHooks(() => pipeline?.instruments);
  const countingHooks: Required<ClientHooks> = {
    ...hooks,
    onRequest: (...args) => {
      callsThisCycle++;
      hooks.onRequest(...args);
    },
  };
  let api: PulumiApi;
  let userApi: UserApi | undefined = options.userApi;
  if (options.api) api = options.api;
  else {
    const clientOptions = pulumiClientOptions(config, logger, countingHooks, () => accessToken);
    api = createPulumiClient(clientOptions);
    // The start-up check does its own bounded retrying; the client's would stretch the bound.
    userApi ??= createPulumiClient({ ...clientOptions, retry: { maxRetries: 0 } });
  }

  const stateStore = config.state.file
    ? new StateStore({
        path: config.state.file,
        logger,
        ...(options.restorePause ? { pause: options.restorePause } : {}),
      })
    : undefined;

  const collector: Collector = new Collector({
    api,
    logger,
    organizations: config.pulumi.organizations,
    maxConcurrency: config.pulumi.maxConcurrency,
    cycleBudgetMs: cycleBudgetMs(config.pulumi.collectIntervalMs),
    instruments: { ...lazyInstruments(() => pipeline?.instruments) },
    now: options.now ?? (() => timers.now()),
    wait: (ms, signal) => waitOn(timers, ms, signal),
  });

  let exporter: Awaited<ReturnType<typeof createMetricExporter>> | undefined;
  if (config.otlp.enabled) {
    const target = resolveOtlpTarget(config.otlp);
    for (const note of target.notes) logger.warn(note);
    exporter = await createMetricExporter(config.otlp, { target, userAgent: `pulumi-exporter/${VERSION}` });
    logger.info("pushing metrics over OTLP", { protocol: config.otlp.protocol, endpoint: target.display });
  }
  const readingsOf = cachedSnapshotReadings();
  pipeline = createMetricsPipeline({
    config,
    logger,
    readings: () => (collector.snapshot ? readingsOf(collector.snapshot) : undefined),
    organizations: config.pulumi.organizations,
    ...(exporter ? { exporter } : {}),
  });
  const metrics = pipeline;
  /** Updates counted by this process, for the preview page. */
  let updatesCounted = 0;

  const scheduler = new Scheduler({
    collector,
    intervalMs: config.pulumi.collectIntervalMs,
    logger,
    timers,
    cycleLogFields: () => {
      const calls = callsThisCycle;
      callsThisCycle = 0;
      return { api_calls: calls };
    },
    afterCycle: async (result) => {
      updatesCounted += result.events.length;
      stateStore?.save(collector.state);
      // Not awaited: a slow backend must not delay the next cycle.
      void metrics.push();
    },
  });

  const app = createServerApp({
    health: () => ({
      alive: scheduler.alive(),
      ready: scheduler.ready,
      restoring: stateStore?.restoring === true,
      cycles: scheduler.cycles,
      organizations: collector.orgStatus(),
    }),
    scrape: () => metrics.scrape(),
    preview: () => {
      const snapshot = collector.snapshot;
      if (!snapshot) return undefined;
      return {
        takenAt: snapshot.takenAt,
        readings: readingsOf(snapshot),
        summary: {
          organizations: config.pulumi.organizations.length,
          stacks: snapshot.state.stacks.size,
          up: snapshot.exporter.up ? 1 : 0,
          "updates counted": updatesCounted,
          deployments: totalDeployments(snapshot.state),
        },
      };
    },
    previewEnabled: config.web.preview,
    logger,
  });
  // Locks the state file and reads it (a large one after the server started); throws when it is unsafe to use.
  stateStore?.open();
  let server: ReturnType<typeof startServer>;
  try {
    server = startServer(app, config.web.listenAddress);
  } catch (error) {
    stateStore?.close();
    throw error;
  }
  logger.info("serving HTTP", { address: formatHostPort(server.hostname, server.port) });
  const fatal = options.onFatal ?? ((e: Error) => logger.error(e.message));
  let stopping = false;
  if (userApi === undefined && stateStore === undefined) {
    scheduler.start();
  } else {
    // The first cycle waits for the start-up check, and for the restore: a cycle on an empty state would take a
    // new baseline. Neither blocks the return, so signals are handled while they run.
    Promise.all([
      userApi ? startupCheck(options, userApi) : undefined,
      stateStore ? stateStore.restored : undefined,
    ]).then(
      ([, state]) => {
        if (stopping) return;
        if (state) collector.restore(state);
        scheduler.start();
      },
      (error: unknown) => {
        if (!stopping) fatal(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  return {
    url: `http://${formatHostPort(server.hostname, server.port)}`,
    port: server.port,
    collector,
    scheduler,
    pipeline: metrics,
    applyConfig(next) {
      accessToken = next.pulumi.accessToken;
    },
    async stop(deadlineMs = 9_000) {
      stopping = true;
      // The running cycle gets most of the budget, the final export the rest; neither can overrun it.
      const until = Date.now() + deadlineMs;
      const finished = await scheduler.stop(Math.floor(deadlineMs * 0.6));
      if (!finished) logger.warn("abandoned the running collection cycle at shutdown");
      if (metrics.pushEnabled) {
        const flushed = await within(metrics.push(), until - Date.now());
        if (flushed !== true) logger.warn("the final OTLP export did not complete before shutdown");
      }
      await within(metrics.shutdown(), until - Date.now());
      await server.stop(Math.max(0, until - Date.now()));
      stateStore?.close();
    },
  };
}

/** Deployments of every organization, by the last deployment counts read. */
function totalDeployments(state: Collector["state"]): number {
  let total = 0;
  for (const values of state.orgs.values()) {
    for (const count of Object.values(values.deployments ?? {})) total += count;
  }
  return total;
}

/** Token and organizations, before the first cycle; throws a StartupError when the exporter cannot go on. */
async function startupCheck(options: StartOptions, userApi: UserApi): Promise<void> {
  const { pulumi } = options.config;
  const report = await checkStartup({
    api: userApi,
    organizations: pulumi.organizations,
    tokenSource: pulumi.accessTokenSource,
    apiUrl: pulumi.apiUrl,
    ...(options.startupClock ? { clock: options.startupClock } : {}),
    ...(options.startupRetry ? { retry: options.startupRetry } : {}),
  });
  applyToRun(report, pulumi.organizations, options.logger);
}

/** The promise's value, or undefined when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function lazyInstruments(target: () => Instruments | undefined): Instruments {
  return {
    recordUpdates: (events) => target()?.recordUpdates(events),
    retainStacks: (live) => target()?.retainStacks(live),
    clientHooks: lateHooks(target),
    recordCollectError: (operation, org) => target()?.recordCollectError(operation, org),
    recordUnknownValues: (values) => target()?.recordUnknownValues(values),
    recordExportFailure: () => target()?.recordExportFailure(),
    recordExportCollectionErrors: (count) => target()?.recordExportCollectionErrors(count),
  };
}
