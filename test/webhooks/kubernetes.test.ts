/**
 * deploy/kubernetes/webhooks: the component's patch gives the exporter flags that load, a port the webhook
 * Service targets, and an Ingress that routes only the webhook path to that Service.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { WEBHOOK_PATH } from "../../src/webhooks/receiver.ts";
import { expectConfig, load, TOKEN, tempDir, writeTemp } from "../config/support.ts";

const DIR = resolve(import.meta.dir, "../../deploy/kubernetes/webhooks");
const read = (file: string) => parse(readFileSync(resolve(DIR, file), "utf8"));

interface Op {
  op: string;
  path: string;
  value: unknown;
}

const kustomization = read("kustomization.yaml");
const ops: Op[] = parse(kustomization.patches[0].patch);
const added = (path: string) => ops.filter((o) => o.op === "add" && o.path === path).map((o) => o.value);

describe("the webhooks component", () => {
  test("is a Component with its Service and Ingress, patching the exporter's Deployment", () => {
    expect(kustomization.kind).toBe("Component");
    expect(kustomization.resources).toEqual(["service.yaml", "ingress.yaml"]);
    expect(kustomization.patches[0].target).toEqual({ kind: "Deployment", name: "pulumi-exporter" });
  });

  test("the flags it adds load: the secret from the mounted file, the webhook on a listener of its own", () => {
    const args = added("/spec/template/spec/containers/0/args/-") as string[];
    const mount = added("/spec/template/spec/containers/0/volumeMounts/-")[0] as { mountPath: string };
    const secretFlag = args.find((a) => a.startsWith("--webhook.secret-file="));
    expect(secretFlag?.startsWith(`--webhook.secret-file=${mount.mountPath}/`)).toBe(true);
    const secretFile = writeTemp(tempDir(), "whsec-from-the-secret\n");
    const argv = args.map((a) => (a === secretFlag ? `--webhook.secret-file=${secretFile}` : a));
    const config = expectConfig(
      load([`--pulumi.access-token=${TOKEN}`, "--pulumi.organizations=acme", ...argv]),
    );
    expect(config.webhook).toEqual({
      secret: "whsec-from-the-secret",
      secretFile,
      listenAddress: ":8081",
      reconcileIntervalMs: 300_000,
    });
  });

  test("the Service targets the port the patch adds; the Ingress routes only the webhook path to it", () => {
    const port = added("/spec/template/spec/containers/0/ports/-")[0];
    expect(port).toEqual({ name: "webhook", containerPort: 8081, protocol: "TCP" });
    const service = read("service.yaml");
    expect(service.spec.ports).toEqual([
      { name: "webhook", port: 8081, targetPort: "webhook", protocol: "TCP" },
    ]);
    const ingress = read("ingress.yaml");
    const paths = ingress.spec.rules.flatMap((r: { http: { paths: unknown[] } }) => r.http.paths);
    expect(paths).toEqual([
      {
        path: WEBHOOK_PATH,
        pathType: "Exact",
        backend: { service: { name: service.metadata.name, port: { name: "webhook" } } },
      },
    ]);
    const volume = added("/spec/template/spec/volumes/-")[0] as { secret: { secretName: string } };
    expect(volume.secret.secretName).toBe(read("secret.example.yaml").metadata.name);
  });
});
