/**
 * The simulator as a webhook sender: every webhook Pulumi Cloud would send for what it simulates, exactly, signed,
 * and each delivery fault, drawn from the seed (the same seed gives the same deliveries).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { parseSimArgs } from "../../src/sim/cli-args.ts";
import { SimModel } from "../../src/sim/model.ts";
import type { ScenarioInput } from "../../src/sim/options.ts";
import { type RunningSimulator, startSimulator } from "../../src/sim/server.ts";
import { type WebhookFaults, WebhookSender } from "../../src/sim/webhooks.ts";
import { signWebhook } from "../../src/webhooks/signature.ts";
import { type Rig, SECRET, startRig } from "./support.ts";

interface Sent {
  tick: number;
  id: string;
  kind: string;
  signature: string;
  body: string;
  payload: Record<string, unknown>;
}

const SCENARIO: ScenarioInput = {
  seed: 11,
  orgs: 1,
  stacks: 6,
  churn: 0.5,
  stacksCreatedPerTick: 0.5,
  stacksDeletedPerTick: 0.3,
  deploymentsPerTick: 1,
  deploymentsPerOrg: 4,
};

/** A model and a sender whose deliveries are recorded (and answered `status`) instead of posted. */
function recorded(faults: WebhookFaults = {}, status = 202, scenario: ScenarioInput = SCENARIO) {
  const model = new SimModel(scenario);
  const sent: Sent[] = [];
  const sender = new WebhookSender(model, {
    url: "http://receiver.invalid/webhooks/pulumi",
    secret: SECRET,
    faults,
    fetch: async (_url, init) => {
      const headers = new Headers(init.headers);
      const body = String(init.body);
      sent.push({
        tick: model.ticks,
        id: headers.get("pulumi-webhook-id") ?? "",
        kind: headers.get("pulumi-webhook-kind") ?? "",
        signature: headers.get("pulumi-webhook-signature") ?? "",
        body,
        payload: JSON.parse(body),
      });
      return new Response(null, { status });
    },
  });
  return { model, sender, sent };
}

/** What one delivery names, as a line: kind, stack and what happened. */
function describeSent(s: Sent): string {
  const p = s.payload;
  const what =
    s.kind === "stack"
      ? p.action
      : s.kind === "deployment"
        ? `${p.operation} v${p.version} ${p.status}`
        : s.kind.startsWith("drift")
          ? p.status
          : `${p.kind} ${String(p.updateUrl).split("/").at(-1)} ${p.result}`;
  return `${s.tick} ${s.kind} ${p.projectName}/${p.stackName} ${what}`;
}

type DeploymentStatuses = Map<string, { status: string; line: string }>;

function deploymentStatuses(model: SimModel): DeploymentStatuses {
  return new Map(
    model
      .deployments("org-1")
      .map((d) => [
        d.id,
        { status: d.status, line: `${d.projectName}/${d.stackName} ${d.pulumiOperation} v${d.version}` },
      ]),
  );
}

/** The webhooks Pulumi Cloud would send for a tick, from the model's state before and after it. */
function expectedFor(
  tick: number,
  before: DeploymentStatuses,
  model: SimModel,
  report: ReturnType<SimModel["tick"]>,
) {
  const lines: string[] = [];
  for (const ref of report.stacksCreated) lines.push(`${tick} stack ${ref.project}/${ref.stack} created`);
  for (const ref of report.stacksDeleted) lines.push(`${tick} stack ${ref.project}/${ref.stack} deleted`);
  const start = report.now - model.options.tickSeconds;
  for (const summary of model.listStacks("org-1")) {
    const ref = { org: "org-1", project: summary.projectName, stack: summary.stackName };
    for (const u of model.stackUpdates(ref) ?? []) {
      const end = u.endTime ?? 0;
      if (end > start && end <= report.now) {
        const kind = u.kind === "preview" ? "stack_preview" : "stack_update";
        lines.push(`${tick} ${kind} ${ref.project}/${ref.stack} ${u.kind} ${u.version} ${u.result}`);
      }
    }
  }
  for (const [id, now] of deploymentStatuses(model)) {
    const was = before.get(id)?.status;
    if (was === now.status || !["not-started", "running", "succeeded", "failed"].includes(now.status))
      continue;
    const [stack, operation] = now.line.split(" ");
    lines.push(`${tick} deployment ${now.line} ${now.status === "not-started" ? "queued" : now.status}`);
    if (now.status === "succeeded" || now.status === "failed") {
      if (operation === "detect-drift") lines.push(`${tick} drift_detection ${stack} ${now.status}`);
      if (operation === "remediate-drift") lines.push(`${tick} drift_remediation ${stack} ${now.status}`);
    }
  }
  return lines;
}

describe("deliveries", () => {
  test("exactly the webhooks of each tick, in Pulumi's shapes, signed with the secret, sent as the tick ends", async () => {
    // No deletions: a stack deleted in a tick takes the history that says what finished in it along.
    const { model, sender, sent } = recorded({}, 202, { ...SCENARIO, stacksDeletedPerTick: 0 });
    const expected: string[] = [];
    for (let tick = 1; tick <= 60; tick++) {
      const before = deploymentStatuses(model);
      const report = model.tick(1);
      expected.push(...expectedFor(tick, before, model, report));
    }
    await sender.flush();
    const byLine = (lines: string[]) => [...lines].sort();
    expect(byLine(sent.map(describeSent))).toEqual(byLine(expected));
    expect(new Set(sent.map((s) => s.kind))).toEqual(
      new Set([
        "stack",
        "stack_update",
        "stack_preview",
        "deployment",
        "drift_detection",
        "drift_remediation",
      ]),
    );
    for (const s of sent) expect(s.signature).toBe(signWebhook(SECRET, s.body));
    expect(new Set(sent.map((s) => s.id)).size).toBe(sent.length);
    expect(sender.stats()).toEqual({
      events: sent.length,
      sent: sent.length,
      delivered: sent.length,
      failed: 0,
      dropped: 0,
      duplicated: 0,
      delayed: 0,
      reordered: 0,
      badSignatures: 0,
      statuses: { "202": sent.length },
    });
  });

  test("a stack created or deleted: one stack event each, as the tick reports them", () => {
    const { model, sent } = recorded();
    const lines: string[] = [];
    for (let tick = 1; tick <= 20; tick++) {
      const report = model.tick(1);
      for (const ref of report.stacksDeleted) lines.push(`${tick} stack ${ref.project}/${ref.stack} deleted`);
      for (const ref of report.stacksCreated) lines.push(`${tick} stack ${ref.project}/${ref.stack} created`);
    }
    expect(lines.some((line) => line.endsWith("deleted"))).toBe(true);
    expect(sent.filter((s) => s.kind === "stack").map(describeSent)).toEqual(lines);
  });

  test("payloads as documented: an update, a deployment, a stack event", () => {
    const { model, sent } = recorded();
    model.tick(12);
    const update = sent.find((s) => s.kind === "stack_update");
    expect(Object.keys(update?.payload ?? {}).sort()).toEqual([
      "isPreview",
      "kind",
      "organization",
      "projectName",
      "resourceChanges",
      "result",
      "stackName",
      "updateUrl",
      "user",
    ]);
    expect(update?.payload.organization).toEqual({ name: "org-1", githubLogin: "org-1", avatarUrl: "" });
    expect(String(update?.payload.updateUrl)).toStartWith("https://app.pulumi.com/org-1/");
    const deployment = sent.find((s) => s.kind === "deployment");
    expect(Object.keys(deployment?.payload ?? {}).sort()).toEqual([
      "deploymentUrl",
      "operation",
      "organization",
      "projectName",
      "stackName",
      "status",
      "user",
      "version",
    ]);
    const stack = sent.find((s) => s.kind === "stack");
    expect(Object.keys(stack?.payload ?? {}).sort()).toEqual([
      "action",
      "organization",
      "projectName",
      "stackName",
      "user",
    ]);
  });

  test("no listener, no events gathered: the model ticks as before", () => {
    const plain = new SimModel(SCENARIO);
    const { model } = recorded();
    expect(model.tick(12)).toEqual(plain.tick(12));
    expect(model.summary()).toEqual(plain.summary());
  });
});

function run(faults: WebhookFaults, ticks = 12) {
  const r = recorded(faults);
  r.model.tick(ticks);
  return r;
}

const clean = run({});

describe("faults", () => {
  test("drop: nothing is sent, every event counted as dropped", () => {
    const { sent, sender } = run({ drop: 1 });
    expect(sent).toEqual([]);
    expect(sender.stats()).toMatchObject({ events: clean.sent.length, dropped: clean.sent.length, sent: 0 });
  });

  test("duplicate: each delivery twice in a row with the same ID", () => {
    const { sent, sender } = run({ duplicate: 1 });
    expect(sent).toHaveLength(clean.sent.length * 2);
    for (let i = 0; i < sent.length; i += 2) {
      expect(sent[i + 1]?.id).toBe(sent[i]?.id ?? "");
      expect(sent[i + 1]?.body).toBe(sent[i]?.body ?? "");
    }
    expect(sent.filter((_, i) => i % 2 === 0).map(describeSent)).toEqual(clean.sent.map(describeSent));
    expect(sender.stats()).toMatchObject({ duplicated: clean.sent.length, sent: clean.sent.length * 2 });
  });

  test("delay: held back 1 to maxDelayTicks ticks, then sent; nothing lost", () => {
    const { sent, sender } = run({ delay: 1, maxDelayTicks: 2 }, 14);
    const first12 = clean.sent.map((s) => `${s.kind} ${s.body}`);
    const delayed = new Map(sent.map((s) => [`${s.kind} ${s.body}`, s.tick]));
    for (const s of clean.sent) {
      const at = delayed.get(`${s.kind} ${s.body}`) ?? 0;
      expect(at - s.tick === 1 || at - s.tick === 2).toBe(true);
    }
    expect(sent.filter((s) => s.tick <= 12).length).toBeLessThan(first12.length);
    expect(sender.stats().delayed).toBe(sender.stats().events);
    // The last ticks' events are still held; nothing else is missing.
    expect(sender.held).toBe(sender.stats().events - sender.stats().sent);
  });

  test("reorder: a tick's batch in another order, the same deliveries", () => {
    const { sent, sender } = run({ reorder: 1 });
    const lines = sent.map(describeSent);
    expect([...lines].sort()).toEqual(clean.sent.map(describeSent).sort());
    expect(lines).not.toEqual(clean.sent.map(describeSent));
    const batches = new Set(clean.sent.map((s) => s.tick));
    const multi = [...batches].filter((t) => clean.sent.filter((s) => s.tick === t).length > 1);
    expect(sender.stats().reordered).toBe(multi.length);
  });

  test("bad signature: signed with another key", () => {
    const { sent, sender } = run({ badSignature: 1 });
    expect(sent).toHaveLength(clean.sent.length);
    for (const s of sent) expect(s.signature).not.toBe(signWebhook(SECRET, s.body));
    expect(sender.stats().badSignatures).toBe(sent.length);
  });

  test("the same seed and faults give the same deliveries", () => {
    const faults = { drop: 0.2, duplicate: 0.2, delay: 0.3, reorder: 0.5, badSignature: 0.1 };
    const a = run(faults);
    const b = run(faults);
    expect(b.sent).toEqual(a.sent);
    expect(b.sender.stats()).toEqual(a.sender.stats());
    expect(a.sender.stats().dropped).toBe(8);
  });
});

describe("failures", () => {
  test("an error status is counted as failed", async () => {
    const { model, sender } = recorded({}, 500);
    model.tick(3);
    await sender.flush();
    const stats = sender.stats();
    expect(stats.failed).toBe(stats.sent);
    expect(stats.delivered).toBe(0);
    expect(stats.statuses).toEqual({ "500": stats.sent });
  });

  test("an unreachable receiver is counted, never thrown; a hanging one does not hold the tick", async () => {
    const hung: Array<() => void> = [];
    const model = new SimModel(SCENARIO);
    const sender = new WebhookSender(model, {
      url: "http://receiver.invalid/",
      secret: SECRET,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          hung.push(() => reject(new Error("refused")));
          init.signal?.addEventListener("abort", () => reject(new Error("aborted")));
        }),
    });
    const report = model.tick(4);
    expect(report.tick).toBe(4);
    expect(hung.length).toBe(sender.stats().sent);
    expect(sender.stats().failed).toBe(0);
    await sender.stop();
    expect(sender.stats().failed).toBe(hung.length);
    expect(sender.stats().statuses).toEqual({ error: hung.length });
  });
});

describe("through the exporter's receiver", () => {
  let rig: Rig | undefined;
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    await rig?.stop();
    sim = undefined;
    rig = undefined;
  });

  test("every delivery verified and answered 202 (200 for a duplicate, 401 for a bad signature)", async () => {
    rig = await startRig();
    sim = await startSimulator({
      ...SCENARIO,
      webhook: {
        url: rig.exporter.webhookUrl ?? "",
        secret: SECRET,
        faults: { duplicate: 0.3, badSignature: 0.2 },
      },
    });
    sim.tick(12);
    await sim.webhooks?.flush();
    const stats = sim.webhooks?.stats();
    if (stats === undefined) throw new Error("no sender");
    const { events, badSignatures, duplicated, statuses } = stats;
    expect(badSignatures).toBe(12);
    expect(duplicated).toBe(24);
    // Each genuine event accepted once; its second copy is a duplicate; a forged one (and its copy) refused.
    expect(statuses["202"]).toBe(events - badSignatures);
    expect(statuses["401"]).toBe(stats.failed);
    expect((statuses["200"] ?? 0) + (statuses["401"] ?? 0) - badSignatures).toBe(duplicated);
    expect((statuses["202"] ?? 0) + (statuses["200"] ?? 0) + (statuses["401"] ?? 0)).toBe(stats.sent);
    // The accepted events of the seeded run, each turned into its reads (a remediation into two).
    expect(rig.triggers.length).toBe(46);
  });
});

describe("simulator flags", () => {
  test("--webhook-url, --webhook-secret and --webhook-faults", () => {
    const { options } = parseSimArgs(
      [
        "--webhook-url",
        "http://127.0.0.1:8080/webhooks/pulumi",
        "--webhook-secret=s3cret",
        "--webhook-faults",
        '{"drop":0.1,"maxDelayTicks":2}',
      ],
      1_700_000_000,
    );
    expect(options.webhook).toEqual({
      url: "http://127.0.0.1:8080/webhooks/pulumi",
      secret: "s3cret",
      faults: { drop: 0.1, maxDelayTicks: 2 },
    });
    expect(parseSimArgs([], 1_700_000_000).options.webhook).toBeUndefined();
  });

  const bad: Array<[string[], string]> = [
    [["--webhook-url", "http://x/"], "--webhook-url needs --webhook-secret"],
    [["--webhook-secret", "s"], "--webhook-secret and --webhook-faults need --webhook-url"],
    [["--webhook-url", "x", "--webhook-secret", "s"], "--webhook-url must be an http:// or https:// URL"],
    [
      ["--webhook-url", "http://x/", "--webhook-secret", "s", "--webhook-faults", "[]"],
      "--webhook-faults needs a JSON object",
    ],
    [
      ["--webhook-url", "http://x/", "--webhook-secret", "s", "--webhook-faults", '{"lose":1}'],
      "--webhook-faults: unknown fault lose (known: drop, duplicate, delay, maxDelayTicks, reorder, badSignature)",
    ],
    [
      ["--webhook-url", "http://x/", "--webhook-secret", "s", "--webhook-faults", '{"drop":2}'],
      "--webhook-faults: drop must be between 0 and 1",
    ],
  ];
  for (const [argv, message] of bad) {
    test(`refused: ${argv.join(" ")}`, () => {
      expect(() => parseSimArgs(argv, 1_700_000_000)).toThrow(message);
    });
  }
});
