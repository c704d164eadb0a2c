/** The YAML configuration file: `section: { key: value }` with the Go exporter's keys, parsed strictly. */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { closest } from "./argv.ts";
import { type OptionName, type OptionValue, optionByYamlKey, yamlKeys } from "./options.ts";
import { parseYamlValue } from "./parse-value.ts";

export interface FileValue {
  value: OptionValue;
  /** Where the value came from, for messages: `config.yaml:3: pulumi.max-concurrency`. */
  label: string;
}

export interface YamlLayer {
  values: Map<OptionName, FileValue>;
  /** False when the file is not YAML at all, so none of its settings could be read. */
  parsed: boolean;
  /** Options whose value in the file is invalid (reported in `problems`). */
  failed: Set<OptionName>;
  problems: string[];
}

function firstLine(message: string): string {
  // Drop the source excerpt and position the parser appends: the excerpt may hold a secret.
  return (message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "").trim();
}

function sectionsOf(): Set<string> {
  return new Set(yamlKeys().map((key) => key.split(".")[0] ?? key));
}

/** Line of each `section` and `section.key` in the document, for messages. */
function keyLines(contents: unknown, lines: LineCounter): Map<string, number> {
  const out = new Map<string, number>();
  if (!isMap(contents)) return out;
  for (const section of contents.items) {
    if (!isScalar(section.key) || section.key.range === undefined || section.key.range === null) continue;
    const sectionName = String(section.key.value);
    out.set(sectionName, lines.linePos(section.key.range[0]).line);
    if (!isMap(section.value)) continue;
    for (const pair of section.value.items) {
      if (!isScalar(pair.key) || pair.key.range === undefined || pair.key.range === null) continue;
      out.set(`${sectionName}.${String(pair.key.value)}`, lines.linePos(pair.key.range[0]).line);
    }
  }
  return out;
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses the file's text. `path` only names the file in messages. */
export function parseConfigYaml(text: string, path: string): YamlLayer {
  const layer: YamlLayer = { values: new Map(), parsed: true, failed: new Set(), problems: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = lines.linePos(error.pos[0]);
      const where = ` at line ${pos.line}, column ${pos.col}`;
      layer.problems.push(`${path}: YAML syntax error${where}: ${firstLine(error.message)}`);
    }
    layer.parsed = false;
    return layer;
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    layer.problems.push(
      `${path}: invalid YAML: ${firstLine(error instanceof Error ? error.message : String(error))}`,
    );
    layer.parsed = false;
    return layer;
  }
  if (data === null || data === undefined) return layer; // an empty file sets nothing
  if (!isRecord(data)) {
    layer.problems.push(
      `${path}: expected a mapping of sections (pulumi, otlp, ...), got ${describeType(data)}`,
    );
    layer.parsed = false;
    return layer;
  }
  const positions = keyLines(doc.contents, lines);
  const at = (key: string) => {
    const line = positions.get(key);
    return line === undefined ? path : `${path}:${line}`;
  };
  const sections = sectionsOf();
  const allKeys = yamlKeys();
  for (const [sectionName, section] of Object.entries(data)) {
    if (!sections.has(sectionName)) {
      const hint = closest(sectionName, [...sections]);
      const suggestion = hint === undefined ? "" : ` (did you mean ${hint}?)`;
      layer.problems.push(`${at(sectionName)}: unknown key ${sectionName}${suggestion}`);
      continue;
    }
    if (section === null) continue;
    if (!isRecord(section)) {
      layer.problems.push(
        `${at(sectionName)}: ${sectionName}: expected a mapping, got ${describeType(section)}`,
      );
      continue;
    }
    for (const [key, value] of Object.entries(section)) {
      const keyPath = `${sectionName}.${key}`;
      const spec = optionByYamlKey(keyPath);
      if (spec === undefined) {
        const hint = closest(keyPath, allKeys);
        const suggestion = hint === undefined ? "" : ` (did you mean ${hint}?)`;
        layer.problems.push(`${at(keyPath)}: unknown key ${keyPath}${suggestion}`);
        continue;
      }
      if (value === null) continue; // `key:` with nothing after it leaves the option unset
      const label = `${at(keyPath)}: ${keyPath}`;
      const parsed = parseYamlValue(spec, value);
      if (parsed.ok) layer.values.set(spec.name, { value: parsed.value, label });
      else {
        layer.failed.add(spec.name);
        layer.problems.push(`${label}: ${parsed.problem}`);
      }
    }
  }
  return layer;
}
