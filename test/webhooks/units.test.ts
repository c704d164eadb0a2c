/** The receiver's parts on their own: the signature check, the duplicate window's bounds, the capped body read. */
import { describe, expect, test } from "bun:test";
import { readBodyCapped } from "../../src/webhooks/body.ts";
import { DeliveryIds } from "../../src/webhooks/deliveries.ts";
import { signWebhook, verifyWebhookSignature } from "../../src/webhooks/signature.ts";

const body = new TextEncoder().encode('{"a":1}');

describe("signature", () => {
  test("the hex HMAC-SHA256 of the body with the secret (RFC 4231 test case 2)", () => {
    expect(signWebhook("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  test("accepted only for that body and secret, whatever its length", () => {
    const good = signWebhook("s3cret", body);
    expect(verifyWebhookSignature("s3cret", body, good)).toBe(true);
    expect(verifyWebhookSignature("s3cret", body, ` ${good.toUpperCase()} `)).toBe(true);
    expect(verifyWebhookSignature("other", body, good)).toBe(false);
    expect(verifyWebhookSignature("s3cret", new TextEncoder().encode('{"a":2}'), good)).toBe(false);
    for (const wrong of [null, undefined, "", good.slice(1), `${good}00`, "zz".repeat(32), good.repeat(100)])
      expect(verifyWebhookSignature("s3cret", body, wrong)).toBe(false);
  });
});

describe("duplicate window", () => {
  test("an ID is remembered for an hour, then forgotten", () => {
    let now = 0;
    const ids = new DeliveryIds({ now: () => now });
    ids.remember("a");
    now = 30 * 60_000;
    ids.remember("b");
    now = 60 * 60_000 - 1;
    expect([ids.has("a"), ids.has("b")]).toEqual([true, true]);
    now = 60 * 60_000;
    expect([ids.has("a"), ids.has("b"), ids.size]).toEqual([false, true, 1]);
  });

  test("at most `capacity` IDs: the oldest go first", () => {
    const ids = new DeliveryIds({ now: () => 0, capacity: 3 });
    for (const id of ["a", "b", "c", "d", "e"]) ids.remember(id);
    expect([ids.size, ids.has("a"), ids.has("b"), ids.has("c"), ids.has("e")]).toEqual([
      3,
      false,
      false,
      true,
      true,
    ]);
  });

  test("100,000 by default", () => {
    const ids = new DeliveryIds({ now: () => 0 });
    for (let i = 0; i < 100_010; i++) ids.remember(`id-${i}`);
    expect([ids.size, ids.has("id-9"), ids.has("id-10")]).toEqual([100_000, false, true]);
  });
});

describe("capped body", () => {
  test("a body at the limit is read whole; one byte more is too large", async () => {
    const at = await readBodyCapped(new Request("http://x/", { method: "POST", body: "x".repeat(10) }), 10);
    expect(at.ok && new TextDecoder().decode(at.body)).toBe("x".repeat(10));
    const over = await readBodyCapped(new Request("http://x/", { method: "POST", body: "x".repeat(11) }), 10);
    expect(over).toEqual({ ok: false, reason: "too-large" });
  });

  test("a declared length over the limit is refused before a byte is read", async () => {
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(4));
      },
    });
    const request = new Request("http://x/", {
      method: "POST",
      body: stream,
      headers: { "content-length": "11" },
    });
    expect(await readBodyCapped(request, 10)).toEqual({ ok: false, reason: "too-large" });
    expect(pulls).toBeLessThanOrEqual(1);
  });

  test("a stream that fails mid-body is unreadable", async () => {
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++pulls > 1) controller.error(new Error("connection reset"));
        else controller.enqueue(new Uint8Array(4));
      },
    });
    const request = new Request("http://x/", { method: "POST", body: stream });
    expect(await readBodyCapped(request, 10)).toEqual({ ok: false, reason: "unreadable" });
  });

  test("a stream is cancelled as soon as it passes the limit", async () => {
    let pulls = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(4));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request("http://x/", { method: "POST", body: stream });
    expect(await readBodyCapped(request, 10)).toEqual({ ok: false, reason: "too-large" });
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThanOrEqual(4);
  });
});
