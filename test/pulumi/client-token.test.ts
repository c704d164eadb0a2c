/** A token provider: the client asks it before every request, so a rotated token is sent from the next one on. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type LocalApi, observedClient, rejectionOf, startLocalApi } from "./support.ts";

const FIRST = "pul-client-first-token-4d8e2a";
const SECOND = "pul-client-second-token-9b1c7f";

let api: LocalApi;
beforeAll(() => {
  api = startLocalApi((app) => {
    app.get("/api/user", (c) =>
      c.req.header("authorization") === `token ${FIRST}`
        ? c.json({ id: "u-1", githubLogin: "alice", name: "Alice", email: "", organizations: [] })
        : // A server that echoes the credential it got: the message must not carry it.
          c.text(`bad credential ${c.req.header("authorization") ?? ""}`, 401),
    );
  });
});
afterAll(async () => {
  await api.stop();
});

describe("token provider", () => {
  test("each request carries the provider's current token; a rotated one is scrubbed from errors", async () => {
    let token = FIRST;
    const { client, seen } = observedClient(api.url, { token: () => token });
    await client.getCurrentUser();
    token = SECOND;
    const error = await rejectionOf(client.getCurrentUser());
    expect(api.requests.map((r) => r.authorization)).toEqual([`token ${FIRST}`, `token ${SECOND}`]);
    expect(error.message).not.toContain(SECOND);
    expect(error.message).toContain("[REDACTED]");
    expect(seen.logLines.join("\n")).not.toContain(SECOND);
  });
});
