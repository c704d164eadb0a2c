/** Serves the HTTP app with Bun.serve on a Go-style listen address. */
import type { Hono } from "hono";
import { parseListenAddress } from "./listen-address.ts";
import { ServerStartError } from "./server-start-error.ts";

/** Request bodies are never read (but the webhook's); this caps what a client can make the server buffer. */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

export interface RunningServer {
  /** The bound port (the real one when the address asked for port 0). */
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting connections, lets running requests finish for up to `graceMs`, then closes the rest. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServeOptions {
  /** What a request body may be; default MAX_REQUEST_BODY_BYTES (only the webhook reads one). */
  readonly maxRequestBodyBytes?: number;
}

/** Throws ListenAddressError for a malformed address and ServerStartError when the port cannot be bound. */
export function startServer(app: Hono, listenAddress: string, options: ServeOptions = {}): RunningServer {
  const { hostname, port, fallbackHostname } = parseListenAddress(listenAddress);
  const maxBody = options.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES;
  let server: Bun.Server<undefined>;
  try {
    server = serve(app, hostname, port, maxBody);
  } catch (error) {
    if (fallbackHostname === undefined) throw new ServerStartError(listenAddress, error);
    try {
      server = serve(app, fallbackHostname, port, maxBody);
    } catch (fallbackError) {
      throw new ServerStartError(listenAddress, fallbackError);
    }
  }
  const bound = server.port;
  if (bound === undefined) throw new ServerStartError(listenAddress, new Error("no TCP port was bound"));
  let stopped: Promise<void> | undefined;
  return {
    port: bound,
    hostname: server.hostname ?? hostname,
    stop(graceMs = 5000) {
      stopped ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        });
        await Promise.race([server.stop(false), timeout]);
        clearTimeout(timer);
        await server.stop(true);
      })();
      return stopped;
    },
  };
}

/** The origin given to requests that name none; the app reads only their path and query. */
const ORIGIN_WITHOUT_HOST = "http://localhost";

/**
 * Bun gives a request without a Host header (HTTP/1.0 allows that) its bare request target as URL, "/healthz";
 * Hono looks for the path after "scheme://host" and finds none, so every such request was 404. Such a request
 * gets an origin; anything else is passed on untouched.
 */
function withOrigin(request: Request): Request {
  return request.url.startsWith("/") ? new Request(`${ORIGIN_WITHOUT_HOST}${request.url}`, request) : request;
}

function serve(app: Hono, hostname: string, port: number, maxBody: number): Bun.Server<undefined> {
  return Bun.serve({
    hostname,
    port,
    fetch: (request) => app.fetch(withOrigin(request)),
    development: false,
    // Bun turns SO_REUSEPORT on outside development mode; a second exporter on the same port must fail instead.
    reusePort: false,
    maxRequestBodySize: maxBody,
    // A scrape of a large fleet can take a while to render; keep-alive connections still get closed.
    idleTimeout: 30,
    // Only reached if the app itself fails outside its handlers; never show a stack trace.
    error: () =>
      new Response("internal server error\n", { status: 500, headers: { "Content-Type": "text/plain" } }),
  });
}
