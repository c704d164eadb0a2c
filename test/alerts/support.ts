/** The rule groups of deploy/prometheus/alerts.yaml, read for the tests. */
import { parse } from "yaml";

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RecordingRule {
  record: string;
  expr: string;
}
export interface RuleGroup {
  name: string;
  rules: Array<AlertRule | RecordingRule>;
}

export function ruleGroups(yamlText: string): RuleGroup[] {
  return (parse(yamlText) as { groups: RuleGroup[] }).groups;
}

export function alertRules(groups: readonly RuleGroup[]): AlertRule[] {
  return groups.flatMap((g) => g.rules.filter((r): r is AlertRule => "alert" in r));
}
