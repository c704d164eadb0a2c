/**
 * Regenerates the README's generated sections (flags, metrics) from the code that defines them.
 *   bun scripts/docs.ts           # rewrite README.md
 *   bun scripts/docs.ts --check   # exit 1 when README.md is out of date
 */
import { resolve } from "node:path";
import { renderReadme } from "./docs-sections.ts";

const path = resolve(import.meta.dir, "../README.md");
const current = await Bun.file(path).text();
const next = renderReadme(current);
if (process.argv.includes("--check")) {
  if (next !== current) {
    console.error("README.md is out of date: run npm run docs");
    process.exit(1);
  }
} else if (next !== current) {
  await Bun.write(path, next);
  console.log("README.md updated");
}
