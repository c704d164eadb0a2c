import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { FLEET_UID, STACK_UID } from "../../packaging/grafana/grafana.ts";

const DIR = resolve(import.meta.dir, "../../deploy/docker-compose");

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: { path: string; required: boolean }[];
  profiles?: string[];
  ports?: string[];
  volumes?: string[];
  read_only?: boolean;
  tmpfs?: string[];
}
interface Compose {
  services: Record<string, Service>;
}

let compose: Compose;
let prometheusConfig: { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };

function service(name: string): Service {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
}

/** Host path (relative to the compose file) → container path of a service's bind mounts. */
function mounts(s: Service): Map<string, string> {
  return new Map(
    (s.volumes ?? [])
      .filter((v) => v.startsWith("./"))
      .map((v) => {
        const [host = "", container = ""] = v.split(":");
        return [host, container];
      }),
  );
}

beforeAll(async () => {
  // YAML merge keys (<<) resolve, as in Compose.
  compose = parse(await readFile(join(DIR, "docker-compose.yaml"), "utf8"), { merge: true }) as Compose;
  prometheusConfig = parse(await readFile(join(DIR, "prometheus/prometheus.yml"), "utf8"));
});

describe("docker-compose.yaml", () => {
  test("Prometheus receives OTLP and loads the scrape configuration", () => {
    const prometheus = service("prometheus");
    expect(prometheus.image).toMatch(/^prom\/prometheus:v3\./);
    expect(prometheus.command).toContain("--web.enable-otlp-receiver");
    expect(prometheus.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
    expect(mounts(prometheus).get("./prometheus/prometheus.yml")).toBe("/etc/prometheus/prometheus.yml");
  });

  test("the exporter pushes to Prometheus' OTLP path with the token from .env, in the live profile", () => {
    const exporter = service("pulumi-exporter");
    expect(exporter.profiles).toEqual(["live"]);
    expect(exporter.env_file).toEqual([{ path: ".env", required: false }]);
    expect(exporter.command).toEqual([
      "--otlp.endpoint=http://prometheus:9090",
      "--otlp.url-path=/api/v1/otlp/v1/metrics",
      "--otlp.insecure",
    ]);
    expect(exporter.ports).toEqual(["8080:8080"]);
  });

  test("the demo profile runs the simulator without a token, under its own service name", () => {
    const demo = service("pulumi-exporter-demo");
    expect(demo.profiles).toEqual(["demo"]);
    expect(demo.command).toEqual([
      "demo",
      "--otlp.endpoint=http://prometheus:9090",
      "--otlp.url-path=/api/v1/otlp/v1/metrics",
      "--otlp.insecure",
      "--web.listen-address=:8080",
    ]);
    expect(demo.env_file).toBeUndefined();
    expect(demo.environment).toEqual({ OTEL_SERVICE_NAME: "pulumi-exporter-demo" });
  });

  test("both exporters build this repository's image and run on a read-only root with a /tmp", () => {
    for (const name of ["pulumi-exporter", "pulumi-exporter-demo"]) {
      const s = service(name);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation, literal here
      expect(s.image).toBe("${PULUMI_EXPORTER_IMAGE:-pulumi-exporter:local}");
      expect(resolve(DIR, s.build?.context ?? "")).toBe(resolve(DIR, "../.."));
      expect(existsSync(join(resolve(DIR, s.build?.context ?? ""), "Dockerfile"))).toBe(true);
      expect(s.read_only).toBe(true);
      expect(s.tmpfs).toEqual(["/tmp"]);
    }
  });

  test("Prometheus scrapes both exporters on the port they listen on", () => {
    const scrape = prometheusConfig.scrape_configs.find((c) => c.job_name === "pulumi-exporter-scrape");
    expect(scrape?.static_configs.flatMap((c) => c.targets)).toEqual([
      "pulumi-exporter:8080",
      "pulumi-exporter-demo:8080",
    ]);
    // The container port of each service's mapping is the one scraped.
    expect(service("pulumi-exporter").ports?.[0]?.endsWith(":8080")).toBe(true);
    expect(service("pulumi-exporter-demo").ports?.[0]?.endsWith(":8080")).toBe(true);
  });

  test("prometheus.yml is valid for promtool", () => {
    const result = Bun.spawnSync(["promtool", "check", "config", join(DIR, "prometheus/prometheus.yml")]);
    expect(result.stdout.toString()).toContain("SUCCESS");
    expect(result.exitCode).toBe(0);
  });
});

describe("Grafana provisioning", () => {
  test("the data source points at the Prometheus service", async () => {
    const file = parse(await readFile(join(DIR, "grafana/provisioning/datasources/prometheus.yaml"), "utf8"));
    expect(file.datasources).toEqual([
      {
        name: "Prometheus",
        uid: "prometheus",
        type: "prometheus",
        access: "proxy",
        url: "http://prometheus:9090",
        isDefault: true,
        jsonData: { timeInterval: "60s", httpMethod: "POST" },
      },
    ]);
    expect(service("prometheus").ports).toEqual(["9090:9090"]);
  });

  test("the dashboard provider reads the mounted dashboards folder, which holds the home dashboard", async () => {
    const grafana = service("grafana");
    const provisioning = mounts(grafana);
    expect(provisioning.get("./grafana/provisioning")).toBe("/etc/grafana/provisioning");
    const file = parse(
      await readFile(join(DIR, "grafana/provisioning/dashboards/pulumi-exporter.yaml"), "utf8"),
    );
    const path = file.providers[0].options.path as string;
    expect(provisioning.get("./grafana/dashboards")).toBe(path);
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? "";
    expect(home).toBe(`${path}/pulumi-exporter.json`);
    expect(existsSync(join(DIR, "grafana/dashboards", home.slice(path.length + 1)))).toBe(true);
  });

  test("the provisioned folder holds the fleet dashboard and its stack drill-down, by the uids their links use", async () => {
    const folder = join(DIR, "grafana/dashboards");
    const files = (await readdir(folder)).sort();
    expect(files).toEqual(["pulumi-exporter-stack.json", "pulumi-exporter.json"]);
    const uids = await Promise.all(
      files.map(async (f) => (JSON.parse(await readFile(join(folder, f), "utf8")) as { uid: string }).uid),
    );
    expect(uids).toEqual([STACK_UID, FLEET_UID]);
  });
});

describe(".env.example", () => {
  test("turns on the live profile and leaves the token empty", async () => {
    const entries = Object.fromEntries(
      (await readFile(join(DIR, ".env.example"), "utf8"))
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(entries).toEqual({
      COMPOSE_PROFILES: "live",
      PULUMI_ACCESS_TOKEN: "",
      PULUMI_ORGANIZATIONS: "my-org",
      GRAFANA_ADMIN_PASSWORD: "admin",
    });
  });
});
