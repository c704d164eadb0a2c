/**
 * A real OTLP/HTTP metrics receiver for tests: Bun.serve on 127.0.0.1 with a random port, decoding what arrives
 * with the official protos. It accepts one format, like a backend configured for it: `protobuf`
 * (application/x-protobuf) or `json` (application/json, OTLP/JSON), gzip or not.
 */
import type { Server } from "bun";
import {
  decodeJsonRequest,
  decodeProtobufRequest,
  type ExportRequest,
  requestType,
  responseType,
} from "./otlp-proto.ts";
import { createWaiter } from "./otlp-wait.ts";

export type OtlpHttpFormat = "protobuf" | "json";

/** One request the receiver accepted (answered 2xx): what a backend would ingest. */
export interface ReceivedHttpExport {
  path: string;
  /** Request headers, lowercase names. */
  headers: Record<string, string>;
  contentType: string;
  contentEncoding: string | undefined;
  body: ExportRequest;
  /** OTLP/JSON conformance problems; always empty for protobuf. */
  problems: string[];
}

/** Every request that arrived, with the status it got and why it was refused. */
export interface HttpAttempt {
  path: string;
  status: number;
  reason: string | undefined;
}

export interface HttpFailure {
  status: number;
  /** Response body; defaults to a short text naming the status. */
  body?: string;
  headers?: Record<string, string>;
  /** How many requests get this answer; default 1. */
  times?: number;
}

export interface OtlpHttpReceiverOptions {
  format: OtlpHttpFormat;
  /** The path accepted; default `/v1/metrics`. Other paths get 404. */
  path?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export interface OtlpHttpReceiver {
  /** `http://127.0.0.1:<port>` (https with tls). */
  readonly url: string;
  /** `url` + the accepted path. */
  readonly metricsUrl: string;
  readonly port: number;
  readonly received: readonly ReceivedHttpExport[];
  readonly attempts: readonly HttpAttempt[];
  /** Answers the next `times` requests (default 1) with this failure, before decoding them. */
  failNext(failure: HttpFailure): void;
  /** Resolves once `count` exports were accepted; rejects after `timeoutMs` saying what arrived instead. */
  waitForExports(count: number, timeoutMs?: number): Promise<readonly ReceivedHttpExport[]>;
  /** Resolves once `count` requests arrived, accepted or not. */
  waitForAttempts(count: number, timeoutMs?: number): Promise<readonly HttpAttempt[]>;
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<OtlpHttpFormat, string> = {
  protobuf: "application/x-protobuf",
  json: "application/json",
};

export function startOtlpHttpReceiver(options: OtlpHttpReceiverOptions): OtlpHttpReceiver {
  const acceptedPath = options.path ?? "/v1/metrics";
  const expectedType = CONTENT_TYPES[options.format];
  const received: ReceivedHttpExport[] = [];
  const attempts: HttpAttempt[] = [];
  const failures: (HttpFailure & { times: number })[] = [];
  const waiter = createWaiter("OTLP HTTP receiver", () =>
    attempts.map((a) => `${a.status} ${a.path}${a.reason ? ` (${a.reason})` : ""}`).join(", "),
  );
  const notify = () => waiter.notify();

  const refuse = (path: string, status: number, reason: string, headers?: Record<string, string>) => {
    attempts.push({ path, status, reason });
    notify();
    return new Response(reason, { status, headers: { "content-type": "text/plain", ...headers } });
  };

  const handle = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    const failure = failures[0];
    if (failure !== undefined) {
      failure.times -= 1;
      if (failure.times <= 0) failures.shift();
      return refuse(
        path,
        failure.status,
        failure.body ?? `receiver answers ${failure.status}`,
        failure.headers,
      );
    }
    if (req.method !== "POST") return refuse(path, 405, `method ${req.method} not allowed`);
    if (path !== acceptedPath) return refuse(path, 404, `no OTLP receiver at ${path}`);
    const contentType = req.headers.get("content-type") ?? "";
    if (contentType.split(";")[0]?.trim() !== expectedType) {
      return refuse(path, 415, `expected ${expectedType}, got ${contentType || "no content type"}`);
    }
    const contentEncoding = req.headers.get("content-encoding") ?? undefined;
    let bytes = new Uint8Array(await req.arrayBuffer());
    try {
      if (contentEncoding === "gzip") bytes = Bun.gunzipSync(bytes);
      else if (contentEncoding !== undefined && contentEncoding !== "identity") {
        return refuse(path, 415, `unsupported content encoding ${contentEncoding}`);
      }
    } catch (error) {
      return refuse(path, 400, `bad gzip body: ${String(error)}`);
    }
    let body: ExportRequest;
    let problems: string[] = [];
    try {
      if (options.format === "protobuf") {
        body = decodeProtobufRequest(bytes);
      } else {
        ({ request: body, problems } = decodeJsonRequest(JSON.parse(new TextDecoder().decode(bytes))));
      }
    } catch (error) {
      return refuse(path, 400, `undecodable ${options.format} body: ${String(error)}`);
    }
    received.push({
      path,
      headers: Object.fromEntries(req.headers),
      contentType,
      contentEncoding,
      body,
      problems,
    });
    attempts.push({ path, status: 200, reason: undefined });
    notify();
    return options.format === "protobuf"
      ? new Response(responseType().encode(responseType().create({})).finish(), {
          headers: { "content-type": expectedType },
        })
      : Response.json({});
  };

  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: handle,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  const scheme = options.tls === undefined ? "http" : "https";
  const url = `${scheme}://127.0.0.1:${server.port}`;

  // Touch the type once so a broken proto directory fails here, not inside the first request.
  requestType();

  return {
    url,
    metricsUrl: `${url}${acceptedPath}`,
    port: server.port ?? 0,
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
        `${count} request(s)`,
        timeoutMs,
      ),
    async stop() {
      await server.stop(true);
    },
  };
}
