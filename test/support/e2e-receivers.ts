/** One OTLP receiver per protocol the exporter speaks, behind one shape, for tests that run all three alike. */

import { startOtlpGrpcReceiver } from "./otlp-grpc-receiver.ts";
import { startOtlpHttpReceiver } from "./otlp-http-receiver.ts";
import type { ExportRequest } from "./otlp-proto.ts";

export const PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface E2eReceiver {
  readonly protocol: Protocol;
  /** `127.0.0.1:<port>`, for `--otlp.endpoint=... --otlp.insecure`. */
  readonly endpoint: string;
  /** Accepted exports, in arrival order. */
  readonly received: readonly { body: ExportRequest }[];
  /** Answers the next export with a permanent error (HTTP 400, gRPC INVALID_ARGUMENT). */
  failNext(): void;
  waitForExports(count: number, timeoutMs?: number): Promise<unknown>;
  /**
   * The first export from index `from` on that satisfies `accept`; waits (bounded) for more exports while none
   * does. On timeout, `accept` is given the last export once more with `final` set so it can fail with a diff.
   */
  waitForExportWhere(
    from: number,
    accept: (body: ExportRequest, final: boolean) => boolean,
    timeoutMs?: number,
  ): Promise<{ index: number; body: ExportRequest }>;
  stop(): Promise<void>;
}

const GRPC_INVALID_ARGUMENT = 3;

export async function startReceiver(protocol: Protocol): Promise<E2eReceiver> {
  let base: Omit<E2eReceiver, "waitForExportWhere" | "protocol">;
  if (protocol === "grpc") {
    const grpc = await startOtlpGrpcReceiver();
    base = {
      endpoint: grpc.address,
      received: grpc.received,
      failNext: () => grpc.failNext({ code: GRPC_INVALID_ARGUMENT, details: "refused by the test" }),
      waitForExports: (count, timeoutMs) => grpc.waitForExports(count, timeoutMs),
      stop: () => grpc.stop(),
    };
  } else {
    const http = startOtlpHttpReceiver({ format: protocol === "http/json" ? "json" : "protobuf" });
    base = {
      endpoint: `127.0.0.1:${http.port}`,
      received: http.received,
      failNext: () => http.failNext({ status: 400, body: "refused by the test" }),
      waitForExports: (count, timeoutMs) => http.waitForExports(count, timeoutMs),
      stop: () => http.stop(),
    };
  }
  return {
    ...base,
    protocol,
    async waitForExportWhere(from, accept, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (let index = from; ; index++) {
        const remaining = deadline - Date.now();
        const arrived = await base.waitForExports(index + 1, Math.max(1, remaining)).then(
          () => true,
          () => false,
        );
        const body = base.received[index]?.body;
        if (arrived && body !== undefined && accept(body, false)) return { index, body };
        if (!arrived) {
          const last = base.received.at(-1)?.body;
          if (last !== undefined) accept(last, true);
          throw new Error(`no matching export within ${timeoutMs} ms (${base.received.length} received)`);
        }
      }
    },
  };
}
