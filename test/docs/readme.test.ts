import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { renderReadme, replaceSection } from "../../scripts/docs-sections.ts";
import { METRICS } from "../../src/metrics/catalog.ts";

const readme = await Bun.file(resolve(import.meta.dir, "../../README.md")).text();

describe("README", () => {
  test("generated sections are up to date (npm run docs)", () => {
    expect(renderReadme(readme)).toBe(readme);
  });

  test("lists every metric of the catalog", () => {
    for (const metric of METRICS) expect(readme).toContain(`| \`${metric.name}\``);
  });

  test("carries the two fresh-machine commands", () => {
    expect(readme).toContain("npm ci && npm run demo");
    expect(readme).toContain("npm ci && npm run test:fresh");
  });

  test("replaceSection fails loudly without markers", () => {
    expect(() => replaceSection("no markers", "flags", "x")).toThrow("README.md lacks the");
  });
});
