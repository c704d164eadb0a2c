import { beforeAll, describe, expect, test } from "bun:test";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

const DIR = resolve(import.meta.dir, "../../deploy/kubernetes");

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // Manifests are free-form; each test narrows what it reads.
  [key: string]: unknown;
}

interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports: { name: string; containerPort: number; protocol: string }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  automountServiceAccountToken: boolean;
  containers: Container[];
  volumes: {
    name: string;
    secret?: { secretName: string; defaultMode: number; items: unknown[] };
    emptyDir?: object;
  }[];
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}
interface ServiceSpec {
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number; protocol: string }[];
}
interface ServiceMonitorSpec {
  selector: { matchLabels: Record<string, string> };
  endpoints: { port: string; path: string; interval: string; scrapeTimeout: string }[];
}

const manifests = new Map<string, Manifest[]>();

function only(kind: string): Manifest {
  const found = [...manifests.values()].flat().filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as Manifest;
}
const deployment = () => only("Deployment").spec as DeploymentSpec;
const container = () => {
  const [first, ...rest] = deployment().template.spec.containers;
  if (first === undefined || rest.length > 0) throw new Error("expected one container");
  return first;
};

beforeAll(async () => {
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith(".yaml"))) {
    const docs = parseAllDocuments(await readFile(join(DIR, file), "utf8"));
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    }
    manifests.set(
      file,
      docs.map((doc) => doc.toJS() as Manifest),
    );
  }
});

describe("manifests", () => {
  test("are the expected objects, and none is tied to a namespace", () => {
    const kinds = [...manifests.entries()].map(([file, docs]) => [file, docs.map((d) => d.kind)]);
    expect(kinds.sort()).toEqual([
      ["configmap.yaml", ["ConfigMap"]],
      ["deployment.yaml", ["Deployment"]],
      ["kustomization.yaml", ["Kustomization"]],
      ["secret.example.yaml", ["Secret"]],
      ["service.yaml", ["Service"]],
      ["servicemonitor.yaml", ["ServiceMonitor"]],
    ]);
    for (const m of [...manifests.values()].flat()) {
      expect(m.metadata?.namespace).toBeUndefined();
      expect(m.namespace).toBeUndefined();
    }
  });

  test("the kustomization lists every manifest but the example Secret, and sets the Deployment's image", () => {
    const kustomization = only("Kustomization");
    expect(kustomization.resources).toEqual([
      "configmap.yaml",
      "deployment.yaml",
      "service.yaml",
      "servicemonitor.yaml",
    ]);
    expect(kustomization.images).toEqual([{ name: "ghcr.io/OWNER/pulumi-exporter", newTag: "latest" }]);
    expect(container().image).toBe("ghcr.io/OWNER/pulumi-exporter:latest");
  });
});

describe("Deployment", () => {
  test("runs one replica whose pods the selector matches", () => {
    const spec = deployment();
    expect(spec.replicas).toBe(1);
    for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
      expect(spec.template.metadata.labels[key]).toBe(value);
    }
  });

  test("runs as 65532 without privileges on a read-only root filesystem", () => {
    const pod = deployment().template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container().securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  test("gives TMPDIR a writable emptyDir", () => {
    const pod = deployment().template.spec;
    expect(container().env).toContainEqual({ name: "TMPDIR", value: "/tmp" });
    const mount = container().volumeMounts.find((m) => m.mountPath === "/tmp");
    expect(pod.volumes.find((v) => v.name === mount?.name)?.emptyDir).toEqual({ sizeLimit: "16Mi" });
  });

  test("reads the token from the Secret's file at the path its args name", () => {
    const pod = deployment().template.spec;
    const tokenArg = container().args.find((a) => a.startsWith("--pulumi.access-token-file="));
    expect(tokenArg).toBe("--pulumi.access-token-file=/var/run/secrets/pulumi/token");
    const path = tokenArg?.split("=")[1] ?? "";
    const mount = container().volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mount).toEqual({ name: "pulumi-token", mountPath: "/var/run/secrets/pulumi", readOnly: true });
    const volume = pod.volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret).toEqual({
      secretName: "pulumi-exporter",
      defaultMode: 0o440,
      items: [{ key: "token", path: path.slice((mount?.mountPath.length ?? 0) + 1) }],
    });
    // The example Secret is the one the volume mounts, with the key the volume reads.
    const secret = only("Secret");
    expect(secret.metadata.name).toBe("pulumi-exporter");
    expect(Object.keys(secret.stringData as object)).toEqual(["token"]);
    // Never the token inline, in args or environment.
    expect(container().args.some((a) => a.startsWith("--pulumi.access-token="))).toBe(false);
    expect(container().env?.some((e) => e.name === "PULUMI_ACCESS_TOKEN")).toBe(false);
  });

  test("takes organizations and the OTLP endpoint from the ConfigMap", () => {
    expect(container().envFrom).toEqual([{ configMapRef: { name: "pulumi-exporter" } }]);
    const configMap = only("ConfigMap");
    expect(configMap.metadata.name).toBe("pulumi-exporter");
    expect(Object.keys(configMap.data as object).sort()).toEqual([
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "PULUMI_EXPORTER_LOG_FORMAT",
      "PULUMI_EXPORTER_OTLP_ENABLED",
      "PULUMI_ORGANIZATIONS",
    ]);
    // The ServiceMonitor scrapes; pushing too would put every series into Prometheus twice.
    expect((configMap.data as Record<string, string>).PULUMI_EXPORTER_OTLP_ENABLED).toBe("false");
  });

  test("probes /healthz and /readyz on the http port, 8080, where the exporter listens", () => {
    const c = container();
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(c.args).toContain("--web.listen-address=:8080");
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
  });

  test("requests and limits CPU and memory", () => {
    expect(container().resources).toEqual({
      requests: { cpu: "50m", memory: "144Mi" },
      limits: { cpu: "500m", memory: "288Mi" },
    });
  });

  test("memory: request at least the measured steady RSS, limit at least 1.25 × the peak, at 10,000 stacks", async () => {
    const measured = tenThousandStacksRss(await readFile(resolve(DIR, "../../docs/benchmarks.md"), "utf8"));
    expect(measured.length).toBe(2);
    const { requests, limits } = container().resources;
    const mi = (quantity: string | undefined) => Number(/^(\d+)Mi$/.exec(quantity ?? "")?.[1]);
    for (const { steady, peak } of measured) {
      expect(mi(requests.memory)).toBeGreaterThanOrEqual(steady);
      expect(mi(limits.memory)).toBeGreaterThanOrEqual(peak * 1.25);
    }
  });
});

describe("Service and ServiceMonitor", () => {
  test("the Service selects the pods and forwards port 8080 to the container's http port", () => {
    const service = only("Service").spec as ServiceSpec;
    const labels = deployment().template.metadata.labels;
    for (const [key, value] of Object.entries(service.selector)) expect(labels[key]).toBe(value);
    expect(service.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    expect(container().ports.map((p) => p.name)).toContain(service.ports[0]?.targetPort as string);
  });

  test("the ServiceMonitor selects the Service and scrapes /metrics on its http port every 60s", () => {
    const monitor = only("ServiceMonitor");
    expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
    const spec = monitor.spec as ServiceMonitorSpec;
    const serviceLabels = only("Service").metadata.labels ?? {};
    expect(Object.keys(spec.selector.matchLabels).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(spec.selector.matchLabels))
      expect(serviceLabels[key]).toBe(value);
    const servicePorts = (only("Service").spec as ServiceSpec).ports.map((p) => p.name);
    expect(spec.endpoints).toEqual([
      { port: "http", path: "/metrics", interval: "60s", scrapeTimeout: "30s" },
    ]);
    expect(servicePorts).toContain(spec.endpoints[0]?.port ?? "");
  });
});

/** RSS steady and peak (MiB) of each 10,000-stack row of the benchmark's "Memory and CPU" table. */
function tenThousandStacksRss(benchmarks: string): { steady: number; peak: number }[] {
  const section = benchmarks.slice(benchmarks.indexOf("### Memory and CPU"));
  return [...section.matchAll(/^\| 10,000 \| \d+ \| \d+ MiB \| (\d+) MiB \| \d+ MiB \| (\d+) MiB \|/gm)].map(
    (m) => ({
      steady: Number(m[1]),
      peak: Number(m[2]),
    }),
  );
}
