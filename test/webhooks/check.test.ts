/** `check` binds the webhook's own listen address too, when it has one. */
import { afterEach, expect, test } from "bun:test";
import { checkListen } from "../../src/check/command.ts";
import { testConfig } from "../support/test-config.ts";

let taken: ReturnType<typeof Bun.serve> | undefined;
afterEach(async () => {
  await taken?.stop(true);
  taken = undefined;
});

test("both listen addresses are bound and let go", async () => {
  const config = testConfig({
    web: { listenAddress: "127.0.0.1:0" },
    webhook: { listenAddress: "127.0.0.1:0" },
  });
  expect(await checkListen(config)).toEqual([
    { ok: true, text: "listen: 127.0.0.1:0 can be bound" },
    { ok: true, text: "webhook listen: 127.0.0.1:0 can be bound" },
  ]);
});

test("a webhook listen address in use fails its own line", async () => {
  taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const address = `127.0.0.1:${taken.port}`;
  const lines = await checkListen(testConfig({ webhook: { listenAddress: address } }));
  expect(lines.map((l) => l.ok)).toEqual([true, false]);
  expect(lines[1]?.text.startsWith(`webhook listen: cannot listen on "${address}": `)).toBe(true);
});

test("without webhooks, or on the main listener, one line", async () => {
  expect(await checkListen(testConfig())).toHaveLength(1);
  expect(await checkListen(testConfig({ webhook: {} }))).toHaveLength(1);
});
