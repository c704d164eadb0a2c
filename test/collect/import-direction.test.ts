/** Data flows one way, collect → metrics: no file under src/collect imports from src/metrics. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/build.ts";

test("src/collect imports nothing from src/metrics", () => {
  const dir = join(ROOT, "src", "collect");
  const offenders = readdirSync(dir)
    .filter((name) => name.endsWith(".ts"))
    .filter((name) => /from\s+"\.\.\/metrics\//.test(readFileSync(join(dir, name), "utf8")));
  expect(offenders).toEqual([]);
});
