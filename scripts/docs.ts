/**
 * Regenerates what is generated from the code or another file: the README's sections (flags, metrics) and the
 * PrometheusRule made from deploy/prometheus/alerts.yaml.
 *   bun scripts/docs.ts           # rewrite what is out of date
 *   bun scripts/docs.ts --check   # exit 1 when a generated file is out of date
 */
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { ALERTS_FILE, PROMETHEUS_RULE_FILE, ROOT, renderPrometheusRule } from "./alerts.ts";
import { renderReadme } from "./docs-sections.ts";

const GENERATED: ReadonlyArray<{ path: string; render: (current: string) => Promise<string> }> = [
  { path: resolve(ROOT, "README.md"), render: async (current) => renderReadme(current) },
  {
    path: PROMETHEUS_RULE_FILE,
    render: async () => renderPrometheusRule(await Bun.file(ALERTS_FILE).text()),
  },
];

const check = process.argv.includes("--check");
let stale = false;
for (const { path, render } of GENERATED) {
  const current = existsSync(path) ? await Bun.file(path).text() : "";
  const next = await render(current);
  if (next === current) continue;
  const name = relative(ROOT, path);
  if (check) {
    console.error(`${name} is out of date: run npm run docs`);
    stale = true;
  } else {
    await Bun.write(path, next);
    console.log(`${name} updated`);
  }
}
if (stale) process.exit(1);
