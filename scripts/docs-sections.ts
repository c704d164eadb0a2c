/** The README's generated sections, each between `<!-- BEGIN GENERATED: name -->` and its END marker. */
import { renderSourcesTable } from "../src/collect/sources/index.ts";
import { renderFlagTable } from "../src/config/help.ts";
import { renderMetricsTable } from "../src/metrics/catalog.ts";
import { renderWebhookEventsTable } from "../src/webhooks/events.ts";

export const SECTIONS: Readonly<Record<string, () => string>> = {
  flags: renderFlagTable,
  metrics: renderMetricsTable,
  sources: renderSourcesTable,
  webhooks: renderWebhookEventsTable,
};

export function replaceSection(text: string, name: string, body: string): string {
  const begin = `<!-- BEGIN GENERATED: ${name} -->`;
  const end = `<!-- END GENERATED: ${name} -->`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`README.md lacks the ${begin} … ${end} markers`);
  return `${text.slice(0, start + begin.length)}\n${body.trim()}\n${text.slice(stop)}`;
}

export function renderReadme(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(SECTIONS)) out = replaceSection(out, name, render());
  return out;
}
