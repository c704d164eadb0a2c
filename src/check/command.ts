/**
 * `pulumi-exporter check`: the start-up check of `run` (token, organizations), one OTLP export when push is on,
 * and binding the listen address, each once; one line per check, then exit 0 when all pass and 1 otherwise.
 * Meant for CI and Kubernetes init containers: it tells what is wrong before the exporter is deployed.
 */
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { Hono } from "hono";
import type { Config } from "../config/types.ts";
import { exportSucceeded } from "../metrics/export-result.ts";
import { createMetricExporter, describeExportError } from "../metrics/exporters.ts";
import { resolveOtlpTarget } from "../metrics/otlp-endpoint.ts";
import type { UserApi } from "../pulumi/api.ts";
import { startServer } from "../server/serve.ts";
import { VERSION } from "../version.ts";
import {
  checkStartup,
  describeMissing,
  describeVisible,
  type StartupClock,
  StartupError,
  type StartupRetry,
} from "./startup.ts";

export interface CheckLine {
  ok: boolean;
  text: string;
}

/** `ok   token: …` / `FAIL organization …`: the verdicts line up. */
export function formatCheckLine(line: CheckLine): string {
  return `${line.ok ? "ok  " : "FAIL"} ${line.text}`;
}

export interface CheckDeps {
  userApi: UserApi;
  clock?: StartupClock;
  retry?: StartupRetry;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The token and each configured organization. */
export async function checkPulumi(config: Config, deps: CheckDeps): Promise<CheckLine[]> {
  const { pulumi } = config;
  try {
    const report = await checkStartup({
      api: deps.userApi,
      organizations: pulumi.organizations,
      tokenSource: pulumi.accessTokenSource,
      apiUrl: pulumi.apiUrl,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
    });
    if (report.kind === "unverified") {
      return [{ ok: false, text: `token: could not verify it (GetCurrentUser: ${report.reason})` }];
    }
    const lines: CheckLine[] = [
      { ok: true, text: `token: user ${report.user}, organizations: ${describeVisible(report.visible)}` },
    ];
    for (const org of pulumi.organizations) {
      const missing = report.missing.find((m) => m.org === org);
      lines.push(
        missing ? { ok: false, text: describeMissing(missing) } : { ok: true, text: `organization ${org}` },
      );
    }
    return lines;
  } catch (error) {
    const subject = error instanceof StartupError ? error.subject : "token";
    return [{ ok: false, text: `${subject}: ${message(error)}` }];
  }
}

function exportOnce(exporter: PushMetricExporter): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    // An empty export: the backend is reached and authenticates it, no series is written.
    exporter.export({ resource: resourceFromAttributes({}), scopeMetrics: [] }, (result) => {
      resolve(
        exportSucceeded(result)
          ? { ok: true }
          : { ok: false, reason: describeExportError(result.error).message },
      );
    });
  });
}

/** One empty OTLP export to the configured endpoint; no line when push is off. */
export async function checkOtlp(config: Config): Promise<CheckLine[]> {
  if (!config.otlp.enabled) return [];
  let display = config.otlp.metricsEndpoint ?? config.otlp.endpoint;
  try {
    const target = resolveOtlpTarget(config.otlp);
    display = target.display;
    const exporter = await createMetricExporter(config.otlp, {
      target,
      userAgent: `pulumi-exporter/${VERSION}`,
    });
    try {
      const result = await exportOnce(exporter);
      return [
        result.ok
          ? { ok: true, text: `otlp: exported to ${display} (${config.otlp.protocol})` }
          : { ok: false, text: `otlp: export to ${display} failed: ${result.reason}` },
      ];
    } finally {
      await exporter.shutdown().catch(() => undefined);
    }
  } catch (error) {
    return [{ ok: false, text: `otlp: ${display}: ${message(error)}` }];
  }
}

async function checkBind(name: string, address: string): Promise<CheckLine> {
  try {
    const server = startServer(new Hono(), address);
    await server.stop(0);
    return { ok: true, text: `${name}: ${address} can be bound` };
  } catch (error) {
    return { ok: false, text: `${name}: ${message(error)}` };
  }
}

/** Binds the listen address (and the webhook's own, when it has one) and lets it go at once. */
export async function checkListen(config: Config): Promise<CheckLine[]> {
  const lines = [await checkBind("listen", config.web.listenAddress)];
  const webhook = config.webhook?.listenAddress;
  if (webhook !== undefined) lines.push(await checkBind("webhook listen", webhook));
  return lines;
}

/** Every check, in order; the exit code is 0 when every line is ok. */
export async function runChecks(
  config: Config,
  deps: CheckDeps,
): Promise<{ lines: CheckLine[]; code: number }> {
  const lines = [
    ...(await checkPulumi(config, deps)),
    ...(await checkOtlp(config)),
    ...(await checkListen(config)),
  ];
  return { lines, code: lines.every((line) => line.ok) ? 0 : 1 };
}
