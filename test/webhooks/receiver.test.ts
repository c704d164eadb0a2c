/**
 * The webhook receiver in the running exporter: signed deliveries become triggers, anything else changes nothing,
 * and every answer is counted by kind and outcome on /metrics.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { WEBHOOK_PATH } from "../../src/webhooks/receiver.ts";
import { signWebhook } from "../../src/webhooks/signature.ts";
import { deliver, deliverJson, payloads, type Rig, SECRET, startRig, webhookCounts } from "./support.ts";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function started(webhook?: Parameters<typeof startRig>[0]): Promise<Rig> {
  rig = await startRig(webhook);
  return rig;
}

function urlOf(r: Rig): string {
  const url = r.exporter.webhookUrl;
  if (url === undefined) throw new Error("webhooks are off");
  return url;
}

const UPDATE = JSON.stringify(payloads.stackUpdate("org-1", "web", "prod"));

describe("signature", () => {
  test("a delivery signed with the secret is accepted: 202, its trigger queued", async () => {
    const r = await started();
    const response = await deliver(urlOf(r), { kind: "stack_update", body: UPDATE });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("accepted\n");
    expect(r.triggers).toEqual([{ kind: "stack-history", org: "org-1", project: "web", stack: "prod" }]);
  });

  test("upper-case hex is the same signature", async () => {
    const r = await started();
    const response = await deliver(urlOf(r), {
      kind: "stack_update",
      body: UPDATE,
      signature: signWebhook(SECRET, UPDATE).toUpperCase(),
    });
    expect(response.status).toBe(202);
  });

  const wrong: Array<[string, { body: string; signature: string | null }]> = [
    ["signed with another secret", { body: UPDATE, signature: signWebhook("another-secret", UPDATE) }],
    ["a tampered body", { body: UPDATE.replace('"prod"', '"prue"'), signature: signWebhook(SECRET, UPDATE) }],
    ["no signature header", { body: UPDATE, signature: null }],
    [
      "a signature one character short",
      { body: UPDATE, signature: signWebhook(SECRET, UPDATE).slice(0, -1) },
    ],
    ["a signature one character long", { body: UPDATE, signature: `${signWebhook(SECRET, UPDATE)}0` }],
    ["an empty signature", { body: UPDATE, signature: "" }],
  ];
  for (const [name, delivery] of wrong) {
    test(`${name}: 401, no trigger, counted as bad_signature`, async () => {
      const r = await started();
      const response = await deliver(urlOf(r), { kind: "stack_update", ...delivery });
      expect(response.status).toBe(401);
      expect(await response.text()).toBe("missing or wrong Pulumi-Webhook-Signature\n");
      expect(r.triggers).toEqual([]);
      expect(await webhookCounts(r.exporter)).toEqual({ "stack_update,bad_signature": 1 });
    });
  }

  test("a rejected delivery's ID is not remembered: the genuine one with that ID is still accepted", async () => {
    const r = await started();
    const forged = await deliver(urlOf(r), {
      kind: "stack_update",
      body: UPDATE,
      id: "id-1",
      signature: signWebhook("x", UPDATE),
    });
    expect(forged.status).toBe(401);
    expect((await deliver(urlOf(r), { kind: "stack_update", body: UPDATE, id: "id-1" })).status).toBe(202);
    expect(r.triggers).toHaveLength(1);
  });
});

describe("size limit", () => {
  const tooLarge = new Uint8Array(1024 * 1024 + 1).fill(0x20);

  test("a body over 1 MiB with Content-Length: 413 before reading it", async () => {
    const r = await started();
    const response = await deliver(urlOf(r), { kind: "stack_update", body: tooLarge });
    expect(response.status).toBe(413);
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter)).toEqual({ "stack_update,too_large": 1 });
  });

  test("a declared body of 4 GiB: the receiver's 413, counted, with nothing of it sent", async () => {
    const r = await started();
    const { hostname, port } = new URL(urlOf(r));
    const answer = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = connect({ host: hostname, port: Number(port) }, () => {
        socket.write(
          `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
            `Pulumi-Webhook-Kind: stack_update\r\nContent-Length: ${4 * 1024 ** 3}\r\n\r\n`,
        );
      });
      socket.on("data", (chunk) => {
        text += chunk.toString();
        if (text.includes("\r\n\r\n")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
    });
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 413 Payload Too Large");
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter)).toEqual({ "stack_update,too_large": 1 });
  });

  test("a chunked body over 1 MiB: 413 once the limit is passed, the rest never read", async () => {
    const r = await started();
    let pulled = 0;
    // 64 KiB at a time, up to 4 MiB if all were read.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 64) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const response = await deliver(urlOf(r), { kind: "deployment", body, signature: "00" });
    expect(response.status).toBe(413);
    expect(response.headers.get("content-length")).not.toBeNull();
    expect(pulled).toBeLessThan(64);
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter)).toEqual({ "deployment,too_large": 1 });
  });

  test("a body of exactly 1 MiB is read (and here rejected for its signature, not its size)", async () => {
    const r = await started();
    const body = new Uint8Array(1024 * 1024).fill(0x20);
    const response = await deliver(urlOf(r), { kind: "stack_update", body, signature: "00" });
    expect(response.status).toBe(401);
  });
});

describe("payloads", () => {
  test("signed but not JSON: 400, counted as malformed", async () => {
    const r = await started();
    const response = await deliver(urlOf(r), { kind: "stack_update", body: "{not json" });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("not a Pulumi Cloud webhook payload\n");
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter)).toEqual({ "stack_update,malformed": 1 });
  });

  const shapes: Array<[string, string, unknown]> = [
    [
      "an update without a stack name",
      "stack_update",
      { organization: { githubLogin: "org-1" }, projectName: "p" },
    ],
    [
      "an organization without its login",
      "stack",
      { ...payloads.stack("org-1", "p", "s"), organization: { name: "x" } },
    ],
    ["a stack name with a slash", "drift_detection", payloads.driftDetection("org-1", "p", "../s")],
    ["an array", "deployment", [payloads.deployment("org-1", "p", "s")]],
  ];
  for (const [name, kind, payload] of shapes) {
    test(`${name}: 400`, async () => {
      const r = await started();
      expect((await deliverJson(urlOf(r), kind, payload)).status).toBe(400);
      expect(r.triggers).toEqual([]);
    });
  }

  test("a kind the exporter does not act on: 204, counted as other/unsupported", async () => {
    const r = await started();
    const response = await deliverJson(urlOf(r), "policy_violation", {
      organization: { githubLogin: "org-1" },
    });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    const none = await deliver(urlOf(r), { kind: "", body: "{}" });
    expect(none.status).toBe(204);
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter)).toEqual({ "other,unsupported": 2 });
  });

  test("each kind's triggers, in the configured spelling of the organization", async () => {
    const r = await started();
    const url = urlOf(r);
    const sent: Array<[string, unknown]> = [
      ["stack", payloads.stack("org-1", "web", "dev", "created")],
      ["stack", payloads.stack("ORG-1", "web", "old", "deleted")],
      ["stack_update", payloads.stackUpdate("org-1", "web", "prod")],
      ["stack_preview", { ...payloads.stackUpdate("acme-corp", "api", "staging"), isPreview: true }],
      ["deployment", payloads.deployment("org-1", "web", "prod")],
      ["deployment", { organization: { githubLogin: "org-1" }, status: "queued" }],
      ["drift_detection", payloads.driftDetection("org-1", "web", "prod")],
      ["drift_remediation", payloads.driftRemediation("Acme-Corp", "api", "prod")],
    ];
    for (const [kind, payload] of sent) expect((await deliverJson(url, kind, payload)).status).toBe(202);
    expect(r.triggers).toEqual([
      { kind: "stack-list", org: "org-1" },
      { kind: "stack-list", org: "org-1" },
      { kind: "stack-history", org: "org-1", project: "web", stack: "prod" },
      { kind: "stack-history", org: "Acme-Corp", project: "api", stack: "staging" },
      { kind: "deployments", org: "org-1", project: "web", stack: "prod" },
      { kind: "deployments", org: "org-1" },
      { kind: "drift", org: "org-1", project: "web", stack: "prod" },
      { kind: "drift", org: "Acme-Corp", project: "api", stack: "prod" },
      { kind: "stack-history", org: "Acme-Corp", project: "api", stack: "prod" },
    ]);
  });

  test("an event of an organization that is not configured: accepted, no trigger", async () => {
    const r = await started();
    const response = await deliverJson(
      urlOf(r),
      "stack_update",
      payloads.stackUpdate("elsewhere", "web", "prod"),
    );
    expect(response.status).toBe(202);
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter)).toEqual({ "stack_update,accepted": 1 });
  });
});

describe("duplicates", () => {
  test("a delivery ID seen before: 200 and no second trigger", async () => {
    const r = await started();
    const url = urlOf(r);
    expect((await deliver(url, { kind: "stack_update", body: UPDATE, id: "d-1" })).status).toBe(202);
    const again = await deliver(url, { kind: "stack_update", body: UPDATE, id: "d-1" });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe("duplicate delivery; already accepted\n");
    expect((await deliver(url, { kind: "stack_update", body: UPDATE, id: "d-2" })).status).toBe(202);
    expect(r.triggers).toHaveLength(2);
    expect(await webhookCounts(r.exporter)).toEqual({
      "stack_update,accepted": 2,
      "stack_update,duplicate": 1,
    });
  });

  test("an hour later the same ID is a new delivery", async () => {
    const r = await started();
    const url = urlOf(r);
    expect((await deliver(url, { kind: "stack_update", body: UPDATE, id: "d-1" })).status).toBe(202);
    r.clock.advance(60 * 60 * 1000 - 1);
    expect((await deliver(url, { kind: "stack_update", body: UPDATE, id: "d-1" })).status).toBe(200);
    r.clock.advance(1);
    expect((await deliver(url, { kind: "stack_update", body: UPDATE, id: "d-1" })).status).toBe(202);
    expect(r.triggers).toHaveLength(2);
  });
});

describe("counter", () => {
  test("with webhooks on, every kind and outcome starts at 0; without, there is no series", async () => {
    const r = await started();
    const kinds = [
      "stack",
      "stack_update",
      "stack_preview",
      "deployment",
      "drift_detection",
      "drift_remediation",
      "other",
    ];
    const outcomes = ["accepted", "duplicate", "bad_signature", "malformed", "unsupported", "too_large"];
    expect(await webhookCounts(r.exporter, true)).toEqual(
      Object.fromEntries(kinds.flatMap((kind) => outcomes.map((outcome) => [`${kind},${outcome}`, 0]))),
    );
    await r.stop();
    rig = await startRig(null);
    expect(await webhookCounts(rig.exporter, true)).toEqual({});
  });

  test("exact values and labels for a mix of outcomes", async () => {
    const r = await started();
    const url = urlOf(r);
    await deliver(url, { kind: "stack_update", body: UPDATE, id: "a" });
    await deliver(url, { kind: "stack_update", body: UPDATE, id: "a" });
    await deliverJson(url, "deployment", payloads.deployment("org-1", "web", "prod"));
    await deliver(url, { kind: "deployment", body: "[]" });
    await deliver(url, { kind: "drift_detection", body: UPDATE, signature: null });
    await deliverJson(url, "team", {});
    expect(await webhookCounts(r.exporter)).toEqual({
      "stack_update,accepted": 1,
      "stack_update,duplicate": 1,
      "deployment,accepted": 1,
      "deployment,malformed": 1,
      "drift_detection,bad_signature": 1,
      "other,unsupported": 1,
    });
  });
});

describe("where it is served", () => {
  test("without a secret the route does not exist: 404 for POST and GET", async () => {
    const r = await started(null);
    expect(r.exporter.webhookUrl).toBeUndefined();
    const url = `${r.exporter.url}/webhooks/pulumi`;
    expect((await deliver(url, { kind: "stack_update", body: UPDATE })).status).toBe(404);
    expect((await fetch(url)).status).toBe(404);
    expect(r.triggers).toEqual([]);
    expect(await webhookCounts(r.exporter, true)).toEqual({});
  });

  test("on the main listener by default; other methods of the route are 405", async () => {
    const r = await started();
    expect(r.exporter.webhookUrl).toBe(`${r.exporter.url}/webhooks/pulumi`);
    const get = await fetch(urlOf(r));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    // The rest of the main listener is as before: POST elsewhere is still refused.
    expect((await fetch(`${r.exporter.url}/metrics`, { method: "POST" })).status).toBe(405);
  });

  test("a listener of its own serves the webhook and nothing else; the main listener no longer has it", async () => {
    const r = await started({ listenAddress: "127.0.0.1:0" });
    const url = urlOf(r);
    const own = new URL(url);
    expect(own.port).not.toBe(String(r.exporter.port));
    expect((await deliver(url, { kind: "stack_update", body: UPDATE })).status).toBe(202);
    for (const path of ["/metrics", "/healthz", "/readyz", "/metrics-preview", "/"]) {
      expect(`${path} ${(await fetch(`${own.origin}${path}`)).status}`).toBe(`${path} 404`);
    }
    expect(
      (await deliver(`${r.exporter.url}/webhooks/pulumi`, { kind: "stack_update", body: UPDATE })).status,
    ).toBe(404);
    expect((await fetch(`${r.exporter.url}/healthz`)).status).toBe(200);
    expect(r.triggers).toHaveLength(1);
  });

  test("the webhook listener stops with the exporter", async () => {
    const r = await started({ listenAddress: "127.0.0.1:0" });
    const url = urlOf(r);
    await r.exporter.stop(1000);
    await expect(fetch(url, { method: "POST" })).rejects.toThrow();
  });
});
