/**
 * The org interval, the drift refresh and the disabled families through the command line: a bad value exits 2 with one message
 * listing every problem, as every other configuration error does (test/e2e/cli.test.ts).
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { launcher, runToExit } from "../support/e2e-process.ts";

setDefaultTimeout(30_000);

const TOKEN = "pul-cli-config-options-4f0c2b7a";

test("an org interval and a drift refresh below the collect interval and an unknown family: exit 2, all listed", async () => {
  const { code, stdout, stderr } = await runToExit(
    await launcher("source"),
    [
      "run",
      "--pulumi.organizations=acme",
      "--pulumi.collect-interval=2m",
      "--pulumi.org-interval=90s",
      "--pulumi.drift-refresh=1m",
      "--metrics.disable=stacks",
      "--metrics.disable=deploymnets",
    ],
    { env: { PULUMI_ACCESS_TOKEN: TOKEN } },
  );
  expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
  expect(stderr).toBe(
    [
      "invalid configuration:",
      "  - --pulumi.org-interval: must not be shorter than the collect interval, 2m (got 1m30s)",
      "  - --pulumi.drift-refresh: must not be shorter than the collect interval, 2m (got 1m)",
      '  - --metrics.disable: unknown family "deploymnets" (did you mean "deployments"?); families: stacks, updates, deployments, org, esc, policy, neo, agent-pools, plan, tokens, drift',
      "",
    ].join("\n"),
  );
});

test("the same from the environment names the variables", async () => {
  const { code, stderr } = await runToExit(await launcher("source"), ["run"], {
    env: {
      PULUMI_ACCESS_TOKEN: TOKEN,
      PULUMI_ORGANIZATIONS: "acme",
      PULUMI_ORG_INTERVAL: "30s",
      PULUMI_EXPORTER_METRICS_DISABLE: "ecs",
    },
  });
  expect(code).toBe(2);
  expect(stderr).toBe(
    [
      "invalid configuration:",
      "  - PULUMI_ORG_INTERVAL: must not be shorter than the collect interval, 1m (got 30s)",
      '  - PULUMI_EXPORTER_METRICS_DISABLE: unknown family "ecs" (did you mean "esc"?); families: stacks, updates, deployments, org, esc, policy, neo, agent-pools, plan, tokens, drift',
      "",
    ].join("\n"),
  );
});
