/**
 * The running exporter: config → Pulumi client → collector → metrics → OTLP push and the HTTP server.
 * Shared by the `run` and `demo` commands.
 */
import { applyToRun, checkStartup, type StartupClock, type StartupRetry } from "./check/startup.ts";
import { Collector, type CollectorOptions } from "./collect/collector.ts";
import { cycleBudgetMs } from "./collect/cycle.ts";
import { Scheduler } from "./collect/scheduler.ts";
import type { Snapshot } from "./collect/snapshot.ts";
import type { RunningReread } from "./collect/stacks.ts";
import { StateStore } from "./collect/state-store.ts";
import type { TriggerSink } from "./collect/triggers.ts";
import type { Config } from "./config/types.ts";
import type { Logger } from "./log/logger.ts";
import { ExportThrottle } from "./metrics/export-throttle.ts";
import { createMetricExporter } from "./metrics/exporters.ts";
import { resolveOtlpTarget } from "./metrics/otlp-endpoint.ts";
import type { GaugeReadings } from "./metrics/points.ts";
import { createMetricsPipeline, type MetricsPipeline } from "./metrics/provider.ts";
import { cachedSnapshotReadings } from "./metrics/readings.ts";
import type { ClientHooks, PulumiApi, UserApi } from "./pulumi/api.ts";
import { createPulumiClient, type PulumiClientOptions } from "./pulumi/client.ts";
import { createServerApp } from "./server/app.ts";
import { formatHostPort } from "./server/listen-address.ts";
import { startServer } from "./server/serve.ts";
import { systemTimers, type Timers, waitOn } from "./timers.ts";
import { VERSION } from "./version.ts";
import { createWebhookApp, WEBHOOK_SERVER_MAX_BODY_BYTES } from "./webhooks/app.ts";
import { createWebhookReceiver, WEBHOOK_PATH, type WebhookHandler } from "./webhooks/receiver.ts";

export interface RunningExporter {
  readonly url: string;
  readonly port: number;
  /** Where Pulumi Cloud posts webhooks, when a secret is configured (on the webhook listener when it has one). */
  readonly webhookUrl: string | undefined;
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
  /** Where accepted webhooks' triggers go; default: the collector (tests record them instead). */
  readonly triggerSink?: TriggerSink;
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

export async function startExporter(options: StartOptions): Promise<RunningExporter> {
  const { config, logger } = options;
  /** The token of the latest reload; the HTTP clients ask for it on every request. */
  let accessToken = config.pulumi.accessToken;
  const timers = options.timers ?? systemTimers;

  // The metrics pipeline comes first: the client reports its requests to it, and each cycle's result goes to it.
  const disabled = config.metrics.disable;
  const readingsOf = cachedSnapshotReadings(undefined, disabled);
  let snapshot: Snapshot | undefined;
  const metrics = await metricsPipeline(config, logger, () => (snapshot ? readingsOf(snapshot) : undefined));
  const { api, userApi } = pulumiClients(options, metrics.instruments.clientHooks, () => accessToken);

  const stateStore = config.state.file
    ? new StateStore({
        path: config.state.file,
        logger,
        ...(options.restorePause ? { pause: options.restorePause } : {}),
      })
    : undefined;

  /** Updates counted by this process, for the preview page. */
  let updatesCounted = 0;
  // A targeted read's values reach the backend within a second, however many webhooks ask for reads. The state
  // file is written first, so a restart never counts again what an export already showed.
  const triggeredFlush = new ExportThrottle(async () => {
    stateStore?.save(collector.state);
    if (metrics.pushEnabled) await metrics.push();
  }, timers);

  const collector = collectorFor(options, api, timers, {
    onCycle: (result, taken) => {
      snapshot = taken;
      metrics.instruments.recordCycle(result);
    },
    // A targeted read is recorded as a cycle is; /metrics serves its snapshot at once.
    onTriggered: (result, taken) => {
      snapshot = taken;
      metrics.instruments.recordCycle(result);
      updatesCounted += result.events.length;
      if (!stopping) triggeredFlush.request();
    },
    // First data early: the listings' resource counts, the organization gauges and the exporter's own metrics go
    // out while the first cycle still reads every stack's history. Not awaited, as after a cycle.
    onInterim: (taken) => {
      snapshot = taken;
      void metrics.push();
    },
  });

  const scheduler = new Scheduler({
    collector,
    intervalMs: config.pulumi.collectIntervalMs,
    logger,
    timers,
    afterCycle: async (result) => {
      updatesCounted += result.events.length;
      stateStore?.save(collector.state);
      // Not awaited: a slow backend must not delay the next cycle.
      void metrics.push();
    },
  });

  /** The secret of the latest reload; the receiver asks for it on every request. */
  let webhookSecret = config.webhook?.secret ?? "";
  const webhook = webhookReceiver(
    options,
    timers,
    () => webhookSecret,
    metrics.instruments.recordWebhook,
    (trigger) => collector.trigger(trigger),
  );
  const ownListener = config.webhook?.listenAddress;

  const app = createServerApp({
    health: () => ({
      alive: scheduler.alive(),
      ready: scheduler.ready,
      restoring: stateStore?.restoring === true,
      cycles: scheduler.cycles,
      organizations: collector.orgStatus(),
    }),
    scrape: () => metrics.scrape(),
    preview: () => preview(collector.snapshot, readingsOf, config, updatesCounted),
    previewEnabled: config.web.preview,
    logger,
    ...(webhook !== undefined && ownListener === undefined ? { webhook } : {}),
  });
  const server = serve(app, config, logger, stateStore, webhook !== undefined && ownListener === undefined);
  const webhookServer =
    webhook !== undefined && ownListener !== undefined
      ? serveWebhook(webhook, ownListener, logger, () => {
          void server.stop(0);
          stateStore?.close();
        })
      : undefined;
  let stopping = false;
  startWhenReady(options, { userApi, stateStore, collector, scheduler, stopping: () => stopping });

  const url = `http://${formatHostPort(server.hostname, server.port)}`;
  return {
    url,
    port: server.port,
    webhookUrl:
      webhook === undefined
        ? undefined
        : `${webhookServer ? `http://${formatHostPort(webhookServer.hostname, webhookServer.port)}` : url}${WEBHOOK_PATH}`,
    collector,
    scheduler,
    pipeline: metrics,
    applyConfig(next) {
      accessToken = next.pulumi.accessToken;
      if (next.webhook !== undefined) webhookSecret = next.webhook.secret;
    },
    async stop(deadlineMs = 9_000) {
      stopping = true;
      // No new triggers while the loop winds down.
      const webhookStopped = webhookServer?.stop(Math.min(1_000, deadlineMs));
      triggeredFlush.cancel();
      await shutdown({ scheduler, collector, metrics, server, stateStore, logger }, deadlineMs);
      await webhookStopped;
    },
  };
}

/**
 * Locks the state file and reads it (a large one after the server started; throws when it is unsafe to use), then
 * serves HTTP.
 */
function serve(
  app: Parameters<typeof startServer>[0],
  config: Config,
  logger: Logger,
  stateStore: StateStore | undefined,
  servesWebhook: boolean,
): ReturnType<typeof startServer> {
  stateStore?.open();
  let server: ReturnType<typeof startServer>;
  try {
    server = startServer(
      app,
      config.web.listenAddress,
      servesWebhook ? { maxRequestBodyBytes: WEBHOOK_SERVER_MAX_BODY_BYTES } : {},
    );
  } catch (error) {
    stateStore?.close();
    throw error;
  }
  logger.info("serving HTTP", { address: formatHostPort(server.hostname, server.port) });
  return server;
}

/**
 * The webhook receiver when a secret is configured. Its triggers go to the collector, which answers them with the
 * cycle's own reads (or to the sink the options bring).
 */
function webhookReceiver(
  options: StartOptions,
  timers: Timers,
  secret: () => string,
  record: Parameters<typeof createWebhookReceiver>[0]["record"],
  collector: TriggerSink,
): WebhookHandler | undefined {
  const { config, logger } = options;
  if (config.webhook === undefined) return undefined;
  return createWebhookReceiver({
    secret,
    organizations: config.pulumi.organizations,
    sink: options.triggerSink ?? collector,
    record,
    logger,
    now: () => timers.now(),
  });
}

/** The webhook's own listener; when it cannot be bound, `undo` closes what started before it. */
function serveWebhook(
  handle: WebhookHandler,
  listenAddress: string,
  logger: Logger,
  undo: () => void,
): ReturnType<typeof startServer> {
  let server: ReturnType<typeof startServer>;
  try {
    server = startServer(createWebhookApp(handle, logger), listenAddress, {
      maxRequestBodyBytes: WEBHOOK_SERVER_MAX_BODY_BYTES,
    });
  } catch (error) {
    undo();
    throw error;
  }
  logger.info("serving webhooks", {
    address: formatHostPort(server.hostname, server.port),
    path: WEBHOOK_PATH,
  });
  return server;
}

/** The running cycle gets most of the budget, the final export the rest; neither can overrun it. */
async function shutdown(
  parts: {
    scheduler: Scheduler;
    collector: Collector;
    metrics: MetricsPipeline;
    server: ReturnType<typeof startServer>;
    stateStore: StateStore | undefined;
    logger: Logger;
  },
  deadlineMs: number,
): Promise<void> {
  const { scheduler, collector, metrics, server, stateStore, logger } = parts;
  const until = Date.now() + deadlineMs;
  const finished = await scheduler.stop(Math.floor(deadlineMs * 0.6));
  if (!finished) logger.warn("abandoned the running collection cycle at shutdown");
  // What targeted reads counted since the last cycle goes into the state file before the final export shows it
  // (never before a first cycle: the state would be empty, or still the file's own).
  if (finished) await within(collector.triggersRead(), Math.min(1_000, until - Date.now()));
  if (collector.snapshot !== undefined) stateStore?.save(collector.state);
  if (metrics.pushEnabled) {
    const flushed = await within(metrics.push(), until - Date.now());
    if (flushed !== true) logger.warn("the final OTLP export did not complete before shutdown");
  }
  await within(metrics.shutdown(), until - Date.now());
  await server.stop(Math.max(0, until - Date.now()));
  stateStore?.close();
}

/**
 * When a cycle reads a running update again: with webhooks its event reads it and the cycle only reconciles;
 * polling backs off up to --pulumi.running-update-max-gap (equal to the collect interval: every cycle).
 */
export function runningReread(config: StartOptions["config"]): RunningReread | undefined {
  if (config.webhook !== undefined) return { mode: "reconcile", everyMs: config.webhook.reconcileIntervalMs };
  const { collectIntervalMs: intervalMs, runningUpdateMaxGapMs: maxGapMs } = config.pulumi;
  return maxGapMs > intervalMs ? { mode: "backoff", intervalMs, maxGapMs } : undefined;
}

/** The collector of the configuration, telling `listeners` what each cycle produced. */
function collectorFor(
  options: StartOptions,
  api: PulumiApi,
  timers: Timers,
  listeners: Required<Pick<CollectorOptions, "onCycle" | "onInterim" | "onTriggered">>,
): Collector {
  const { config, logger } = options;
  return new Collector({
    api,
    logger,
    organizations: config.pulumi.organizations,
    maxConcurrency: config.pulumi.maxConcurrency,
    cycleBudgetMs: cycleBudgetMs(config.pulumi.collectIntervalMs),
    orgIntervalMs: config.pulumi.orgIntervalMs,
    settings: {
      collectIntervalMs: config.pulumi.collectIntervalMs,
      driftRefreshMs: config.pulumi.driftRefreshMs,
    },
    disabled: config.metrics.disable,
    runningReread: runningReread(config),
    ...listeners,
    now: options.now ?? (() => timers.now()),
    wait: (ms, signal) => waitOn(timers, ms, signal),
  });
}

/** The metrics pipeline, with the OTLP exporter of the configuration when push is on. */
async function metricsPipeline(
  config: Config,
  logger: Logger,
  readings: () => GaugeReadings | undefined,
): Promise<MetricsPipeline> {
  let exporter: Awaited<ReturnType<typeof createMetricExporter>> | undefined;
  if (config.otlp.enabled) {
    const target = resolveOtlpTarget(config.otlp);
    for (const note of target.notes) logger.warn(note);
    exporter = await createMetricExporter(config.otlp, { target, userAgent: `pulumi-exporter/${VERSION}` });
    logger.info("pushing metrics over OTLP", { protocol: config.otlp.protocol, endpoint: target.display });
  }
  return createMetricsPipeline({
    config,
    logger,
    readings,
    organizations: config.pulumi.organizations,
    disabled: config.metrics.disable,
    webhooks: config.webhook !== undefined,
    ...(exporter ? { exporter } : {}),
  });
}

/** The collection client and the start-up check's, unless the options bring their own. */
function pulumiClients(
  options: StartOptions,
  hooks: ClientHooks,
  token: () => string,
): { api: PulumiApi; userApi: UserApi | undefined } {
  if (options.api) return { api: options.api, userApi: options.userApi };
  const clientOptions = pulumiClientOptions(options.config, options.logger, hooks, token);
  return {
    api: createPulumiClient(clientOptions),
    // The start-up check does its own bounded retrying; the client's would stretch the bound.
    userApi: options.userApi ?? createPulumiClient({ ...clientOptions, retry: { maxRetries: 0 } }),
  };
}

/**
 * Starts the loop: at once, or after the start-up check and the restore of the state file (a cycle on an empty
 * state would take a new baseline). Neither blocks the caller, so signals are handled while they run.
 */
function startWhenReady(
  options: StartOptions,
  parts: {
    userApi: UserApi | undefined;
    stateStore: StateStore | undefined;
    collector: Collector;
    scheduler: Scheduler;
    stopping: () => boolean;
  },
): void {
  const { userApi, stateStore, collector, scheduler, stopping } = parts;
  if (userApi === undefined && stateStore === undefined) {
    scheduler.start();
    return;
  }
  const fatal = options.onFatal ?? ((e: Error) => options.logger.error(e.message));
  Promise.all([
    userApi ? startupCheck(options, userApi) : undefined,
    stateStore ? stateStore.restored : undefined,
  ]).then(
    ([, state]) => {
      if (stopping()) return;
      if (state) collector.restore(state);
      scheduler.start();
    },
    (error: unknown) => {
      if (!stopping()) fatal(error instanceof Error ? error : new Error(String(error)));
    },
  );
}

/** The preview page's data: the last finished cycle's gauges and a summary. */
function preview(
  snapshot: Snapshot | undefined,
  readingsOf: (snapshot: Snapshot) => GaugeReadings,
  config: Config,
  updatesCounted: number,
) {
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
