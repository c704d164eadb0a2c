/**
 * The webhook secret never shows: not in a log line (whatever the requests), an answer, /metrics, the preview
 * page, a configuration problem, `--help` or a reload's log lines.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load-config.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createReloader } from "../../src/reload.ts";
import { signWebhook } from "../../src/webhooks/signature.ts";
import { expectConfig, load, TOKEN, tempDir, writeTemp } from "../config/support.ts";
import { runNextCycle } from "../support/manual-clock.ts";
import { deliver, deliverJson, payloads, type Rig, SECRET, startRig } from "./support.ts";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe("the running exporter", () => {
  test("no log line, answer, /metrics or preview page holds the secret", async () => {
    const lines: string[] = [];
    // A logger that scrubs nothing, so a leak would show.
    const logger = createLogger({ level: "debug", write: (line) => lines.push(line) });
    const r = await startRig({}, logger);
    rig = r;
    const url = r.exporter.webhookUrl ?? "";
    const update = JSON.stringify(payloads.stackUpdate("org-1", "web", "prod"));
    const answers = [
      await deliver(url, { kind: "stack_update", body: update }),
      await deliver(url, {
        kind: "stack_update",
        body: update,
        signature: signWebhook(`${SECRET}x`, update),
      }),
      await deliver(url, { kind: "stack_update", body: SECRET }),
      await deliver(url, { kind: "stack_update", body: new Uint8Array(1024 * 1024 + 10) }),
      await deliverJson(url, "deployment", { organization: { githubLogin: SECRET } }),
      await deliverJson(url, "stack", payloads.stack("elsewhere", "p", "s")),
      await deliverJson(url, "policy_violation", {}),
    ];
    // The secret as an organization name is an organization that is not configured: accepted, ignored.
    expect(answers.map((a) => a.status)).toEqual([202, 401, 400, 413, 202, 202, 204]);
    const bodies = await Promise.all(answers.map((a) => a.text()));
    await runNextCycle(r.exporter.scheduler, r.clock);
    const pages = await Promise.all(
      [
        "/metrics",
        "/metrics-preview?format=html",
        "/metrics-preview?format=json",
        "/metrics-preview",
        "/readyz?verbose",
      ].map(async (path) => `${path}: ${await (await fetch(`${r.exporter.url}${path}`)).text()}`),
    );
    expect(
      pages.filter((page) => page.includes("pulumi_exporter") || page.includes("ready")).length,
    ).toBeGreaterThan(3);
    expect(lines.some((line) => line.includes("webhook rejected: missing or wrong signature"))).toBe(true);
    for (const text of [...lines, ...bodies, ...pages]) expect(text).not.toContain(SECRET);
  });
});

describe("configuration", () => {
  const dir = tempDir();
  const base = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];

  test("problems of other options never quote it; the secret is kept from the environment", () => {
    const result = load([...base, "--pulumi.max-concurrency=0"], { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET });
    expect(result).toEqual({
      kind: "error",
      problems: ["--pulumi.max-concurrency: must be between 1 and 100 (got 0)"],
      warnings: [],
    });
  });

  test("given as a flag: refused without echoing it, in either form", () => {
    for (const argv of [
      [...base, `--webhook.secret=${SECRET}`],
      [...base, "--webhook.secret", "short-secret"],
    ]) {
      const result = load(argv);
      expect(result).toEqual({
        kind: "error",
        problems: ["--webhook.secret: not a flag; set PULUMI_EXPORTER_WEBHOOK_SECRET in the environment"],
        warnings: [],
      });
    }
  });

  test("a whitespace-only secret is named, not quoted", () => {
    const result = load(base, { PULUMI_EXPORTER_WEBHOOK_SECRET: "   " });
    expect(result).toEqual({
      kind: "error",
      problems: ["PULUMI_EXPORTER_WEBHOOK_SECRET: must not be empty"],
      warnings: [],
    });
  });

  test("--help lists the variable, never its value", () => {
    const result = loadConfig({ argv: ["--help"], env: { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET } });
    if (result.kind !== "help") throw new Error(result.kind);
    expect(result.text).toContain("  env PULUMI_EXPORTER_WEBHOOK_SECRET=VALUE\n");
    expect(result.text).not.toContain(SECRET);
  });

  test("a reload that changes the secret logs its name only, and the new one applies", () => {
    const path = writeTemp(dir, `${SECRET}\n`);
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    const argv = [...base, `--webhook.secret-file=${path}`];
    const loaded = expectConfig(load(argv));
    expect(loaded.webhook).toEqual({
      secret: SECRET,
      secretFile: path,
      listenAddress: undefined,
      reconcileIntervalMs: 300_000,
    });
    if (loaded.webhook === undefined) throw new Error("webhooks are off");
    const running = { ...loaded, webhook: { ...loaded.webhook, secret: "old-secret-value" } };
    const applied: string[] = [];
    const reloader = createReloader({
      config: running,
      load: () => load(argv),
      logger,
      apply: (config) => applied.push(config.webhook?.secret ?? ""),
    });
    reloader.reload();
    expect(applied).toEqual([SECRET]);
    expect(lines.join("\n")).not.toContain(SECRET);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEndWith('level=info msg="configuration reloaded" changed=webhook.secret');
  });
});
