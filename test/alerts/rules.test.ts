/**
 * The alert rules checked by Prometheus' own tool: `promtool check rules` on both files, and the unit tests of
 * deploy/prometheus/alerts.test.yaml through `promtool test rules`; plus what every alert must carry.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { ALERTS_FILE, PROMETHEUS_RULE_FILE, runbookUrl } from "../../scripts/alerts.ts";
import { type AlertRule, alertRules, type RuleGroup, ruleGroups } from "./support.ts";

const TEST_FILES = ["alerts.test.yaml", "alerts-24h.test.yaml"];
const RULES_DIR = dirname(ALERTS_FILE);
const RUNBOOK_FILE = join(RULES_DIR, "../../docs/runbook.md");

async function unitTestFiles(): Promise<Array<{ tests: UnitTest[] }>> {
  return Promise.all(
    TEST_FILES.map(async (f) => parse(await readFile(join(RULES_DIR, f), "utf8")) as { tests: UnitTest[] }),
  );
}

/** promtool in the rules' directory, where the unit tests find alerts.yaml. */
function promtool(...args: string[]): { exitCode: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync(["promtool", ...args], { cwd: RULES_DIR });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

interface UnitTest {
  name: string;
  alert_rule_test: Array<{ eval_time: string; alertname: string; exp_alerts: unknown[] }>;
}

let work = "";
let groups: RuleGroup[] = [];
let alerts: AlertRule[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "alert-rules-"));
  groups = ruleGroups(await readFile(ALERTS_FILE, "utf8"));
  alerts = alertRules(groups);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("promtool check rules", () => {
  test("passes on deploy/prometheus/alerts.yaml", () => {
    const result = promtool("check", "rules", ALERTS_FILE);
    expect(result.stdout).toBe(`Checking ${ALERTS_FILE}\n  SUCCESS: 25 rules found\n\n`);
    expect(result.exitCode).toBe(0);
  });

  test("passes on the PrometheusRule's spec.groups", async () => {
    const rule = parse(await readFile(PROMETHEUS_RULE_FILE, "utf8")) as { spec: { groups: unknown } };
    const extracted = join(work, "prometheusrule-groups.yaml");
    await writeFile(extracted, stringify({ groups: rule.spec.groups }));
    const result = promtool("check", "rules", extracted);
    expect(result.stdout).toBe(`Checking ${extracted}\n  SUCCESS: 25 rules found\n\n`);
    expect(result.exitCode).toBe(0);
  });
});

describe("promtool test rules", () => {
  test("every unit test in deploy/prometheus/alerts*.test.yaml passes", async () => {
    const result = promtool("test", "rules", ...TEST_FILES);
    expect({ stdout: result.stdout, stderr: result.stderr }).toEqual({
      stdout: TEST_FILES.map((file) => `Unit Testing:  ${file}\n  SUCCESS\n\n`).join(""),
      stderr: "",
    });
    expect(result.exitCode).toBe(0);
  }, 60_000);

  test("fails when one expected annotation is off by a second, so the test above can fail", async () => {
    const file = (await unitTestFiles())[0];
    const unit = file?.tests.find((t) => t.name === "PulumiExporterNoSuccessfulCycle");
    const text = stringify({ ...file, rule_files: [ALERTS_FILE], tests: [unit] }, { lineWidth: 0 });
    expect(text).toContain("has not completed a successful cycle for 8m 0s");
    const broken = join(work, "broken.test.yaml");
    await writeFile(broken, text.replaceAll("cycle for 8m 0s", "cycle for 8m 1s"));
    const result = promtool("test", "rules", broken);
    const output = result.stdout + result.stderr;
    expect(output).toContain("FAILED:");
    expect(output).toContain("alertname: PulumiExporterNoSuccessfulCycle, time: 13m");
    expect(result.exitCode).toBe(1);
  });

  test("every alert is tested firing and staying quiet", async () => {
    const unitTests = (await unitTestFiles()).flatMap((f) => f.tests);
    const coverage = new Map<string, { fires: number; quiet: number }>();
    for (const unit of unitTests) {
      for (const check of unit.alert_rule_test) {
        const seen = coverage.get(check.alertname) ?? { fires: 0, quiet: 0 };
        if (check.exp_alerts.length > 0) seen.fires++;
        else seen.quiet++;
        coverage.set(check.alertname, seen);
      }
    }
    const names = alerts.map((a) => a.alert);
    expect([...coverage.keys()].sort()).toEqual([...names].sort());
    for (const name of names) {
      const seen = coverage.get(name);
      expect({ name, fires: (seen?.fires ?? 0) > 0, quiet: (seen?.quiet ?? 0) > 0 }).toEqual({
        name,
        fires: true,
        quiet: true,
      });
    }
  });
});

describe("every alert", () => {
  test("has a severity, a for:, a summary, a description and its runbook_url", () => {
    expect(alerts.length).toBe(21);
    for (const rule of alerts) {
      expect({
        alert: rule.alert,
        severity: ["critical", "warning", "info"].includes(rule.labels.severity ?? ""),
      }).toEqual({
        alert: rule.alert,
        severity: true,
      });
      expect(rule.for).toMatch(/^\d+[mh]$/);
      expect(Object.keys(rule.annotations).sort()).toEqual(["description", "runbook_url", "summary"]);
      expect(rule.annotations.runbook_url).toBe(runbookUrl(rule.alert));
    }
  });

  test("has its section in docs/runbook.md, with the anchor its runbook_url names, and a thresholds row", async () => {
    const runbook = await readFile(RUNBOOK_FILE, "utf8");
    const headings = [...runbook.matchAll(/^### (\w+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(alerts.map((a) => a.alert));
    for (const rule of alerts) {
      expect(rule.annotations.runbook_url?.split("#")[1]).toBe(rule.alert.toLowerCase());
      expect(runbook).toContain(`| [${rule.alert}](#${rule.alert.toLowerCase()}) |`);
    }
  });

  test("has the severity and for: the runbook's thresholds table gives it", async () => {
    const runbook = await readFile(RUNBOOK_FILE, "utf8");
    const rows = [...runbook.matchAll(/^\| \[(\w+)\]\(#\w+\) \| (\w+) \| .+ \| (\w+) \|$/gm)].map((m) => [
      m[1],
      m[2],
      m[3],
    ]);
    expect(rows).toEqual(alerts.map((a) => [a.alert, a.labels.severity, a.for]));
  });
});
