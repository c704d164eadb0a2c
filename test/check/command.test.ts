import { describe, expect, test } from "bun:test";
import { checkPulumi, formatCheckLine } from "../../src/check/command.ts";
import type { UserApi } from "../../src/pulumi/api.ts";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { testConfig } from "../support/test-config.ts";

const config = testConfig({
  pulumi: { organizations: ["betta", "acme"], apiUrl: "https://api.example.com" },
});

async function lines(api: UserApi): Promise<string[]> {
  // No waiting: the clock moves only when the check sleeps.
  let now = 0;
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
  return (await checkPulumi(config, { userApi: api, clock })).map(formatCheckLine);
}

describe("check: the Pulumi lines", () => {
  test("one line for the token, then one per organization in the configured order", async () => {
    const api: UserApi = {
      getCurrentUser: async () => ({ login: "alice", organizations: ["acme", "beta"] }),
      organizationVisible: async () => false,
    };
    expect(await lines(api)).toEqual([
      "ok   token: user alice, organizations: acme, beta",
      "FAIL organization betta: not visible to the token; did you mean beta?",
      "ok   organization acme",
    ]);
  });

  test("an unreachable API is one FAIL line about the API, after the bounded retries", async () => {
    const api: UserApi = {
      getCurrentUser: async () => {
        throw new PulumiApiError({
          operation: "GetCurrentUser",
          status: "error",
          attempts: 1,
          reason: "network error (ENOTFOUND)",
        });
      },
      organizationVisible: async () => false,
    };
    expect(await lines(api)).toEqual([
      "FAIL api: cannot reach the Pulumi API at api.example.com: network error (ENOTFOUND); gave up after 7 attempts in 30s",
    ]);
  });
});
