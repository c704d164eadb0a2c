/**
 * HTTP/1.0 lets a client leave out the Host header (old probes, `nc`, some load balancers' health checks). Over a
 * raw socket, such requests get exactly the answers of the same requests with a Host header.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createLogger } from "../../src/log/logger.ts";
import { createServerApp } from "../../src/server/app.ts";
import { type RunningServer, startServer } from "../../src/server/serve.ts";

let running: RunningServer;
beforeAll(() => {
  const app = createServerApp({
    health: () => ({ alive: true, ready: true }),
    scrape: async () => "# TYPE up gauge\nup 1\n",
    preview: () => undefined,
    previewEnabled: true,
    logger: createLogger({ write: () => {} }),
  });
  running = startServer(app, "127.0.0.1:0");
});
afterAll(() => running.stop());

interface RawResponse {
  readonly statusLine: string;
  readonly body: string;
}

/** Sends `request` as is and reads until the server closes the connection (HTTP/1.0: after one response). */
function raw(request: string, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(running.port, "127.0.0.1", () => socket.end(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${JSON.stringify(request)} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const headEnd = text.indexOf("\r\n\r\n");
      const head = headEnd === -1 ? text : text.slice(0, headEnd);
      resolve({
        statusLine: head.split("\r\n")[0] ?? "",
        body: headEnd === -1 ? "" : text.slice(headEnd + 4),
      });
    });
  });
}

describe("HTTP/1.0 without a Host header", () => {
  test.each([
    ["/healthz", "HTTP/1.1 200 OK", "ok\n"],
    ["/readyz", "HTTP/1.1 200 OK", "ok\n"],
    ["/metrics", "HTTP/1.1 200 OK", "# TYPE up gauge\nup 1\n"],
    ["/nowhere", "HTTP/1.1 404 Not Found", "not found\n"],
  ])("GET %s answers as with a Host header", async (path, statusLine, body) => {
    const withHost = await raw(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1:${running.port}\r\n\r\n`);
    const withoutHost = await raw(`GET ${path} HTTP/1.0\r\n\r\n`);
    expect(withHost).toEqual({ statusLine, body });
    expect(withoutHost).toEqual(withHost);
  });

  test("a query string and a POST body still reach the app", async () => {
    const preview = await raw("GET /metrics-preview?format=xml HTTP/1.0\r\n\r\n");
    expect(preview).toEqual({
      statusLine: "HTTP/1.1 400 Bad Request",
      body: "format must be text, json or html\n",
    });
    const post = await raw("POST /metrics HTTP/1.0\r\nContent-Length: 7\r\n\r\npayload");
    expect(post).toEqual({ statusLine: "HTTP/1.1 405 Method Not Allowed", body: "method not allowed\n" });
  });
});
