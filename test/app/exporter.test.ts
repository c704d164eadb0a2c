import { afterEach, describe, expect, test } from "bun:test";
import { type RunningExporter, startExporter } from "../../src/app.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { FakeApi, fakeOrg, update } from "../support/fake-api.ts";
import { ManualClock, runNextCycle } from "../support/manual-clock.ts";
import { type OtlpHttpReceiver, startOtlpHttpReceiver } from "../support/otlp-http-receiver.ts";
import { metricShape, points, resourceAttributes } from "../support/otlp-points.ts";
import { testConfig } from "../support/test-config.ts";

function world(): FakeApi {
  const api = new FakeApi();
  api.orgs.set(
    "acme",
    fakeOrg({
      members: 4,
      deploymentCounts: {
        notStarted: 0,
        accepted: 1,
        running: 0,
        failed: 2,
        succeeded: 9,
        skipped: 0,
        total: 12,
      },
    }),
  );
  api.addStack({
    id: "s1",
    org: "acme",
    project: "web",
    stack: "prod",
    resourceCount: 12,
    updates: [update(1, "succeeded", 1000, 1060)],
  });
  return api;
}

let running: RunningExporter | undefined;
let receiver: OtlpHttpReceiver | undefined;
afterEach(async () => {
  await running?.stop(1000);
  await receiver?.stop();
  running = undefined;
  receiver = undefined;
});

describe("the running exporter", () => {
  test("pushes right after the first cycle and serves the same values on /metrics", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    const api = world();
    const { promise: histories, resolve: releaseHistories } = Promise.withResolvers<void>();
    api.historiesHeld = histories;
    running = await startExporter({
      api,
      logger: silentLogger,
      config: testConfig({
        otlp: { enabled: true, endpoint: receiver.url },
        resource: { attributes: { "deployment.environment": "test" } },
      }),
    });
    // The interval is 60 s: two exports within 5 s can only be the first cycle's: the early one, once the stack
    // listing and the organization sources are in while the history is still being read, and the one that follows
    // the cycle.
    const [early] = await receiver.waitForExports(1, 5000);
    if (!early) throw new Error("no export");
    releaseHistories();
    const first = (await receiver.waitForExports(2, 5000))[1];
    if (!first) throw new Error("no export after the first cycle");
    const prod = { org: "acme", project: "web", stack: "prod" };
    expect(points(early.body, "pulumi_stack_resource_count")).toMatchObject([
      { attributes: prod, kind: "int", value: 12 },
    ]);
    expect(points(early.body, "pulumi_org_member_count")).toMatchObject([
      { attributes: { org: "acme" }, value: 4 },
    ]);
    // Nothing the histories give yet, and no cycle has ended: no update counted, no cycle status.
    expect(points(early.body, "pulumi_stack_last_update_timestamp")).toEqual([]);
    expect(points(early.body, "pulumi_update_total")).toEqual([]);
    expect(points(early.body, "pulumi_exporter_up")).toEqual([]);
    expect(points(early.body, "pulumi_exporter_build_info")[0]?.value).toBe(1);
    expect(points(first.body, "pulumi_stack_resource_count")).toMatchObject([
      { attributes: prod, kind: "int", value: 12 },
    ]);
    expect(points(first.body, "pulumi_stack_last_update_timestamp")).toMatchObject([
      { attributes: prod, kind: "double", value: 1060 },
    ]);
    expect(
      points(first.body, "pulumi_deployment_status").map((p) => [p.attributes.status, p.value, p.kind]),
    ).toEqual([
      ["not-started", 0, "int"],
      ["accepted", 1, "int"],
      ["running", 0, "int"],
      ["failed", 2, "int"],
      ["succeeded", 9, "int"],
      ["skipped", 0, "int"],
      ["other", 0, "int"],
    ]);
    expect(points(first.body, "pulumi_exporter_up")).toMatchObject([{ kind: "int", value: 1 }]);
    expect(points(first.body, "pulumi_exporter_build_info")[0]?.value).toBe(1);
    expect(metricShape(first.body, "pulumi_stack_resource_count").type).toBe("gauge");
    const resource = resourceAttributes(first.body);
    expect(resource["service.name"]).toBe("pulumi-exporter");
    expect(resource["deployment.environment"]).toBe("test");
    expect(resource["service.instance.id"]).toMatch(/^[0-9a-f-]{36}$/);

    const health = await fetch(`${running.url}/readyz`);
    expect(health.status).toBe(200);
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(text).toContain('pulumi_stack_resource_count{org="acme",project="web",stack="prod"} 12\n');
    expect(text).toContain('pulumi_deployment_status{org="acme",status="failed"} 2\n');
    expect(text).toContain('pulumi_org_member_count{org="acme"} 4\n');
  });

  test("a stop flushes a final export", async () => {
    receiver = startOtlpHttpReceiver({ format: "protobuf" });
    const api = world();
    running = await startExporter({
      api,
      logger: silentLogger,
      config: testConfig({ otlp: { enabled: true, endpoint: receiver.url } }),
    });
    // The first cycle's two exports (early and after the cycle), then the final one.
    await receiver.waitForExports(2, 5000);
    await running.stop(1000);
    running = undefined;
    expect(receiver.received).toHaveLength(3);
  });

  test("a stop finishes even when the OTLP backend never answers", async () => {
    let requests = 0;
    const silent = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: () => {
        requests++;
        return new Promise<Response>(() => {});
      },
    });
    try {
      const exporter = await startExporter({
        api: world(),
        logger: silentLogger,
        config: testConfig({
          otlp: { enabled: true, endpoint: `http://127.0.0.1:${silent.port}`, timeoutMs: 60_000 },
        }),
      });
      for (let i = 0; i < 200 && requests === 0; i++) await Bun.sleep(10);
      expect(requests).toBe(1);
      const outcome = await Promise.race([
        exporter.stop(500).then(() => "stopped"),
        Bun.sleep(10_000).then(() => "still running"),
      ]);
      expect(outcome).toBe("stopped");
    } finally {
      await silent.stop(true);
    }
  });
});

describe("the start-up check", () => {
  /** A user API whose answer the test releases. */
  function heldUser(answer: () => Promise<{ login: string; organizations: string[] }>) {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return {
      release: () => release(),
      userApi: {
        getCurrentUser: async () => {
          await gate;
          return answer();
        },
        organizationVisible: async () => false,
      },
    };
  }

  test("the first cycle waits for it; then collection starts", async () => {
    const api = world();
    const held = heldUser(async () => ({ login: "alice", organizations: ["acme"] }));
    const clock = new ManualClock(0);
    const r = await startExporter({
      api,
      userApi: held.userApi,
      logger: silentLogger,
      timers: clock,
      config: testConfig(),
    });
    running = r;
    // The loop is not even scheduled while the check is held, so no time can start a cycle.
    clock.advance(60_000);
    expect(r.scheduler.nextCycleAt).toBeUndefined();
    expect(api.totalCalls).toBe(0);
    held.release();
    await runNextCycle(r.scheduler, clock);
    expect(r.collector.snapshot).toBeDefined();
    expect(api.calls.get("ListUserStacks")).toBe(1);
  });

  test("a rejected token reaches onFatal as one StartupError, and no cycle runs", async () => {
    const api = world();
    const errors: string[] = [];
    let fatal: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => {
      fatal = resolve;
    });
    const held = heldUser(async () => {
      throw new PulumiApiError({ operation: "GetCurrentUser", status: 401, attempts: 1, reason: "HTTP 401" });
    });
    running = await startExporter({
      api,
      userApi: held.userApi,
      logger: silentLogger,
      config: testConfig({ pulumi: { accessTokenSource: "env PULUMI_ACCESS_TOKEN" } }),
      onFatal: (error) => {
        errors.push(`${error.name}: ${error.message}`);
        fatal();
      },
    });
    held.release();
    await failed;
    expect(errors).toEqual([
      "StartupError: the Pulumi access token from env PULUMI_ACCESS_TOKEN was rejected: HTTP 401 Unauthorized; check that it is valid and not expired or revoked",
    ]);
    expect(api.totalCalls).toBe(0);
  });
});
