/** Markdown helpers for the generated benchmark report, and the file it is written into. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { mib } from "./figures.ts";

export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: string,
): string {
  const separator = align ?? header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ");
  return [
    `| ${header.join(" | ")} |`,
    `| ${separator} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}

/** Milliseconds as `146 ms` below a second, `3.61 s` from a second on. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function mebibytes(bytes: number): string {
  return Number.isFinite(bytes) ? `${mib(bytes).toFixed(0)} MiB` : "—";
}

export function cpu(seconds: number): string {
  return Number.isFinite(seconds) ? `${seconds.toFixed(2)} s` : "—";
}

export function times(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—";
}

export const SECTIONS = ["bench", "soak"] as const;
export type Section = (typeof SECTIONS)[number];

const HEADER = `# Benchmarks

The compiled exporter (\`dist/pulumi-exporter\`) against the Pulumi Cloud simulator on this machine. Everything
below is generated: the benchmark section by \`npm run bench\` (bench/run.ts), the soak section by
\`bun bench/soak.ts\`. Do not edit by hand; rerun them.
`;

function markers(section: Section): { begin: string; end: string } {
  return { begin: `<!-- BEGIN GENERATED: ${section} -->`, end: `<!-- END GENERATED: ${section} -->` };
}

/** The text of `section` in a generated document, if present. */
export function readSection(document: string, section: Section): string | undefined {
  const { begin, end } = markers(section);
  const from = document.indexOf(begin);
  const to = document.indexOf(end);
  if (from === -1 || to === -1 || to < from) return undefined;
  return document.slice(from + begin.length, to).trim();
}

const PLACEHOLDERS: Record<Section, string> = {
  bench: "## Benchmark\n\nNot run yet: `npm run bench`.",
  soak: "## Soak\n\nNot run yet: `bun bench/soak.ts` (1,000 cycles, about 20 minutes; `--cycles N` for fewer).",
};

/** The whole document with `section` replaced and the other sections kept from `previous`. */
export function renderDocument(previous: string | undefined, section: Section, content: string): string {
  const parts = SECTIONS.map((name) => {
    const body =
      name === section ? content.trim() : (previous && readSection(previous, name)) || PLACEHOLDERS[name];
    const { begin, end } = markers(name);
    return `${begin}\n${body}\n${end}`;
  });
  return `${HEADER}\n${parts.join("\n\n")}\n`;
}

export function writeSection(path: string, section: Section, content: string): void {
  const previous = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderDocument(previous, section, content));
}
