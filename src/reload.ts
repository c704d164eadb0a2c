/**
 * Configuration reload (SIGHUP) and access-token rotation: what changed between the running configuration and a
 * freshly loaded one, what applies live, and the log lines that say so.
 */
import { readFileSync } from "node:fs";
import type { ConfigResult } from "./config/load-config.ts";
import { OPTIONS, type OptionName } from "./config/options.ts";
import type { Config } from "./config/types.ts";
import type { Logger } from "./log/logger.ts";

/** Settings read otherwise than by their option's `Config` field path. */
const READ_AS: Partial<Record<OptionName, (c: Config) => unknown>> = {
  // A set is `{}` as JSON: compare its members, in one order.
  "metrics.disable": (c) => [...c.metrics.disable].sort(),
};

function readPath(path: string): (c: Config) => unknown {
  const keys = path.split(".");
  return (c) =>
    keys.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], c);
}

/**
 * Every setting by its option name, read from a configuration and compared as JSON: one per `Config` field, so a
 * secret and the file option it can come from are one setting, named by the first.
 */
const SETTINGS: ReadonlyArray<readonly [OptionName, (c: Config) => unknown]> = OPTIONS.filter(
  (option, i) => OPTIONS.findIndex((o) => o.field === option.field) === i,
).map((option) => [option.name, READ_AS[option.name] ?? readPath(option.field)] as const);

/** Settings a running exporter takes without a restart. */
const LIVE: ReadonlySet<string> = new Set(["pulumi.access-token", "log.level", "webhook.secret"]);

/** A new webhook secret applies live; turning webhooks on or off adds or removes a route, so it needs a restart. */
function isLive(name: string, running: Config, next: Config): boolean {
  if (name === "webhook.secret") return running.webhook !== undefined && next.webhook !== undefined;
  return LIVE.has(name);
}

/** Names of the settings whose values differ, in option order. Values are never returned: some are secrets. */
export function changedSettings(running: Config, next: Config): string[] {
  return SETTINGS.filter(([, read]) => JSON.stringify(read(running)) !== JSON.stringify(read(next))).map(
    ([name]) => name,
  );
}

export interface ReloadPlan {
  /** The configuration to run with: the running one with the live settings taken from the new one. */
  readonly config: Config;
  /** Settings applied now. */
  readonly applied: string[];
  /** Settings that changed but keep their old value until a restart. */
  readonly needRestart: string[];
}

/** What a freshly loaded configuration changes in the running one. Pure. */
export function planReload(running: Config, next: Config): ReloadPlan {
  const changed = changedSettings(running, next);
  const applied = changed.filter((name) => isLive(name, running, next));
  const needRestart = changed.filter((name) => !isLive(name, running, next));
  const webhook =
    running.webhook !== undefined && next.webhook !== undefined && applied.includes("webhook.secret")
      ? { ...running.webhook, secret: next.webhook.secret }
      : running.webhook;
  const config: Config = {
    ...running,
    pulumi: {
      ...running.pulumi,
      accessToken: next.pulumi.accessToken,
      ...(next.pulumi.accessTokenSource === undefined
        ? {}
        : { accessTokenSource: next.pulumi.accessTokenSource }),
      ...(next.pulumi.accessTokenFile === undefined ? {} : { accessTokenFile: next.pulumi.accessTokenFile }),
    },
    log: { ...running.log, level: next.log.level },
    webhook,
  };
  return { config, applied, needRestart };
}

export interface ReloaderOptions {
  /** The running configuration at start. */
  readonly config: Config;
  /** Loads the configuration again, the same way it was loaded at start (same flags and environment). */
  readonly load: () => ConfigResult;
  readonly logger: Logger;
  /** Takes the configuration after a reload or a rotated token (the exporter reads its token and level from it). */
  readonly apply: (config: Config) => void;
  /** Reads the token file; the file system's by default. */
  readonly readFile?: (path: string) => string;
}

export interface Reloader {
  /** The configuration running now. */
  readonly config: Config;
  /** SIGHUP: loads the configuration again, applies what can change live and logs the rest. */
  reload(): void;
  /**
   * Reads the files secrets came from (the access token's, the webhook secret's) and takes a secret that changed,
   * as a rotated Kubernetes Secret rewrites its mounted file.
   */
  checkSecretFiles(): void;
}

export function createReloader(options: ReloaderOptions): Reloader {
  const { logger } = options;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  let running = options.config;
  const take = (config: Config): void => {
    running = config;
    options.apply(config);
  };
  return {
    get config() {
      return running;
    },
    reload() {
      const result = options.load();
      if (result.kind !== "config") {
        const problems = result.kind === "error" ? result.problems : [`unexpected ${result.kind} output`];
        logger.error("configuration reload failed; the running configuration stays", {
          problems: problems.join("; "),
        });
        return;
      }
      const plan = planReload(running, result.config);
      if (plan.applied.length === 0 && plan.needRestart.length === 0) {
        logger.info("configuration reloaded; nothing changed");
        return;
      }
      take(plan.config);
      if (plan.applied.length > 0) logger.info("configuration reloaded", { changed: plan.applied.join(",") });
      if (plan.needRestart.length > 0) {
        logger.warn("configuration changed; needs a restart to take effect", {
          settings: plan.needRestart.join(","),
        });
      }
    },
    checkSecretFiles() {
      for (const file of SECRET_FILES) {
        const path = file.path(running);
        if (path === undefined) continue;
        let secret: string;
        try {
          secret = readFile(path).replace(/[\r\n]+$/, "");
        } catch {
          // Mid-swap or briefly missing: the running secret stays; the next check or a SIGHUP reports a lasting problem.
          continue;
        }
        if (secret === "" || secret === file.current(running)) continue;
        take(file.replace(running, secret));
        logger.info(`${file.what} reloaded from ${path}`);
      }
    },
  };
}

/** A secret read from a file, which applies live when the file changes. */
interface SecretFile {
  readonly what: string;
  readonly path: (config: Config) => string | undefined;
  readonly current: (config: Config) => string | undefined;
  readonly replace: (config: Config, secret: string) => Config;
}

const SECRET_FILES: readonly SecretFile[] = [
  {
    what: "access token",
    path: (c) => c.pulumi.accessTokenFile,
    current: (c) => c.pulumi.accessToken,
    replace: (c, accessToken) => ({ ...c, pulumi: { ...c.pulumi, accessToken } }),
  },
  {
    what: "webhook secret",
    path: (c) => c.webhook?.secretFile,
    current: (c) => c.webhook?.secret,
    replace: (c, secret) => (c.webhook === undefined ? c : { ...c, webhook: { ...c.webhook, secret } }),
  },
];
