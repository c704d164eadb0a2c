import { afterAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log/logger.ts";
import { createPulumiClient } from "../../src/pulumi/client.ts";
import { type LocalApi, startLocalApi, TOKEN } from "./support.ts";

let calls = 0;
const local: LocalApi = startLocalApi((app) => {
  app.get("/api/orgs/:org/teams", (c) => {
    calls++;
    return calls === 1 ? c.json({ code: 503, message: "busy" }, 503) : c.json({ teams: [] });
  });
  app.get("/api/user/stacks", (c) => c.json({ stacks: [] }));
});
afterAll(() => local.stop());

function client(level: "debug" | "info") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    format: "json",
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const api = createPulumiClient({
    baseUrl: local.url,
    token: TOKEN,
    logger,
    random: () => 0.5,
    sleep: async () => {},
  });
  const requests = (): Record<string, unknown>[] =>
    lines
      .filter((line) => line.msg === "Pulumi Cloud request")
      .map(({ time: _time, duration_ms, ...rest }) => ({ ...rest, duration_ms: typeof duration_ms }));
  return { api, requests };
}

describe("--log.level=debug logs each API request", () => {
  test("operation, org, status, attempt and duration of every attempt", async () => {
    calls = 0;
    const { api, requests } = client("debug");
    await api.listTeams("acme");
    await api.listStacks("beta");
    expect(requests()).toEqual([
      {
        level: "debug",
        msg: "Pulumi Cloud request",
        operation: "ListTeams",
        org: "acme",
        status: 503,
        attempt: 1,
        duration_ms: "number",
      },
      {
        level: "debug",
        msg: "Pulumi Cloud request",
        operation: "ListTeams",
        org: "acme",
        status: 200,
        attempt: 2,
        duration_ms: "number",
      },
      {
        level: "debug",
        msg: "Pulumi Cloud request",
        operation: "ListUserStacks",
        org: "beta",
        status: 200,
        attempt: 1,
        duration_ms: "number",
      },
    ]);
  });

  test("nothing at info level", async () => {
    calls = 1;
    const { api, requests } = client("info");
    await api.listTeams("acme");
    expect(requests()).toEqual([]);
  });
});
