/**
 * The running exporter stays responsive while it works through a huge stack page. Seen before: a page of
 * 1,000,000 stacks (130 MB) blocked /healthz for 7.9 s while it was parsed and validated in one go.
 *
 * The measured quantity is the event loop's longest stall: a 1 ms timer chain notes the gap between its turns
 * from before the first cycle asks for the page until that cycle has ended, plus one last sample then, so a
 * stall at the very end counts too. /healthz is polled all the while, each answer timed.
 *
 * Why "< 100 ms" holds on a busy 2-core machine yet fails before the fix: the page reader and the collector give
 * the event loop a turn after every 10 ms of work (SLICE_MS), so a stall is 10 ms plus one item's work, which a
 * loaded machine stretches by a few times, not ten. Before, the 48 MB page below was parsed and validated in
 * one turn: seconds. A poll of /healthz needs a few turns of the same loop, hence its looser bound.
 */
import { afterEach, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { watchEventLoop } from "../support/event-loop-watch.ts";
import { testConfig } from "../support/test-config.ts";

const STACKS = 200_000;
/** The last few stacks are the configured org's: they are only counted if the whole page was read. */
const OWN_STACKS = 3;

/** About 48 MB: fields the exporter reads and some it does not, as in a real page. */
function stackPage(): string {
  const items: string[] = [];
  for (let i = 0; i < STACKS; i++) {
    const org = i >= STACKS - OWN_STACKS ? "acme" : "elsewhere";
    const project = `project-${i % 97}`;
    items.push(
      `{"id":"00000000-0000-4000-8000-${String(i).padStart(12, "0")}","orgName":"${org}","projectName":"${project}",` +
        `"stackName":"stack-${i}","lastUpdate":${1_700_000_000 + i},"resourceCount":${i % 500},` +
        `"links":{"self":"https://app.pulumi.com/${org}/${project}/stack-${i}"}}`,
    );
  }
  return `{"stacks":[${items.join(",")}]}`;
}

/**
 * The body handed out 256 KiB at a time: this server shares the event loop with the exporter, and writing 48 MB
 * in one go would be its own 100 ms stall.
 */
function inSlices(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + 256 * 1024));
      offset += 256 * 1024;
    },
  });
}

let running: RunningExporter | undefined;
let api: ReturnType<typeof Bun.serve> | undefined;
afterEach(async () => {
  await running?.stop(1000);
  await api?.stop(true);
  running = undefined;
  api = undefined;
});

test(`/healthz answers and the event loop never stalls 100 ms while a page of ${STACKS} stacks is read`, async () => {
  const body = stackPage();
  expect(body.length).toBeGreaterThan(45_000_000);
  const bytes = new TextEncoder().encode(body);
  let pageRequests = 0;
  api = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/user/stacks") {
        pageRequests++;
        return new Response(inSlices(bytes), { headers: { "content-type": "application/json" } });
      }
      if (path.endsWith("/updates")) return Response.json({ updates: [], total: 0 });
      return Response.json({ message: "not here" }, { status: 404 });
    },
  });

  running = await startExporter({
    logger: silentLogger,
    config: testConfig({
      pulumi: { apiUrl: `http://127.0.0.1:${api.port}`, organizations: ["acme"], requestTimeoutMs: 30_000 },
    }),
  });
  // Its first cycle starts on a later turn: the page has not been asked for yet, and the exporter's own
  // start-up is not what is measured.
  expect(pageRequests).toBe(0);
  const watch = watchEventLoop();
  const polls: number[] = [];
  while (running.scheduler.cycles === 0) {
    const started = performance.now();
    const health = await fetch(`${running.url}/healthz`);
    polls.push(performance.now() - started);
    expect(health.status).toBe(200);
    await Bun.sleep(5);
  }
  const stalls = watch.stop();

  // The whole page was read: the org's own stacks come last in it.
  expect(pageRequests).toBe(1);
  expect(running.collector.snapshot?.state.stacks.size).toBe(OWN_STACKS);
  expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  expect(stalls.cpuMs).toBeLessThan(100);
  // Wall time, on a machine others share: loose, yet far below the seconds a poll waited before.
  expect(Math.max(...polls)).toBeLessThan(2000);
  // The page takes seconds to work through: /healthz was asked many times meanwhile.
  expect(polls.length).toBeGreaterThan(20);
}, 120_000);
