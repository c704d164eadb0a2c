/**
 * Names cannot change a request path. Names the API sends that are "", "." or ".." or contain "/" are malformed
 * stack items; the client percent-encodes every path parameter and refuses, without a request, one that would
 * still leave its segment. Seen before: --pulumi.organizations=.. made requests to /api/members and /api/teams.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { PulumiApiError } from "../../src/pulumi/pulumi-api-error.ts";
import { type LocalApi, observedClient, rejectionOf, startLocalApi } from "./support.ts";

let api: LocalApi | undefined;

afterEach(async () => {
  await api?.stop();
  api = undefined;
});

const NOT_NAMES = ["", ".", "..", "a/b"];

describe("stack items with a name that is not a path segment are dropped", () => {
  test("orgName, projectName and stackName", async () => {
    const stack = (orgName: string, projectName: string, stackName: string) => ({
      orgName,
      projectName,
      stackName,
    });
    const bad = NOT_NAMES.flatMap((name) => [
      stack(name, "web", "prod"),
      stack("acme", name, "prod"),
      stack("acme", "web", name),
    ]);
    // Odd but harmless: dots inside a name, three dots, something that looks encoded.
    const odd = [stack("acme", "...", "a.b"), stack("acme", ".web", "%2e%2e"), stack("acme", "a b", "x?y#z")];
    const local = startLocalApi((app) => {
      app.get("/api/user/stacks", (c) => c.json({ stacks: [...bad, ...odd] }));
    });
    api = local;
    const { client, seen } = observedClient(local.url);
    expect(await client.listStacks("acme")).toEqual(odd);
    expect(seen.dropped).toEqual([
      {
        operation: "ListUserStacks",
        count: 12,
        reason: 'orgName must be a name other than "", "." and ".." without "/" (was "")',
      },
    ]);
  });
});

describe("a request path never leaves its own segments", () => {
  // Everything that means something in a URL, or to a server that decodes before routing.
  const HOSTILE = [
    "?",
    "#",
    "a?page=99",
    "a#frag",
    "%2F",
    "%2e%2e",
    ".%2e",
    "..%2F..",
    "\\..",
    "..\\",
    "a b",
    ";x=1",
    "&",
    "é",
    "...",
    ".x",
  ];

  test("every other name is sent percent-encoded, in its own segment, with the query unchanged", async () => {
    const local = startLocalApi((app) => {
      app.get("*", (c) => c.json({ updates: [] }));
    });
    api = local;
    const { client } = observedClient(local.url);
    for (const name of HOSTILE) {
      await client.getStackUpdates({ org: name, project: name, stack: name }, 1, 10);
    }
    expect(local.requests.map((r) => r.target)).toEqual(
      HOSTILE.map((name) => {
        const segment = encodeURIComponent(name);
        return `/api/stacks/${segment}/${segment}/${segment}/updates?page=1&pageSize=10`;
      }),
    );
    for (const [index, request] of local.requests.entries()) {
      const name = HOSTILE[index] ?? "";
      const path = request.target.slice(0, request.target.indexOf("?"));
      expect(path.split("/").map(decodeURIComponent)).toEqual([
        "",
        "api",
        "stacks",
        name,
        name,
        name,
        "updates",
      ]);
    }
  });

  test('"", "." and ".." and names with "/" are refused before any request', async () => {
    const local = startLocalApi(() => {});
    api = local;
    const { client, seen } = observedClient(local.url);
    const messages: string[] = [];
    for (const name of NOT_NAMES) {
      const errors = [
        await rejectionOf(client.getStackUpdates({ org: "acme", project: "web", stack: name }, 1, 10)),
        await rejectionOf(client.getStackResourceCount({ org: "acme", project: name, stack: "prod" })),
        await rejectionOf(client.listTeams(name)),
        await rejectionOf(client.listMembers(name)),
        await rejectionOf(client.listOrgDeployments(name)),
        await rejectionOf(client.getNeoTokenBudget(name)),
      ];
      for (const error of errors) {
        expect(error).toBeInstanceOf(PulumiApiError);
        expect((error as PulumiApiError).attempts).toBe(0);
      }
      messages.push(...errors.map((e) => e.message));
    }
    const shown = (name: string) => JSON.stringify(name);
    expect(messages).toEqual(
      NOT_NAMES.flatMap((name) => {
        const rule = `must not be "", "." or ".." or contain "/" (was ${shown(name)}); no request sent`;
        return [
          `GetStackUpdates: path parameter stackName ${rule}`,
          `GetStackResourceCount: path parameter projectName ${rule}`,
          `ListTeams: path parameter orgName ${rule}`,
          `ListOrganizationMembers: path parameter orgName ${rule}`,
          `ListOrgDeployments: path parameter orgName ${rule}`,
          `GetOrgNeoTokenBudget: path parameter orgName ${rule}`,
        ];
      }),
    );
    expect(local.requests).toEqual([]);
    expect(seen.requests).toEqual([]);
  });
});
