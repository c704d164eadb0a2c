/**
 * Ends held requests on a manual clock, and only those: whenever every request in flight is one the simulator
 * holds (a hang, a trickling body), nothing but the client's timeout can end it, so time moves on by that timeout.
 * Requests are matched by an `x-request-id` header this fetch adds: a request still on its way, being answered, or
 * being retried keeps the clock still, so no other request can time out, however slow the machine. The polling
 * only decides when to look, never what happens.
 */
import type { FetchFn } from "../../src/pulumi/client.ts";
import type { RunningSimulator } from "../../src/sim/server.ts";
import type { ManualClock } from "./manual-clock.ts";

export interface HeldRequestDriver {
  /** The client's fetch: counts each request in flight until its body is read, cancelled or fails. */
  readonly fetch: FetchFn;
  /** Requests in flight at the client. */
  readonly inFlight: number;
  /** Clock advances made so far. */
  readonly advances: number;
  stop(): void;
}

export function driveHeldRequests(
  sim: RunningSimulator,
  clock: ManualClock,
  timeoutMs: number,
): HeldRequestDriver {
  const inFlight = new Set<string>();
  let next = 0;
  let advances = 0;
  const settle = (once: { id: string; done: boolean }) => {
    if (once.done) return;
    once.done = true;
    inFlight.delete(once.id);
  };
  const fetchCounted: FetchFn = async (request, init) => {
    const once = { id: String(++next), done: false };
    inFlight.add(once.id);
    const headers = new Headers(request.headers);
    headers.set("x-request-id", once.id);
    const tagged = new Request(request, { headers, signal: request.signal });
    try {
      const response = await fetch(tagged, init);
      if (!response.body) {
        settle(once);
        return response;
      }
      const reader = response.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              settle(once);
              controller.close();
            } else controller.enqueue(value);
          } catch (error) {
            settle(once);
            controller.error(error);
          }
        },
        cancel(reason) {
          settle(once);
          return reader.cancel(reason);
        },
      });
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } catch (error) {
      settle(once);
      throw error;
    }
  };
  const timer = setInterval(() => {
    const { held } = sim.traffic();
    const allHeld =
      inFlight.size > 0 && inFlight.size === held.size && [...inFlight].every((id) => held.has(id));
    if (!allHeld) return;
    advances++;
    clock.advance(timeoutMs);
  }, 2);
  return {
    fetch: fetchCounted,
    get inFlight() {
      return inFlight.size;
    },
    get advances() {
      return advances;
    },
    stop: () => clearInterval(timer),
  };
}
