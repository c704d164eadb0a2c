/**
 * A real OTLP/gRPC metrics receiver for tests: a @grpc/grpc-js server on 127.0.0.1 with a random port serving
 * opentelemetry.proto.collector.metrics.v1.MetricsService/Export from the official protos (via @grpc/proto-loader).
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { CONVERSION, type ExportRequest, METRICS_SERVICE_PROTO, OTLP_PROTO_DIR } from "./otlp-proto.ts";
import { createWaiter } from "./otlp-wait.ts";

const SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService";

/** One export the receiver accepted. */
export interface ReceivedGrpcExport {
  /** Request metadata, lowercase keys; repeated keys joined with ", ". */
  metadata: Record<string, string>;
  body: ExportRequest;
}

export interface GrpcAttempt {
  code: grpc.status;
  details: string | undefined;
}

export interface GrpcFailure {
  code: grpc.status;
  details?: string;
  /** How many calls get this answer; default 1. */
  times?: number;
}

export interface OtlpGrpcReceiver {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** `http://127.0.0.1:<port>` (`https://` with tls). */
  readonly url: string;
  readonly port: number;
  readonly received: readonly ReceivedGrpcExport[];
  readonly attempts: readonly GrpcAttempt[];
  failNext(failure: GrpcFailure): void;
  waitForExports(count: number, timeoutMs?: number): Promise<readonly ReceivedGrpcExport[]>;
  waitForAttempts(count: number, timeoutMs?: number): Promise<readonly GrpcAttempt[]>;
  stop(): Promise<void>;
}

function loadService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(METRICS_SERVICE_PROTO, {
    ...CONVERSION,
    keepCase: false,
    includeDirs: [OTLP_PROTO_DIR],
  });
  const service = definition[SERVICE];
  if (service === undefined || !("Export" in service)) throw new Error(`${SERVICE} not found in the protos`);
  return service as unknown as grpc.ServiceDefinition;
}

export async function startOtlpGrpcReceiver(
  options: { tls?: { cert: string; key: string } } = {},
): Promise<OtlpGrpcReceiver> {
  const received: ReceivedGrpcExport[] = [];
  const attempts: GrpcAttempt[] = [];
  const failures: (GrpcFailure & { times: number })[] = [];
  const waiter = createWaiter("OTLP gRPC receiver", () =>
    attempts.map((a) => `${grpc.status[a.code]}${a.details ? ` (${a.details})` : ""}`).join(", "),
  );
  const notify = () => waiter.notify();

  const server = new grpc.Server();
  server.addService(loadService(), {
    Export(
      call: grpc.ServerUnaryCall<ExportRequest, Record<string, never>>,
      callback: grpc.sendUnaryData<Record<string, never>>,
    ) {
      const failure = failures[0];
      if (failure !== undefined) {
        failure.times -= 1;
        if (failure.times <= 0) failures.shift();
        const details = failure.details ?? `receiver answers ${grpc.status[failure.code]}`;
        attempts.push({ code: failure.code, details });
        notify();
        callback({ code: failure.code, details });
        return;
      }
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.toJSON())) {
        metadata[key] = value.map((v) => v.toString()).join(", ");
      }
      received.push({ metadata, body: call.request });
      attempts.push({ code: grpc.status.OK, details: undefined });
      notify();
      callback(null, {});
    },
  });

  const credentials =
    options.tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [
          { cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) },
        ]);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  const address = `127.0.0.1:${port}`;

  return {
    address,
    url: `${options.tls === undefined ? "http" : "https"}://${address}`,
    port,
    received,
    attempts,
    failNext(failure) {
      failures.push({ ...failure, times: failure.times ?? 1 });
    },
    waitForExports: (count, timeoutMs = 5000) =>
      waiter.until(
        () => received.length >= count,
        () => received,
        `${count} accepted export(s)`,
        timeoutMs,
      ),
    waitForAttempts: (count, timeoutMs = 5000) =>
      waiter.until(
        () => attempts.length >= count,
        () => attempts,
        `${count} call(s)`,
        timeoutMs,
      ),
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open client channels would hold tryShutdown forever; cut them after a grace period.
        setTimeout(() => server.forceShutdown(), 200).unref();
      }),
  };
}
