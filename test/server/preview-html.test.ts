import { describe, expect, test } from "bun:test";
import { silentLogger } from "../../src/log/logger.ts";
import type { MetricId } from "../../src/metrics/catalog.ts";
import type { GaugePoint } from "../../src/metrics/points.ts";
import { createServerApp } from "../../src/server/app.ts";
import type { PreviewSnapshot } from "../../src/server/preview.ts";
import { humanTime, PREVIEW_HTML_CSP, renderPreviewHtml } from "../../src/server/preview-html.ts";
import { VERSION } from "../../src/version.ts";

const NOW = Date.UTC(2026, 4, 20, 12, 0, 0);
const SNAPSHOT: PreviewSnapshot = {
  takenAt: NOW - 30_000,
  summary: { organizations: 2, stacks: 1, up: 0, "updates counted": 4, deployments: 9 },
  readings: new Map<MetricId, readonly GaugePoint[]>([
    ["stackResourceCount", [{ attributes: { org: "acme", project: "web", stack: "<prod>" }, value: 42 }]],
    [
      "stackLastUpdateTimestamp",
      [{ attributes: { org: "acme", project: "web", stack: "<prod>" }, value: NOW / 1000 - 7200 }],
    ],
  ]),
};
const ORGS = [
  { org: "acme", listed: true, lastListedAt: NOW - 30_000, failing: [] },
  {
    org: "beta",
    listed: false,
    lastListedAt: undefined,
    failing: [
      { operation: "ListUserStacks", error: "HTTP 403 <Forbidden>", since: NOW - 600_000, failures: 10 },
      { operation: "ListTeams", error: "ListTeams: HTTP 500", since: NOW - 60_000, failures: 1 },
    ],
  },
];

describe("the preview page for people", () => {
  test("times read as UTC with how long ago", () => {
    expect(humanTime(NOW - 30_000, NOW)).toBe("2026-05-20 11:59:30 UTC (30 s ago)");
    expect(humanTime(NOW - 600_000, NOW)).toBe("2026-05-20 11:50:00 UTC (10 min ago)");
    expect(humanTime(NOW - 7_200_000, NOW)).toBe("2026-05-20 10:00:00 UTC (2 h ago)");
    expect(humanTime(NOW + 3 * 86_400_000, NOW)).toBe("2026-05-23 12:00:00 UTC (in 3 days)");
  });

  test("a row per organization with its state and failing steps, counts, and every series, all escaped", () => {
    const html = renderPreviewHtml({ snapshot: SNAPSHOT, organizations: ORGS, version: "1.2.3", now: NOW });
    expect(html).toContain(
      '<tr><td>acme</td><td class="ok">listed</td><td>2026-05-20 11:59:30 UTC (30 s ago)</td><td>none</td></tr>',
    );
    expect(html).toContain(
      '<tr><td>beta</td><td class="bad">not listed</td><td>never</td><td class="bad">ListUserStacks: HTTP 403 &lt;Forbidden&gt; (since 2026-05-20 11:50:00 UTC (10 min ago), 10×)\nListTeams: HTTP 500 (since 2026-05-20 11:59:00 UTC (60 s ago), 1×)</td></tr>',
    );
    expect(html).toContain('<tr><th>updates counted</th><td class="num">4</td></tr>');
    expect(html).toContain('<tr><th>deployments</th><td class="num">9</td></tr>');
    expect(html).toContain('<tr><td>acme</td><td>web</td><td>&lt;prod&gt;</td><td class="num">42</td></tr>');
    expect(html).toContain(`<td class="num">${NOW / 1000 - 7200} = 2026-05-20 10:00:00 UTC (2 h ago)</td>`);
    expect(html).not.toContain("<prod>");
  });

  test("browsers get the page with a policy that allows only its own style; curl still gets text", async () => {
    const app = createServerApp({
      health: () => ({ alive: true, ready: false, cycles: 1, organizations: ORGS }),
      scrape: async () => "",
      preview: () => SNAPSHOT,
      previewEnabled: true,
      logger: silentLogger,
      now: () => NOW,
    });
    const page = await app.request("/metrics-preview", { headers: { Accept: "text/html,*/*;q=0.8" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(page.headers.get("content-security-policy")).toBe(PREVIEW_HTML_CSP);
    expect(PREVIEW_HTML_CSP).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; frame-ancestors 'none'$/,
    );
    expect(await page.text()).toContain(`<h1>Pulumi exporter ${VERSION}</h1>`);
    const text = await app.request("/metrics-preview", { headers: { Accept: "*/*" } });
    expect(text.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    expect((await text.text()).split("\n")[0]).toBe("Pulumi exporter: metrics of the last collection");
    const asked = await app.request("/metrics-preview?format=html");
    expect(asked.headers.get("content-type")).toBe("text/html; charset=UTF-8");
  });
});
