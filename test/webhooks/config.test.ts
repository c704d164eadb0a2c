/** The webhook options: on with a secret, where the secret comes from, and their problems, all in one list. */
import { describe, expect, test } from "bun:test";
import { planReload } from "../../src/reload.ts";
import { expectConfig, load, TOKEN, tempDir, writeTemp } from "../config/support.ts";
import { testConfig } from "../support/test-config.ts";

const dir = tempDir();
const base = [`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme"];
const SECRET = "whsec-config-test-52c1";

describe("on and off", () => {
  test("no secret: webhooks off", () => {
    expect(expectConfig(load(base)).webhook).toBeUndefined();
  });

  test("the secret from the environment turns them on with the defaults", () => {
    expect(expectConfig(load(base, { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET })).webhook).toEqual({
      secret: SECRET,
      listenAddress: undefined,
      reconcileIntervalMs: 300_000,
    });
  });

  test("a webhook listener without a secret is ignored, with a warning", () => {
    const result = load([...base, "--webhook.listen-address=:9000"]);
    expect(result.kind === "config" && result.warnings).toEqual([
      "--webhook.listen-address is ignored: no webhook secret is set",
    ]);
  });

  test("every setting from the YAML file", () => {
    const secretFile = writeTemp(dir, `${SECRET}\n`);
    const file = writeTemp(
      dir,
      `webhook:\n  secret-file: ${secretFile}\n  listen-address: "127.0.0.1:9100"\n  reconcile-interval: 15m\n`,
    );
    expect(expectConfig(load([...base, "--config.file", file])).webhook).toEqual({
      secret: SECRET,
      secretFile,
      listenAddress: "127.0.0.1:9100",
      reconcileIntervalMs: 900_000,
    });
  });
});

describe("where the secret comes from", () => {
  test("a secret file named by flag beats the variable", () => {
    const path = writeTemp(dir, "from-the-file\r\n");
    const config = expectConfig(
      load([...base, `--webhook.secret-file=${path}`], { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET }),
    );
    expect(config.webhook?.secret).toBe("from-the-file");
  });

  test("the variable beats a secret file named in the YAML file", () => {
    const path = writeTemp(dir, "from-the-file");
    const file = writeTemp(dir, `webhook:\n  secret-file: ${path}\n`);
    const config = expectConfig(
      load([...base, "--config.file", file], { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET }),
    );
    expect(config.webhook?.secret).toBe(SECRET);
  });

  test("both in the environment: an error", () => {
    const path = writeTemp(dir, "from-the-file");
    expect(
      load(base, { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET, PULUMI_EXPORTER_WEBHOOK_SECRET_FILE: path }),
    ).toEqual({
      kind: "error",
      problems: [
        "PULUMI_EXPORTER_WEBHOOK_SECRET and PULUMI_EXPORTER_WEBHOOK_SECRET_FILE are both set; use one",
      ],
      warnings: [],
    });
  });

  test("an unreadable or empty secret file", () => {
    const empty = writeTemp(dir, "\n");
    expect(load([...base, `--webhook.secret-file=${empty}`])).toEqual({
      kind: "error",
      problems: [`--webhook.secret-file: ${empty} is empty`],
      warnings: [],
    });
    const missing = `${dir}/no-such-secret`;
    const result = load([...base, `--webhook.secret-file=${missing}`]);
    expect(result.kind === "error" && result.problems).toEqual([
      `--webhook.secret-file: cannot read ${missing}: no such file`,
    ]);
  });
});

describe("problems", () => {
  test("the reconcile interval's default follows a longer collect interval", () => {
    const config = expectConfig(
      load([...base, "--pulumi.collect-interval=10m"], { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET }),
    );
    expect(config.webhook?.reconcileIntervalMs).toBe(600_000);
  });

  test("every problem in one list: interval below the collect interval, a bad listener, a bad flag", () => {
    const result = load(
      [
        ...base,
        "--pulumi.collect-interval=2m",
        "--webhook.reconcile-interval=1m",
        "--webhook.listen-address=localhost",
        "--pulumi.max-concurrency=0",
      ],
      { PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET },
    );
    expect(result).toEqual({
      kind: "error",
      problems: [
        "--pulumi.max-concurrency: must be between 1 and 100 (got 0)",
        '--webhook.listen-address: must be [host]:port, such as :8080 or 127.0.0.1:8080 (got "localhost")',
        "--webhook.reconcile-interval: must not be shorter than the collect interval, 2m (got 1m)",
      ],
      warnings: [],
    });
  });

  test("the webhook listener on the main listener's address", () => {
    const result = load([...base, "--web.listen-address=:9000", "--webhook.listen-address=:9000"], {
      PULUMI_EXPORTER_WEBHOOK_SECRET: SECRET,
    });
    expect(result).toEqual({
      kind: "error",
      problems: ["--webhook.listen-address: must differ from the main listen address (got :9000)"],
      warnings: [],
    });
  });
});

describe("reload", () => {
  const on = testConfig({ webhook: { secret: "old-secret-1" } });

  test("a new secret applies live", () => {
    const plan = planReload(on, testConfig({ webhook: { secret: "new-secret-2" } }));
    expect(plan.applied).toEqual(["webhook.secret"]);
    expect(plan.needRestart).toEqual([]);
    expect(plan.config.webhook?.secret).toBe("new-secret-2");
  });

  test("turning webhooks on or off, or moving the listener, needs a restart", () => {
    const off = testConfig();
    expect(planReload(off, on).needRestart).toEqual(["webhook.secret", "webhook.reconcile-interval"]);
    expect(planReload(off, on).config.webhook).toBeUndefined();
    expect(planReload(on, off).needRestart).toEqual(["webhook.secret", "webhook.reconcile-interval"]);
    const moved = testConfig({ webhook: { secret: "old-secret-1", listenAddress: ":9000" } });
    expect(planReload(on, moved).needRestart).toEqual(["webhook.listen-address"]);
  });
});
