/** Helpers for the configuration tests: real temp files and unwrapping of `loadConfig` results. */
import { afterAll, expect } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConfigResult, type LoadConfigInput, loadConfig } from "../../src/config/load-config.ts";
import type { Command, Config } from "../../src/config/types.ts";

/** A temp directory removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pulumi-exporter-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;

/** Writes `text` into a new file of `dir` with the given permission bits and returns its path. */
export function writeTemp(dir: string, text: string, mode = 0o600, name?: string): string {
  counter++;
  const path = join(dir, name ?? `file-${counter}`);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

export const TOKEN = "pul-0123456789abcdef0123456789abcdef01234567";

export function load(
  argv: string[],
  env: Record<string, string | undefined> = {},
  mode?: Command,
): ConfigResult {
  const input: LoadConfigInput = { argv, env };
  if (mode !== undefined) input.mode = mode;
  return loadConfig(input);
}

type Loaded = Extract<ConfigResult, { kind: "config" }>;

/** The loaded result, failing the test with the problems when there are any. */
export function expectLoaded(result: ConfigResult): Loaded {
  if (result.kind !== "config") throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result;
}

export function expectConfig(result: ConfigResult): Config {
  return expectLoaded(result).config;
}

export function expectProblems(result: ConfigResult): string[] {
  if (result.kind !== "error") throw new Error(`expected problems, got ${JSON.stringify(result)}`);
  expect(result.problems.length).toBeGreaterThan(0);
  return result.problems;
}

/** The value at a dotted path of the config (`pulumi.maxConcurrency`). */
export function fieldValue(config: Config, field: string): unknown {
  let node: unknown = config;
  for (const key of field.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
