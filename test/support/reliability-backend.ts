/**
 * An OTLP/HTTP backend whose health tests switch at will, in front of the real receiver: `up` forwards each
 * export to the receiver, `down` answers 503, `reject` answers 400, `hold` keeps requests waiting until the
 * backend is switched to another mode (a backend slower than any interval, without sleeping in the test).
 */
import type { Server } from "bun";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "./otlp-http-receiver.ts";

export type BackendMode = "up" | "down" | "reject" | "hold";

export interface BackendAttempt {
  mode: BackendMode;
  status: number;
}

export interface ControlledBackend {
  /** `http://127.0.0.1:<port>`: an OTLP endpoint (/v1/metrics is served). */
  readonly url: string;
  readonly receiver: OtlpHttpReceiver;
  /** Every request, in arrival order, with the mode it met and the status it got (0 while held). */
  readonly attempts: readonly BackendAttempt[];
  /** Requests waiting in `hold` mode. */
  readonly held: number;
  /** Switches mode; leaving `hold` lets the waiting requests through under the new mode. */
  setMode(mode: BackendMode, rejectBody?: string): void;
  stop(): Promise<void>;
}

export function startControlledBackend(): ControlledBackend {
  const receiver = startOtlpHttpReceiver({ format: "protobuf" });
  const attempts: BackendAttempt[] = [];
  let mode: BackendMode = "up";
  let rejectBody = "bad request";
  let waiting: (() => void)[] = [];

  const answer = async (request: Request, attempt: BackendAttempt): Promise<Response> => {
    attempt.mode = mode;
    switch (mode) {
      case "down":
        attempt.status = 503;
        return new Response("backend unavailable", { status: 503 });
      case "reject":
        attempt.status = 400;
        return new Response(rejectBody, { status: 400, headers: { "content-type": "text/plain" } });
      case "hold":
        await new Promise<void>((resolve) => waiting.push(resolve));
        return answer(request, attempt);
      case "up": {
        const forwarded = await fetch(receiver.metricsUrl, {
          method: request.method,
          headers: request.headers,
          body: await request.arrayBuffer(),
        });
        attempt.status = forwarded.status;
        return new Response(await forwarded.arrayBuffer(), {
          status: forwarded.status,
          headers: forwarded.headers,
        });
      }
    }
  };

  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(request) {
      const attempt: BackendAttempt = { mode, status: 0 };
      attempts.push(attempt);
      return answer(request, attempt);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    receiver,
    attempts,
    get held() {
      return waiting.length;
    },
    setMode(next, body) {
      mode = next;
      if (body !== undefined) rejectBody = body;
      if (next !== "hold") {
        const release = waiting;
        waiting = [];
        for (const resolve of release) resolve();
      }
    },
    async stop() {
      this.setMode("down");
      await server.stop(true);
      await receiver.stop();
    },
  };
}
