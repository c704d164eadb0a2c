/** Configuration reload: what changed, what applies live, what needs a restart, and the exact log lines. */
import { describe, expect, test } from "bun:test";
import { type ConfigFs, loadConfig } from "../src/config/load-config.ts";
import type { Config, LogLevel } from "../src/config/types.ts";
import { createLogger } from "../src/log/logger.ts";
import { changedSettings, createReloader, planReload } from "../src/reload.ts";
import { pollEvery, type Timers } from "../src/timers.ts";
import { AT, recordingLogger } from "./support/state-fixtures.ts";
import { testConfig } from "./support/test-config.ts";

const OLD_TOKEN = "pul-reload-old-token-11111111";
const NEW_TOKEN = "pul-reload-new-token-22222222";

/** A file system of named texts, changed by the test between loads. */
function memoryFs(files: Record<string, string>): ConfigFs {
  return {
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    mode: () => 0o100600,
  };
}

function setup(files: Record<string, string>, extraArgs: readonly string[] = []) {
  const fs = memoryFs(files);
  const argv = [
    "run",
    "--pulumi.access-token-file=/run/token",
    "--config.file=/etc/exporter.yaml",
    ...extraArgs,
  ];
  const load = () => loadConfig({ argv, env: {}, fs });
  const first = load();
  if (first.kind !== "config") throw new Error(`setup: ${JSON.stringify(first)}`);
  const { logger, lines } = recordingLogger();
  const applied: Config[] = [];
  const reloader = createReloader({
    config: first.config,
    load,
    logger,
    apply: (config) => applied.push(config),
    readFile: (path) => fs.readFile(path),
  });
  return { reloader, lines, applied };
}

const YAML =
  "pulumi:\n  organizations: [acme]\nweb:\n  listen-address: 127.0.0.1:9090\nlog:\n  level: info\n";

describe("changedSettings / planReload", () => {
  test("names the changed settings by option name; the token and log level apply, the rest needs a restart", () => {
    const running = testConfig();
    const next = testConfig({
      pulumi: { accessToken: NEW_TOKEN, organizations: ["acme", "beta"] },
      web: { listenAddress: "0.0.0.0:9999" },
      log: { level: "debug" },
    });
    expect(changedSettings(running, next)).toEqual([
      "pulumi.access-token",
      "pulumi.organizations",
      "web.listen-address",
      "log.level",
    ]);
    const plan = planReload(running, next);
    expect(plan.applied).toEqual(["pulumi.access-token", "log.level"]);
    expect(plan.needRestart).toEqual(["pulumi.organizations", "web.listen-address"]);
    expect(plan.config.pulumi.accessToken).toBe(NEW_TOKEN);
    expect(plan.config.log.level).toBe("debug");
    expect(plan.config.pulumi.organizations).toEqual(["acme"]);
    expect(plan.config.web.listenAddress).toBe("127.0.0.1:0");
  });

  test("the org interval and the disabled families need a restart; the families compare as a set", () => {
    const running = testConfig({ metrics: { disable: new Set(["neo", "esc"]) } });
    expect(changedSettings(running, testConfig({ metrics: { disable: new Set(["esc", "neo"]) } }))).toEqual(
      [],
    );
    const next = testConfig({ pulumi: { orgIntervalMs: 600_000 }, metrics: { disable: new Set(["esc"]) } });
    expect(planReload(running, next).needRestart).toEqual(["pulumi.org-interval", "metrics.disable"]);
  });

  test("an identical configuration changes nothing", () => {
    expect(changedSettings(testConfig(), testConfig())).toEqual([]);
  });
});

describe("createReloader", () => {
  test("SIGHUP reload: a new token is applied and logged by name only", () => {
    const files: Record<string, string> = { "/run/token": `${OLD_TOKEN}\n`, "/etc/exporter.yaml": YAML };
    const { reloader, lines, applied } = setup(files);
    files["/run/token"] = `${NEW_TOKEN}\n`;
    reloader.reload();
    expect(lines).toEqual([`${AT} level=info msg="configuration reloaded" changed=pulumi.access-token`]);
    expect(applied.map((c) => c.pulumi.accessToken)).toEqual([NEW_TOKEN]);
    expect(reloader.config.pulumi.accessToken).toBe(NEW_TOKEN);
  });

  test("a changed listen address and level: the level applies, the address needs a restart and keeps its value", () => {
    const files: Record<string, string> = { "/run/token": OLD_TOKEN, "/etc/exporter.yaml": YAML };
    const { reloader, lines, applied } = setup(files);
    files["/etc/exporter.yaml"] = YAML.replace("127.0.0.1:9090", "127.0.0.1:9191").replace("info", "debug");
    reloader.reload();
    expect(lines).toEqual([
      `${AT} level=info msg="configuration reloaded" changed=log.level`,
      `${AT} level=warn msg="configuration changed; needs a restart to take effect" settings=web.listen-address`,
    ]);
    expect(applied.map((c) => [c.log.level, c.web.listenAddress])).toEqual([["debug", "127.0.0.1:9090"]]);
  });

  test("nothing changed: one line, nothing applied", () => {
    const { reloader, lines, applied } = setup({ "/run/token": OLD_TOKEN, "/etc/exporter.yaml": YAML });
    reloader.reload();
    expect(lines).toEqual([`${AT} level=info msg="configuration reloaded; nothing changed"`]);
    expect(applied).toEqual([]);
  });

  test("a configuration that no longer loads: one error line with its problems; the running one stays", () => {
    const files: Record<string, string> = { "/run/token": OLD_TOKEN, "/etc/exporter.yaml": YAML };
    const { reloader, lines, applied } = setup(files);
    delete files["/run/token"];
    reloader.reload();
    expect(lines).toEqual([
      `${AT} level=error msg="configuration reload failed; the running configuration stays" problems="--pulumi.access-token-file: cannot read /run/token: no such file"`,
    ]);
    expect(applied).toEqual([]);
    expect(reloader.config.pulumi.accessToken).toBe(OLD_TOKEN);
  });

  test("checkSecretFiles: a rotated token is taken and logged once; an unchanged, empty or missing file is not", () => {
    const files: Record<string, string> = { "/run/token": OLD_TOKEN, "/etc/exporter.yaml": YAML };
    const { reloader, lines, applied } = setup(files);
    reloader.checkSecretFiles();
    files["/run/token"] = `${NEW_TOKEN}\n`;
    reloader.checkSecretFiles();
    reloader.checkSecretFiles();
    files["/run/token"] = "";
    reloader.checkSecretFiles();
    delete files["/run/token"];
    reloader.checkSecretFiles();
    expect(lines).toEqual([`${AT} level=info msg="access token reloaded from /run/token"`]);
    expect(applied.map((c) => c.pulumi.accessToken)).toEqual([NEW_TOKEN]);
  });

  test("checkSecretFiles: a rotated webhook secret file is taken live and logged once, the token untouched", () => {
    const files: Record<string, string> = {
      "/run/token": OLD_TOKEN,
      "/etc/exporter.yaml": YAML,
      "/run/webhook-secret": "old-webhook-secret\n",
    };
    const { reloader, lines, applied } = setup(files, ["--webhook.secret-file=/run/webhook-secret"]);
    expect(reloader.config.webhook?.secret).toBe("old-webhook-secret");
    reloader.checkSecretFiles();
    files["/run/webhook-secret"] = "new-webhook-secret\n";
    reloader.checkSecretFiles();
    reloader.checkSecretFiles();
    files["/run/webhook-secret"] = "";
    reloader.checkSecretFiles();
    delete files["/run/webhook-secret"];
    reloader.checkSecretFiles();
    expect(lines).toEqual([`${AT} level=info msg="webhook secret reloaded from /run/webhook-secret"`]);
    expect(applied.map((c) => [c.webhook?.secret, c.pulumi.accessToken])).toEqual([
      ["new-webhook-secret", OLD_TOKEN],
    ]);
    expect(reloader.config.webhook?.secretFile).toBe("/run/webhook-secret");
  });

  test("checkSecretFiles does nothing when the token is not from a file", () => {
    const { logger, lines } = recordingLogger();
    let reads = 0;
    const reloader = createReloader({
      config: testConfig({ pulumi: { accessTokenSource: "env PULUMI_ACCESS_TOKEN" } }),
      load: () => ({ kind: "error", problems: [], warnings: [] }),
      logger,
      apply: () => {},
      readFile: () => {
        reads++;
        return NEW_TOKEN;
      },
    });
    reloader.checkSecretFiles();
    expect([reads, lines]).toEqual([0, []]);
  });
});

describe("pollEvery", () => {
  test("calls the check once per interval on the injected timers, and not after stop", () => {
    const pending: Array<{ callback: () => void; ms: number }> = [];
    const timers: Timers = {
      now: () => 0,
      setTimeout: (callback, ms) => {
        const entry = { callback, ms };
        pending.push(entry);
        return entry;
      },
      clearTimeout: (handle) => {
        const index = pending.indexOf(handle as { callback: () => void; ms: number });
        if (index >= 0) pending.splice(index, 1);
      },
    };
    let checks = 0;
    const poll = pollEvery(timers, 30_000, () => checks++);
    expect([checks, pending.map((p) => p.ms)]).toEqual([0, [30_000]]);
    pending.shift()?.callback();
    pending.shift()?.callback();
    expect([checks, pending.length]).toEqual([2, 1]);
    poll.stop();
    expect([checks, pending.length]).toEqual([2, 0]);
  });
});

describe("a logger whose level is a function", () => {
  test("follows the level as it changes, line by line", () => {
    const lines: string[] = [];
    let level: LogLevel = "info";
    const logger = createLogger({
      level: () => level,
      write: (line) => lines.push(line),
      now: () => new Date(0),
    });
    logger.debug("hidden");
    level = "debug";
    logger.debug("shown");
    level = "error";
    logger.warn("hidden too");
    expect(lines).toEqual(["time=1970-01-01T00:00:00.000Z level=debug msg=shown"]);
  });
});
