/**
 * The alerts of deploy/prometheus/alerts.yaml as the dashboards link them: each alert's name, its `runbook_url`
 * (read from the file, never written a second time) and the metrics its expression reads.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { ALERTS_FILE } from "../../scripts/alerts.ts";

export interface AlertLink {
  readonly name: string;
  readonly runbookUrl: string;
  /** The series names the expression reads, recording rules replaced by what they read. */
  readonly metrics: readonly string[];
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: { runbook_url?: string };
}

/** Series names in PromQL: `pulumi_…` metrics, recording rules (`pulumi:…`) and `up`. */
const NAMES = /\b(?:pulumi[:_][a-z0-9_:]+|up)\b(?=\s*[{[)\s]|$)/g;

export function alertLinks(alertsYaml: string): Map<string, AlertLink> {
  const rules = (parse(alertsYaml) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
  const recorded = new Map(rules.flatMap((r) => (r.record ? [[r.record, r.expr] as const] : [])));
  const metricsOf = (expr: string): string[] =>
    [...expr.matchAll(NAMES)].flatMap(([name]) => {
      const source = recorded.get(name);
      return source === undefined ? [name] : metricsOf(source);
    });
  const links = new Map<string, AlertLink>();
  for (const rule of rules) {
    if (!rule.alert) continue;
    const runbookUrl = rule.annotations?.runbook_url;
    if (!runbookUrl) throw new Error(`alerts.yaml: ${rule.alert} has no runbook_url`);
    links.set(rule.alert, { name: rule.alert, runbookUrl, metrics: [...new Set(metricsOf(rule.expr))] });
  }
  return links;
}

export const ALERTS: ReadonlyMap<string, AlertLink> = alertLinks(readFileSync(ALERTS_FILE, "utf8"));
