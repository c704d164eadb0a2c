/**
 * The alert rules exist once, in deploy/prometheus/alerts.yaml; the Prometheus Operator's PrometheusRule in
 * deploy/kubernetes/alerts/ is generated from it (by `npm run docs`), comments included, so the two never differ.
 */
import { resolve } from "node:path";
import { Document, isMap, isSeq, parseDocument } from "yaml";

export const ROOT = resolve(import.meta.dir, "..");
export const ALERTS_FILE = resolve(ROOT, "deploy/prometheus/alerts.yaml");
export const PROMETHEUS_RULE_FILE = resolve(ROOT, "deploy/kubernetes/alerts/prometheusrule.yaml");

/** Where every `runbook_url` points: this, `#`, and the alert's name in lower case (GitHub's heading anchor). */
export const RUNBOOK_BASE = "https://github.com/OWNER/pulumi-exporter/blob/main/docs/runbook.md";

export function runbookUrl(alert: string): string {
  return `${RUNBOOK_BASE}#${alert.toLowerCase()}`;
}

const HEADER = [
  " GENERATED from deploy/prometheus/alerts.yaml by `npm run docs` (scripts/alerts.ts): edit that file, not this one.",
  " The Prometheus Operator loads it when its ruleSelector matches the labels below (kube-prometheus-stack: add",
  " `release: <your release>` with kustomize's `labels`).",
].join("\n");

/** The PrometheusRule holding the rule groups of `alertsYaml`, as YAML text. */
export function renderPrometheusRule(alertsYaml: string): string {
  const source = parseDocument(alertsYaml);
  if (source.errors.length > 0) throw new Error(`alerts.yaml: ${source.errors[0]?.message}`);
  const groups = source.get("groups", true);
  if (!isSeq(groups) || groups.items.length === 0 || !groups.items.every(isMap)) {
    throw new Error("alerts.yaml: `groups` must be a non-empty list of rule groups");
  }
  const rule = new Document({
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: "pulumi-exporter",
      labels: { "app.kubernetes.io/name": "pulumi-exporter", "app.kubernetes.io/component": "alerts" },
    },
    spec: {},
  });
  rule.setIn(["spec", "groups"], groups);
  rule.commentBefore = HEADER;
  return rule.toString({ lineWidth: 0 });
}
