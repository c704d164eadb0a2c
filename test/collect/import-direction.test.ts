/** Data flows one way, collect → metrics: no file under src/collect (sources included) imports from src/metrics. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "../../scripts/build.ts";

test("src/collect imports nothing from src/metrics", () => {
  const dir = join(ROOT, "src", "collect");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) =>
    name.endsWith(".ts"),
  );
  expect(files).toContain(join("sources", "agent-pools.ts"));
  const offenders = files
    .map((name) => join(dir, name))
    .filter((path) => /from\s+"(\.\.\/)+metrics\//.test(readFileSync(path, "utf8")))
    .map((path) => relative(ROOT, path));
  expect(offenders).toEqual([]);
});
