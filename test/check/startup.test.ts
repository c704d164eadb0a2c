import { describe, expect, test } from "bun:test";
import {
  applyToRun,
  checkStartup,
  describeMissing,
  judgeOrganizations,
  type StartupClock,
  StartupError,
} from "../../src/check/startup.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { CurrentUser, UserApi } from "../../src/pulumi/api.ts";
import { PulumiApiError, type PulumiApiStatus } from "../../src/pulumi/pulumi-api-error.ts";

/** A clock that moves only when the check sleeps: no wall-clock waits. */
function fakeClock(): StartupClock & { sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

function failing(status: PulumiApiStatus, reason: string): PulumiApiError {
  return new PulumiApiError({ operation: "GetCurrentUser", status, attempts: 1, reason });
}

/** Answers with `answers` in turn (an error is thrown), counting calls; no organization is visible when probed. */
function scripted(...answers: Array<CurrentUser | Error>): UserApi & { calls: number; probed: string[] } {
  const api = {
    calls: 0,
    probed: [] as string[],
    organizationVisible: async (org: string) => {
      api.probed.push(org);
      return false;
    },
    getCurrentUser: async () => {
      const answer = answers[Math.min(api.calls, answers.length - 1)];
      api.calls++;
      if (answer instanceof Error) throw answer;
      if (answer === undefined) throw new Error("no answer scripted");
      return answer;
    },
  };
  return api;
}

const ALICE: CurrentUser = { login: "alice", organizations: ["acme", "beta"] };
const URL = "https://api.pulumi.com";

describe("did you mean", () => {
  test("a name within a few edits of a visible organization is suggested", () => {
    expect(judgeOrganizations(["acme", "betta", "gamma-corp"], ["acme", "beta", "zeta"])).toEqual({
      usable: ["acme"],
      missing: [
        { org: "betta", suggestion: "beta" },
        { org: "gamma-corp", suggestion: undefined },
      ],
    });
  });

  test("the line names the organization and the suggestion, or only the organization", () => {
    expect(describeMissing({ org: "acmee", suggestion: "acme" })).toBe(
      "organization acmee: not visible to the token; did you mean acme?",
    );
    expect(describeMissing({ org: "gamma", suggestion: undefined })).toBe(
      "organization gamma: not visible to the token",
    );
  });
});

describe("checkStartup", () => {
  test("a rejected token names the status and where the token came from", async () => {
    for (const [status, phrase] of [
      [401, "HTTP 401 Unauthorized"],
      [403, "HTTP 403 Forbidden"],
    ] as const) {
      const check = checkStartup({
        api: scripted(failing(status, phrase)),
        organizations: ["acme"],
        tokenSource: "env PULUMI_ACCESS_TOKEN",
        apiUrl: URL,
        clock: fakeClock(),
      });
      await expect(check).rejects.toThrow(
        new StartupError(
          "token",
          `the Pulumi access token from env PULUMI_ACCESS_TOKEN was rejected: ${phrase}; check that it is valid and not expired or revoked`,
        ),
      );
    }
  });

  test("an unreachable API is retried with backoff for 30 s, then named by host", async () => {
    const clock = fakeClock();
    const api = scripted(failing("error", "network error (ConnectionRefused)"));
    const check = checkStartup({ api, organizations: ["acme"], tokenSource: undefined, apiUrl: URL, clock });
    await expect(check).rejects.toThrow(
      "cannot reach the Pulumi API at api.pulumi.com: network error (ConnectionRefused); gave up after 7 attempts in 30s",
    );
    expect(await check.catch((error: StartupError) => error.subject)).toBe("api");
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 7_000]);
    expect(api.calls).toBe(7);
  });

  test("an API that comes back within the bound is used", async () => {
    const clock = fakeClock();
    const api = scripted(failing("timeout", "request timed out (30000 ms)"), ALICE);
    const report = await checkStartup({
      api,
      organizations: ["acme", "betta"],
      tokenSource: undefined,
      apiUrl: URL,
      clock,
    });
    expect(report).toEqual({
      kind: "verified",
      user: "alice",
      visible: ["acme", "beta"],
      usable: ["acme"],
      missing: [{ org: "betta", suggestion: "beta" }],
    });
    expect(clock.sleeps).toEqual([1_000]);
    expect(api.probed).toEqual(["betta"]);
  });

  test("an organization the memberships do not list, but the token sees (an organization token), is usable", async () => {
    const api: UserApi = {
      getCurrentUser: async () => ({ login: "acme", organizations: [] }),
      organizationVisible: async (org) => {
        if (org === "flaky") throw failing(503, "HTTP 503 Service Unavailable");
        return org === "acme";
      },
    };
    const report = await checkStartup({
      api,
      organizations: ["acme", "acmee", "flaky"],
      tokenSource: undefined,
      apiUrl: URL,
      clock: fakeClock(),
    });
    // A probe that fails proves nothing: "flaky" stays, and collection will say what is wrong with it.
    expect(report).toEqual({
      kind: "verified",
      user: "acme",
      visible: [],
      usable: ["acme", "flaky"],
      missing: [{ org: "acmee", suggestion: undefined }],
    });
  });

  test("any other failure leaves the token unverified, without retrying", async () => {
    const clock = fakeClock();
    const api = scripted(failing(503, "HTTP 503 Service Unavailable"));
    const report = await checkStartup({
      api,
      organizations: ["acme"],
      tokenSource: undefined,
      apiUrl: URL,
      clock,
    });
    expect(report).toEqual({ kind: "unverified", reason: "HTTP 503 Service Unavailable" });
    expect({ calls: api.calls, sleeps: clock.sleeps }).toEqual({ calls: 1, sleeps: [] });
  });
});

describe("applyToRun", () => {
  function logged(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
    const lines: string[] = [];
    const logger = createLogger({
      level: "debug",
      write: (line) => lines.push(line),
      now: () => new Date(0),
    });
    return { lines, logger };
  }

  test("one error line per invisible organization, naming what the token sees; the rest goes on", () => {
    const { lines, logger } = logged();
    applyToRun(
      {
        kind: "verified",
        user: "alice",
        visible: ["acme", "beta"],
        usable: ["acme"],
        missing: [{ org: "betta", suggestion: "beta" }],
      },
      ["acme", "betta"],
      logger,
    );
    expect(lines).toEqual([
      'time=1970-01-01T00:00:00.000Z level=error msg="organization betta: not visible to the token; did you mean beta? It can see: acme, beta. Collecting the others; betta is reported as down"',
      'time=1970-01-01T00:00:00.000Z level=debug msg="token verified" user=alice organizations=acme',
    ]);
  });

  test("without a suggestion, the line still reads as sentences", () => {
    const { lines, logger } = logged();
    applyToRun(
      {
        kind: "verified",
        user: "alice",
        visible: ["acme"],
        usable: ["acme"],
        missing: [{ org: "zz", suggestion: undefined }],
      },
      ["acme", "zz"],
      logger,
    );
    expect(lines[0]).toBe(
      'time=1970-01-01T00:00:00.000Z level=error msg="organization zz: not visible to the token. It can see: acme. Collecting the others; zz is reported as down"',
    );
  });

  test("an unverified token is one warning, and collection goes on", () => {
    const { lines, logger } = logged();
    applyToRun({ kind: "unverified", reason: "HTTP 503 Service Unavailable" }, ["acme"], logger);
    expect(lines).toEqual([
      'time=1970-01-01T00:00:00.000Z level=warn msg="could not verify the token at start (GetCurrentUser: HTTP 503 Service Unavailable); collecting anyway"',
    ]);
  });

  test("no usable organization stops the start", () => {
    const { lines, logger } = logged();
    expect(() =>
      applyToRun(
        {
          kind: "verified",
          user: "alice",
          visible: ["acme"],
          usable: [],
          missing: [{ org: "x", suggestion: undefined }],
        },
        ["x"],
        logger,
      ),
    ).toThrow(
      new StartupError(
        "organizations",
        "none of the configured organizations (x) is visible to the token; it can see: acme",
      ),
    );
    expect(lines).toEqual([]);
  });
});
