/**
 * The PrometheusRule in deploy/kubernetes/alerts/ is generated from deploy/prometheus/alerts.yaml, never written by
 * hand, and the kustomization renders it.
 */
import { describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ALERTS_FILE, PROMETHEUS_RULE_FILE, ROOT, renderPrometheusRule } from "../../scripts/alerts.ts";

const KUSTOMIZE_DIR = resolve(ROOT, "deploy/kubernetes");

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name: string; labels?: Record<string, string> };
  spec?: { groups?: unknown };
  resources?: string[];
  components?: string[];
}

const alertsYaml = await readFile(ALERTS_FILE, "utf8");
const sourceGroups = (parse(alertsYaml) as { groups: unknown }).groups;

/** The manifests a kustomization directory builds: its resources, then those of its components. */
async function resolveKustomization(dir: string): Promise<Manifest[]> {
  const kustomization = parse(await readFile(join(dir, "kustomization.yaml"), "utf8")) as Manifest;
  const out: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const text = await readFile(join(dir, resource), "utf8");
    out.push(...parseAllDocuments(text).map((d) => d.toJS() as Manifest));
  }
  for (const component of kustomization.components ?? []) {
    const componentDir = join(dir, component);
    const inner = parse(await readFile(join(componentDir, "kustomization.yaml"), "utf8")) as Manifest;
    expect(inner.kind).toBe("Component");
    out.push(...(await resolveKustomization(componentDir)));
  }
  return out;
}

/** `kubectl kustomize` where kubectl is installed (it is no Debian package CI installs), else the files read. */
async function rendered(): Promise<Manifest[]> {
  if (Bun.which("kubectl") === null) return resolveKustomization(KUSTOMIZE_DIR);
  const result = Bun.spawnSync(["kubectl", "kustomize", KUSTOMIZE_DIR]);
  expect(result.stderr.toString()).toBe("");
  expect(result.exitCode).toBe(0);
  return parseAllDocuments(result.stdout.toString()).map((d) => d.toJS() as Manifest);
}

describe("the PrometheusRule", () => {
  test("is the one npm run docs generates from deploy/prometheus/alerts.yaml", async () => {
    expect(await readFile(PROMETHEUS_RULE_FILE, "utf8")).toBe(renderPrometheusRule(alertsYaml));
  });

  test("holds exactly the groups of alerts.yaml", async () => {
    const rule = parse(await readFile(PROMETHEUS_RULE_FILE, "utf8")) as Manifest;
    expect(rule.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(rule.kind).toBe("PrometheusRule");
    expect(rule.metadata).toEqual({
      name: "pulumi-exporter",
      labels: { "app.kubernetes.io/name": "pulumi-exporter", "app.kubernetes.io/component": "alerts" },
    });
    expect(rule.spec?.groups).toEqual(sourceGroups);
  });

  test("keeps the comments of alerts.yaml (the TUNE: thresholds)", () => {
    const rule = renderPrometheusRule(alertsYaml);
    const tunes = (text: string) =>
      text
        .split("\n")
        .filter((l) => l.includes("# TUNE:"))
        .map((l) => l.trim());
    expect(tunes(rule)).toEqual(tunes(alertsYaml));
    expect(tunes(rule).length).toBeGreaterThanOrEqual(12);
  });

  test("generation fails loudly on a file without rule groups", () => {
    expect(() => renderPrometheusRule("groups: []\n")).toThrow(
      "alerts.yaml: `groups` must be a non-empty list of rule groups",
    );
  });

  test("is a kustomize component that deploy/kubernetes includes, and renders with the rest", async () => {
    const component = parse(
      await readFile(join(dirname(PROMETHEUS_RULE_FILE), "kustomization.yaml"), "utf8"),
    ) as Manifest;
    expect(component).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1alpha1",
      kind: "Component",
      resources: ["prometheusrule.yaml"],
    });
    const manifests = await rendered();
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "PrometheusRule",
      "Service",
      "ServiceMonitor",
    ]);
    const rule = manifests.find((m) => m.kind === "PrometheusRule");
    expect(rule?.spec?.groups).toEqual(sourceGroups);
  });
});
