import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { StackSummary } from "../../src/pulumi/types.ts";
import { type Api, start } from "./helpers.ts";

let api: Api;

beforeAll(async () => {
  api = await start();
});
afterAll(() => api.sim.stop());

/** Follows a token-paged list to the end (bounded), returning every page. */
async function walk<T>(
  path: (token: string | undefined) => string,
  itemsKey: string,
  tokenKey: string,
): Promise<T[][]> {
  const pages: T[][] = [];
  let token: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const body = await api.json<Record<string, unknown>>(path(token));
    pages.push(body[itemsKey] as T[]);
    token = body[tokenKey] as string | undefined;
    if (token === undefined) return pages;
    expect(typeof token).toBe("string");
  }
  throw new Error(`${path(undefined)} did not end`);
}

const q = (token: string | undefined, name = "continuationToken") =>
  token === undefined ? "" : `${name}=${encodeURIComponent(token)}`;

describe("ListUserStacks: continuationToken, maxResults, organization and project filters", () => {
  test("default page size, every stack of every org exactly once, in order", async () => {
    const truth = api.sim.model.listStacks();
    expect(truth.length).toBe(60);
    const pages = await walk<StackSummary>((t) => `/api/user/stacks?${q(t)}`, "stacks", "continuationToken");
    expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
    expect(pages.flat()).toEqual(truth);
  });

  test("organization filter with maxResults", async () => {
    for (const org of api.sim.model.orgNames()) {
      const truth = api.sim.model.listStacks(org);
      const pages = await walk<StackSummary>(
        (t) => `/api/user/stacks?organization=${org}&maxResults=4&${q(t)}`,
        "stacks",
        "continuationToken",
      );
      expect(pages.length).toBe(Math.max(1, Math.ceil(truth.length / 4)));
      expect(pages.flat()).toEqual(truth);
      expect(new Set(pages.flat().map((s) => s.orgName))).toEqual(new Set([org]));
    }
  });

  test("project filter", async () => {
    const first = api.sim.model.listStacks("org-1")[0] as StackSummary;
    const truth = api.sim.model.listStacks("org-1").filter((s) => s.projectName === first.projectName);
    const pages = await walk<StackSummary>(
      (t) => `/api/user/stacks?organization=org-1&project=${first.projectName}&maxResults=2&${q(t)}`,
      "stacks",
      "continuationToken",
    );
    expect(pages.flat()).toEqual(truth);
  });

  test("a page boundary that falls exactly on the end gives no token", async () => {
    const n = api.sim.model.listStacks("org-1").length;
    const body = await api.json(`/api/user/stacks?organization=org-1&maxResults=${n}`);
    expect((body.stacks as unknown[]).length).toBe(n);
    expect(body.continuationToken).toBeUndefined();
  });

  test("stacks deleted and created between pages: no item twice, survivors all seen", async () => {
    const key = (s: StackSummary) => `${s.orgName}/${s.projectName}/${s.stackName}`;
    const before = new Set(api.sim.model.listStacks().map(key));
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 100; i++) {
      const body = await api.json<{ stacks: StackSummary[]; continuationToken?: string }>(
        `/api/user/stacks?${q(token)}`,
      );
      seen.push(...body.stacks.map(key));
      token = body.continuationToken;
      if (!token) break;
      api.sim.tick(1);
    }
    const after = new Set(api.sim.model.listStacks().map(key));
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) if (after.has(id)) expect(seen).toContain(id);
  });

  test("bad continuation token and maxResults are 400 with Pulumi's error body", async () => {
    const bad = await api.get("/api/user/stacks?continuationToken=not-a-token");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: 400, message: "Invalid continuation token" });
    const negative = await api.get("/api/user/stacks?maxResults=-1");
    expect(negative.status).toBe(400);
    expect(await negative.json()).toEqual({ code: 400, message: "Invalid 'maxResults' value." });
  });
});

describe("ListOrganizationMembers: continuationToken", () => {
  test("walks every member of each org", async () => {
    for (const org of api.sim.model.orgNames()) {
      const pages = await walk((t) => `/api/orgs/${org}/members?${q(t)}`, "members", "continuationToken");
      expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
      expect(pages.flat()).toEqual(api.sim.model.members(org));
    }
  });
});

describe("ListOrgEnvironments_esc: continuationToken in, nextToken out", () => {
  test("default page size", async () => {
    const pages = await walk((t) => `/api/esc/environments/org-2?${q(t)}`, "environments", "nextToken");
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 4, 1]);
    expect(pages.flat()).toEqual(api.sim.model.environments("org-2"));
  });

  test("maxResults", async () => {
    const pages = await walk(
      (t) => `/api/esc/environments/org-2?maxResults=10&${q(t)}`,
      "environments",
      "nextToken",
    );
    expect(pages.map((p) => p.length)).toEqual([10, 7]);
  });
});

describe("ListTasks: continuationToken with pageSize", () => {
  test("default page size, newest event first", async () => {
    const pages = await walk((t) => `/api/preview/agents/org-1/tasks?${q(t)}`, "tasks", "continuationToken");
    expect(pages.map((p) => p.length)).toEqual([6, 6, 6, 3]);
    expect(pages.flat()).toEqual(api.sim.model.neoTasks("org-1"));
  });

  test("pageSize and taskType filter", async () => {
    const truth = api.sim.model.neoTasks("org-3").filter((t) => t.taskType === "sync");
    const pages = await walk(
      (t) => `/api/preview/agents/org-3/tasks?pageSize=4&taskType=sync&${q(t)}`,
      "tasks",
      "continuationToken",
    );
    expect(pages.flat()).toEqual(truth);
    expect(pages.length).toBe(Math.ceil(truth.length / 4));
  });

  test("pageSize outside 1-1000 is a 400", async () => {
    for (const size of ["0", "1001", "abc"]) {
      const response = await api.get(`/api/preview/agents/org-1/tasks?pageSize=${size}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ code: 400, message: "pageSize must be between 1 and 1000" });
    }
  });
});

describe("ListPolicyViolationsV2: continuationToken", () => {
  test("walks every violation", async () => {
    const pages = await walk(
      (t) => `/api/orgs/org-3/policyresults/violationsv2?${q(t)}`,
      "policyViolations",
      "continuationToken",
    );
    expect(pages.map((p) => p.length)).toEqual([8, 8, 8, 5]);
    expect(pages.flat()).toEqual(api.sim.model.violations("org-3"));
  });
});

describe("deployments: page/pageSize with total", () => {
  interface Page {
    deployments: { id: string; status: string }[];
    itemsPerPage: number;
    total: number;
  }

  test("org deployments: default pageSize 10, newest first, exact total", async () => {
    const truth = api.sim.model.deployments("org-1");
    const ids: string[] = [];
    for (let page = 1; page <= 100; page++) {
      const body = await api.json<Page>(`/api/orgs/org-1/deployments?page=${page}`);
      expect(body.itemsPerPage).toBe(10);
      expect(body.total).toBe(truth.length);
      if (body.deployments.length === 0) break;
      ids.push(...body.deployments.map((d) => d.id));
    }
    expect(ids).toEqual(truth.map((d) => d.id));
  });

  test("pageSize 100 and asc", async () => {
    const truth = api.sim.model.deployments("org-2");
    const body = await api.json<Page>("/api/orgs/org-2/deployments?page=1&pageSize=100&asc=true");
    expect(body.deployments.map((d) => d.id)).toEqual(truth.map((d) => d.id).reverse());
  });

  test("stack deployments are the stack's own", async () => {
    const d = api.sim.model
      .deployments("org-1")
      .find((x) =>
        api.sim.model.stack({ org: "org-1", project: x.projectName ?? "", stack: x.stackName ?? "" }),
      );
    if (!d) throw new Error("no deployment of a live stack");
    const truth = api.sim.model
      .deployments("org-1")
      .filter((x) => x.projectName === d.projectName && x.stackName === d.stackName);
    const body = await api.json<Page>(
      `/api/stacks/org-1/${d.projectName}/${d.stackName}/deployments?pageSize=100`,
    );
    expect(body.total).toBe(truth.length);
    expect(body.deployments.map((x) => x.id)).toEqual(truth.map((x) => x.id));
  });

  test("page and pageSize outside their ranges are 400", async () => {
    for (const query of ["page=0", "pageSize=0", "pageSize=101", "page=x"]) {
      const response = await api.get(`/api/orgs/org-1/deployments?${query}`);
      expect(response.status).toBe(400);
    }
  });
});

describe("GetStackUpdates: page/pageSize with total, newest first", () => {
  test("pages cover the history exactly; page 1 is the newest", async () => {
    const stack = api.sim.model.listStacks().find((s) => s.lastUpdate !== undefined) as StackSummary;
    const ref = { org: stack.orgName, project: stack.projectName, stack: stack.stackName };
    const truth = api.sim.model.stackUpdates(ref) ?? [];
    const base = `/api/stacks/${ref.org}/${ref.project}/${ref.stack}/updates`;
    const all: unknown[] = [];
    for (let page = 1; page <= 100; page++) {
      const body = await api.json<{
        updates: { version: number; startTime: number }[];
        total: number;
        itemsPerPage: number;
      }>(`${base}?output-type=service&page=${page}&pageSize=5`);
      expect(body.total).toBe(truth.length);
      expect(body.itemsPerPage).toBe(5);
      if (body.updates.length === 0) break;
      all.push(...body.updates);
    }
    expect(all).toEqual(truth);
    expect(truth[0]?.version).toBe(truth.length);
    expect(truth[0]?.startTime).toBe(stack.lastUpdate as number);
    const latest = await api.json<{ updates: unknown[] }>(`${base}?page=1&pageSize=1`);
    expect(latest.updates).toEqual([truth[0]]);
    const everything = await api.json<{ updates: unknown[]; total: number }>(base);
    expect(everything.updates).toEqual(truth);
  });

  test("page > 0 needs a pageSize >= 1", async () => {
    const stack = api.sim.model.listStacks()[0] as StackSummary;
    const base = `/api/stacks/${stack.orgName}/${stack.projectName}/${stack.stackName}/updates`;
    const missing = await api.get(`${base}?page=1`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ code: 400, message: "Invalid 'pageSize' value." });
    const negative = await api.get(`${base}?page=-1&pageSize=2`);
    expect(await negative.json()).toEqual({ code: 400, message: "Invalid 'page' value." });
  });
});
