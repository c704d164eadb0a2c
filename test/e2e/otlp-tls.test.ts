/**
 * OTLP over TLS to an IP address endpoint, as in-cluster backends are often addressed, from source and as the
 * compiled binary: with `--otlp.certificate` trusting the receiver's certificate the export arrives (headers and
 * gzip included), and a certificate that does not name the IP address is still refused.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ExporterProcess,
  LAUNCHERS,
  type Launcher,
  launcher,
  spawnExporter,
} from "../support/e2e-process.ts";
import { PROTOCOLS, type Protocol } from "../support/e2e-receivers.ts";
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from "../support/otlp-grpc-receiver.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { points } from "../support/otlp-points.ts";
import { createTestCertificate, type TestCertificate } from "../support/otlp-tls.ts";

// Processes, a build and real servers: more than bun's 5 s default, each wait bounded on its own.
setDefaultTimeout(30_000);

let certificate: TestCertificate;
/** Valid for DNS:localhost only: connecting to 127.0.0.1 must fail the identity check. */
let localhostOnly: { cert: string; key: string; certFile: string; dir: string };

function selfSigned(subjectAltName: string): { cert: string; key: string; certFile: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "e2e-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const openssl = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      `subjectAltName=${subjectAltName}`,
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (openssl.exitCode !== 0) throw new Error(`openssl failed: ${openssl.stderr.toString()}`);
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, dir };
}

beforeAll(async () => {
  await launcher("binary");
  certificate = createTestCertificate();
  localhostOnly = selfSigned("DNS:localhost");
}, 120_000);

afterAll(() => {
  certificate.cleanup();
  rmSync(localhostOnly.dir, { recursive: true, force: true });
});

type Receiver = OtlpHttpReceiver | OtlpGrpcReceiver;
let receiver: Receiver | undefined;
let exporter: ExporterProcess | undefined;
afterEach(async () => {
  await exporter?.stop();
  await receiver?.stop();
  exporter = undefined;
  receiver = undefined;
});

async function tlsReceiver(protocol: Protocol, tls: { cert: string; key: string }): Promise<Receiver> {
  if (protocol === "grpc") return startOtlpGrpcReceiver({ tls });
  return startOtlpHttpReceiver({ format: protocol === "http/json" ? "json" : "protobuf", tls });
}

function startDemo(program: Launcher, protocol: Protocol, port: number, trust: string): ExporterProcess {
  return spawnExporter(program, [
    "demo",
    `--otlp.endpoint=127.0.0.1:${port}`,
    `--otlp.protocol=${protocol}`,
    `--otlp.certificate=${trust}`,
    "--otlp.compression=gzip",
    "--otlp.headers=x-scope-orgid=team%20a",
    "--web.listen-address=127.0.0.1:0",
  ]);
}

describe.each(PROTOCOLS)("OTLP %s over TLS to 127.0.0.1", (protocol) => {
  test.each(LAUNCHERS)("%s: exports with the trusted certificate", async (name) => {
    receiver = await tlsReceiver(protocol, certificate);
    exporter = startDemo(await launcher(name), protocol, receiver.port, certificate.certFile);
    await exporter.waitForOutput(new RegExp(`endpoint=https://127\\.0\\.0\\.1:${receiver.port}`));
    await receiver.waitForExports(1, 20_000);
    const [first] = receiver.received;
    const headers = first && "metadata" in first ? first.metadata : first?.headers;
    expect(headers?.["x-scope-orgid"]).toBe("team a");
    if (first && "contentEncoding" in first) expect(first.contentEncoding).toBe("gzip");
    // 3 organizations × (6 statuses + other).
    expect(points(first?.body ?? { resourceMetrics: [] }, "pulumi_deployment_status")).toHaveLength(21);
    expect(exporter.stderr()).not.toContain("OTLP export failed");
  });

  test.each(LAUNCHERS)("%s: refuses a certificate that does not name the IP address", async (name) => {
    receiver = await tlsReceiver(protocol, localhostOnly);
    exporter = startDemo(await launcher(name), protocol, receiver.port, localhostOnly.certFile);
    const [line] = await exporter.waitForOutput(/msg="OTLP export failed".*/, 20_000);
    expect(line).toMatch(/127\.0\.0\.1|altname|ERR_TLS_CERT_ALTNAME_INVALID/i);
    expect(receiver.received).toHaveLength(0);
  });
});
