/**
 * `pulumi-exporter demo`: the exporter against the embedded Pulumi Cloud simulator on loopback. No token, no
 * network, no other service.
 */
import { startExporter } from "../app.ts";
import { CADENCE_DEFAULTS, type CadenceField, DEFAULT_COLLECT_INTERVAL_MS } from "../config/options.ts";
import type { Config } from "../config/types.ts";
import { moduleLoaded } from "../loaded-modules.ts";
import type { Logger } from "../log/logger.ts";
import { startSimulator } from "../sim/server.ts";
import { WebhookSender } from "../sim/webhooks.ts";
import type { Timers } from "../timers.ts";

moduleLoaded("simulator");

/** Short enough to watch numbers move; the simulator advances one tick per cycle. */
export const DEMO_INTERVAL_MS = 10_000;

export interface DemoOptions {
  readonly orgs?: number;
  readonly stacks?: number;
  readonly seed?: number;
  /** The clock and timers of the simulator's ticks and the exporter's loop; the system's by default. */
  readonly timers?: Timers;
}

export interface RunningDemo {
  /** The simulator's webhook sender, when a webhook secret is set (its stats, and `flush`). */
  readonly webhooks: WebhookSender | undefined;
  stop(): Promise<void>;
}

/**
 * The cadences left at their defaults keep the defaults' ratio at the demo's pace, as in production: the inventory
 * every fifth cycle, every stack's drift once per 60 cycles, a running update at most three cycles apart.
 */
export function demoCadences(config: Config, intervalMs: number): Record<CadenceField, number> {
  const cadences = {} as Record<CadenceField, number>;
  for (const { field, defaultMs, cycles } of CADENCE_DEFAULTS) {
    const ms = config.pulumi[field];
    cadences[field] = ms === defaultMs ? cycles * intervalMs : ms;
  }
  return cadences;
}

export async function startDemo(
  config: Config,
  logger: Logger,
  print: (line: string) => void,
  options: DemoOptions = {},
): Promise<RunningDemo> {
  const intervalMs =
    config.pulumi.collectIntervalMs === DEFAULT_COLLECT_INTERVAL_MS
      ? DEMO_INTERVAL_MS
      : config.pulumi.collectIntervalMs;
  const sim = await startSimulator({
    orgs: options.orgs ?? 3,
    stacks: options.stacks ?? 60,
    seed: options.seed ?? 1,
    // Busier than a real organization, so counters move within the first minutes of a demo.
    churn: 0.1,
    tickEveryMs: intervalMs,
    ...(options.timers ? { timers: options.timers } : {}),
  });
  const organizations = sim.model.orgNames();
  const demoConfig: Config = {
    ...config,
    pulumi: {
      ...config.pulumi,
      apiUrl: sim.url,
      accessToken: sim.token,
      accessTokenSource: "the embedded simulator",
      organizations: config.pulumi.organizations.length > 0 ? config.pulumi.organizations : organizations,
      collectIntervalMs: intervalMs,
      ...demoCadences(config, intervalMs),
    },
  };
  const exporter = await startExporter({
    config: demoConfig,
    logger,
    ...(options.timers ? { timers: options.timers } : {}),
  });
  // With a webhook secret, the simulator also sends what it simulates as signed webhooks, as Pulumi Cloud would.
  const webhooks =
    exporter.webhookUrl !== undefined && config.webhook !== undefined
      ? new WebhookSender(sim.model, { url: exporter.webhookUrl, secret: config.webhook.secret })
      : undefined;
  const base = exporter.url.replace("0.0.0.0", "localhost").replace("[::]", "localhost");
  print(`pulumi-exporter demo: simulated Pulumi Cloud at ${sim.url} (${organizations.join(", ")})`);
  print(`  metrics:  ${base}/metrics`);
  if (config.web.preview) print(`  preview:  ${base}/metrics-preview`);
  print(`  health:   ${base}/healthz  ${base}/readyz`);
  print(
    config.otlp.enabled
      ? `  pushing OTLP (${config.otlp.protocol}) to ${config.otlp.metricsEndpoint ?? config.otlp.endpoint}`
      : "  OTLP push is off: add --otlp.endpoint=HOST:PORT to push as well",
  );
  if (webhooks) print(`  webhooks: the simulator posts signed webhooks to ${exporter.webhookUrl}`);
  print(`  collecting every ${intervalMs / 1000}s; press Ctrl+C to stop`);
  return {
    webhooks,
    async stop() {
      await webhooks?.stop();
      await exporter.stop();
      await sim.stop();
    },
  };
}
