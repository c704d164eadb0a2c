#!/usr/bin/env bun
/** Entry point: `pulumi-exporter [run|demo|check] [flags]`. */
import { pulumiClientOptions, type RunningExporter, startExporter } from "../app.ts";
import { formatCheckLine, runChecks } from "../check/command.ts";
import { formatProblems } from "../config/config-error.ts";
import { loadConfig } from "../config/load-config.ts";
import { configSecrets } from "../config/secrets.ts";
import { loadedModules } from "../loaded-modules.ts";
import { createLogger, type Logger, scrub } from "../log/logger.ts";
import { createPulumiClient } from "../pulumi/client.ts";
import { createReloader } from "../reload.ts";
import { pollEvery, systemTimers } from "../timers.ts";

/** SIGTERM to exit: Kubernetes waits 30 s by default; we promise 10. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Every secret known so far; scrubbed from anything printed, including a last-resort error line. */
const secrets: string[] = [];

function rememberSecrets(...values: Array<string | undefined>): string[] {
  for (const value of values) if (value && value.length >= 4 && !secrets.includes(value)) secrets.push(value);
  return secrets;
}

function handleSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    const hardStop = setTimeout(() => {
      logger.error("shutdown deadline passed, exiting");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    hardStop.unref();
    stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error("shutdown failed", { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/** How often the secret files are read for a rotated secret (a Kubernetes Secret is swapped atomically). */
const SECRET_FILES_POLL_MS = 30_000;

/**
 * SIGHUP's default action ends the process (exit 129, no log line): a `kill -HUP` meant as "reload", or a closing
 * terminal, would stop the exporter. It reloads the configuration once the exporter runs; before (and in demo and
 * check) it is logged and ignored. Returns the setter of the reload action.
 */
function handleHangups(logger: Logger): (reload: () => void) => void {
  let onHangup = (): void => logger.warn("received SIGHUP; ignored (nothing to reload in this command)");
  process.on("SIGHUP", () => onHangup());
  return (reload) => {
    onHangup = () => {
      logger.info("received SIGHUP; reloading the configuration");
      reload();
    };
  };
}

async function main(): Promise<number | undefined> {
  const env = process.env;
  const result = loadConfig({ argv: process.argv.slice(2), env });
  switch (result.kind) {
    case "help":
    case "version":
      process.stdout.write(`${result.text}\n`);
      return 0;
    case "error": {
      const shown = rememberSecrets(env.PULUMI_ACCESS_TOKEN, env.PULUMI_EXPORTER_WEBHOOK_SECRET);
      process.stderr.write(`${scrub(formatProblems(result.problems), shown)}\n`);
      for (const warning of result.warnings) process.stderr.write(`warning: ${scrub(warning, shown)}\n`);
      return 2;
    }
  }
  const { config, command } = result;
  let logLevel = config.log.level;
  const logger = createLogger({
    level: () => logLevel,
    format: config.log.format,
    secrets: rememberSecrets(
      ...configSecrets(config),
      env.PULUMI_ACCESS_TOKEN,
      env.PULUMI_EXPORTER_WEBHOOK_SECRET,
    ),
  });
  const onReload = handleHangups(logger);
  for (const warning of result.warnings) logger.warn(warning);
  process.on("unhandledRejection", (reason) => {
    logger.error("unhandled rejection", { error: reason instanceof Error ? reason.message : String(reason) });
  });

  if (command === "check") {
    // Retries are the check's own, bounded; the client's would stretch the bound.
    const userApi = createPulumiClient({ ...pulumiClientOptions(config, logger), retry: { maxRetries: 0 } });
    const { lines, code } = await runChecks(config, { userApi });
    const shown = rememberSecrets(
      ...configSecrets(config),
      env.PULUMI_ACCESS_TOKEN,
      env.PULUMI_EXPORTER_WEBHOOK_SECRET,
    );
    for (const line of lines) process.stdout.write(`${scrub(formatCheckLine(line), shown)}\n`);
    return code;
  }

  let running: { stop(): Promise<void> };
  if (command === "demo") {
    // The simulator is loaded for `demo` only.
    const { startDemo } = await import("./demo.ts");
    running = await startDemo(config, logger, (line) => process.stdout.write(`${line}\n`));
  } else {
    const exporter: RunningExporter = await startExporter({ config, logger, onFatal: fail });
    const reloader = createReloader({
      config,
      load: () => loadConfig({ argv: process.argv.slice(2), env }),
      logger,
      apply: (next) => {
        rememberSecrets(...configSecrets(next));
        logLevel = next.log.level;
        exporter.applyConfig(next);
      },
    });
    onReload(() => reloader.reload());
    const poll = pollEvery(systemTimers, SECRET_FILES_POLL_MS, () => reloader.checkSecretFiles());
    running = {
      stop: () => {
        poll.stop();
        return exporter.stop();
      },
    };
  }
  logLoadedModules(logger);
  handleSignals(logger, async () => {
    await running.stop();
    logLoadedModules(logger);
  });
  return undefined;
}

/** Which modules loaded on demand this process evaluated (src/loaded-modules.ts), at debug level. */
function logLoadedModules(logger: Logger): void {
  logger.debug("modules loaded on demand", { modules: loadedModules().join(",") || "none" });
}

/** A runtime error at startup (or one that stops the exporter after it): one line, no stack trace, no secret. */
function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `error: ${scrub(message, rememberSecrets(process.env.PULUMI_ACCESS_TOKEN, process.env.PULUMI_EXPORTER_WEBHOOK_SECRET))}\n`,
  );
  process.exit(1);
}

main().then((code) => {
  if (code !== undefined) process.exit(code);
}, fail);
