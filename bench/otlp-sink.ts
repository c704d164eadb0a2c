/**
 * An OTLP/HTTP protobuf receiver that only stamps and stores what arrives. Decoding happens later, on demand, so a
 * large export never holds up the simulator that shares this process.
 */
import { decodeProtobufRequest, type ExportRequest } from "../test/support/otlp-proto.ts";

export interface ArrivedExport {
  /** performance.now() when the request reached the handler. */
  readonly at: number;
  readonly size: number;
}

export interface OtlpSink {
  /** Base URL, e.g. `http://127.0.0.1:41234` (the exporter appends /v1/metrics). */
  readonly url: string;
  readonly exports: readonly ArrivedExport[];
  /** The body of the latest export (only the latest is kept, so long runs stay small). */
  readonly lastBody: Uint8Array | undefined;
  /** Resolves once `count` exports arrived; rejects after `timeoutMs`. */
  waitForExports(count: number, timeoutMs: number): Promise<readonly ArrivedExport[]>;
  stop(): Promise<void>;
}

/** `onExport`: told each export's body as it arrives (the webhook scenario reads its update counter). */
export function startOtlpSink(onExport?: (body: Uint8Array, at: number) => void): OtlpSink {
  const exports: ArrivedExport[] = [];
  let lastBody: Uint8Array | undefined;
  const wakers = new Set<() => void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const at = performance.now();
      if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/metrics") {
        return new Response("not an OTLP metrics request", { status: 404 });
      }
      lastBody = new Uint8Array(await request.arrayBuffer());
      onExport?.(lastBody, at);
      exports.push({ at, size: lastBody.byteLength });
      for (const wake of wakers) wake();
      // An empty ExportMetricsServiceResponse encodes to zero bytes.
      return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    exports,
    get lastBody() {
      return lastBody;
    },
    waitForExports(count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (exports.length < count) return;
          clearTimeout(timer);
          wakers.delete(check);
          resolve(exports);
        };
        const timer = setTimeout(() => {
          wakers.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for OTLP export #${count}`));
        }, timeoutMs);
        wakers.add(check);
        check();
      });
    },
    stop: () => server.stop(true),
  };
}

/**
 * `pulumi_update_total` of one export by stack (`org/project/stack`, every kind and result together): the updates
 * counted so far on each stack still exported. A whole-export sum would not do: a deleted stack's series go.
 */
export function updatesCountedByStack(bytes: Uint8Array): Map<string, number> {
  const byStack = new Map<string, number>();
  for (const resource of decodeProtobufRequest(bytes).resourceMetrics ?? []) {
    for (const scope of resource.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        if (metric.name !== "pulumi_update_total") continue;
        for (const point of metric.sum?.dataPoints ?? []) {
          const label = (key: string) =>
            point.attributes?.find((a) => a.key === key)?.value?.stringValue ?? "";
          const stack = `${label("org")}/${label("project")}/${label("stack")}`;
          byStack.set(stack, (byStack.get(stack) ?? 0) + Number(point.asInt ?? point.asDouble ?? 0));
        }
      }
    }
  }
  return byStack;
}

/** Data points per metric name in one export, decoded with the official protos. */
export function countDataPoints(bytes: Uint8Array): Map<string, number> {
  const request: ExportRequest = decodeProtobufRequest(bytes);
  const counts = new Map<string, number>();
  for (const resource of request.resourceMetrics ?? []) {
    for (const scope of resource.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        const points =
          metric.gauge?.dataPoints?.length ??
          metric.sum?.dataPoints?.length ??
          metric.histogram?.dataPoints?.length ??
          0;
        counts.set(metric.name, (counts.get(metric.name) ?? 0) + points);
      }
    }
  }
  return counts;
}
