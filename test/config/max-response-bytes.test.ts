/** --pulumi.max-response-bytes: bytes, or KiB/MiB/GiB; greater than 0; one clear problem otherwise. */
import { describe, expect, test } from "bun:test";
import { expectConfig, expectProblems, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const BASE = ["--pulumi.organizations=acme"];
const ENV = { PULUMI_ACCESS_TOKEN: TOKEN };

function bytesOf(argv: string[], env: Record<string, string> = ENV): number {
  return expectConfig(load([...BASE, ...argv], env)).pulumi.maxResponseBytes;
}

function problemsOf(argv: string[], env: Record<string, string> = ENV): string[] {
  return expectProblems(load([...BASE, ...argv], env));
}

describe("values", () => {
  test("the default is 64 MiB", () => {
    expect(bytesOf([])).toBe(67_108_864);
  });

  test("plain bytes and binary suffixes", () => {
    expect(bytesOf(["--pulumi.max-response-bytes=1"])).toBe(1);
    expect(bytesOf(["--pulumi.max-response-bytes=67108864"])).toBe(67_108_864);
    expect(bytesOf(["--pulumi.max-response-bytes=512KiB"])).toBe(524_288);
    expect(bytesOf(["--pulumi.max-response-bytes", "64MiB"])).toBe(67_108_864);
    expect(bytesOf([], { ...ENV, PULUMI_MAX_RESPONSE_BYTES: " 2GiB " })).toBe(2_147_483_648);
  });

  test("YAML: a number or a string", () => {
    const number = writeTemp(dir, "pulumi:\n  max-response-bytes: 1000\n");
    const text = writeTemp(dir, "pulumi:\n  max-response-bytes: 8MiB\n");
    expect(bytesOf([`--config.file=${number}`])).toBe(1000);
    expect(bytesOf([`--config.file=${text}`])).toBe(8_388_608);
  });
});

describe("problems", () => {
  const form = "must be a whole number of bytes, optionally with KiB, MiB or GiB, such as 64MiB";

  test("zero and negative", () => {
    expect(problemsOf(["--pulumi.max-response-bytes=0"])).toEqual([
      "--pulumi.max-response-bytes: must be greater than 0 (got 0)",
    ]);
    expect(problemsOf([], { ...ENV, PULUMI_MAX_RESPONSE_BYTES: "-1MiB" })).toEqual([
      "PULUMI_MAX_RESPONSE_BYTES: must be greater than 0 (got -1048576)",
    ]);
  });

  test("beyond a safe integer", () => {
    expect(problemsOf(["--pulumi.max-response-bytes=9007199254740992"])).toEqual([
      "--pulumi.max-response-bytes: must be at most 9007199254740991 bytes (got 9007199254740992)",
    ]);
  });

  test("decimal units, fractions and words are not byte counts", () => {
    expect(problemsOf(["--pulumi.max-response-bytes=64MB"])).toEqual([
      `--pulumi.max-response-bytes: ${form} (got "64MB")`,
    ]);
    expect(problemsOf(["--pulumi.max-response-bytes=1.5MiB"])).toEqual([
      `--pulumi.max-response-bytes: ${form} (got "1.5MiB")`,
    ]);
    expect(problemsOf(["--pulumi.max-response-bytes=lots"])).toEqual([
      `--pulumi.max-response-bytes: ${form} (got "lots")`,
    ]);
  });

  test("YAML of the wrong type names the line", () => {
    const path = writeTemp(dir, "pulumi:\n  max-response-bytes: true\n");
    expect(problemsOf([`--config.file=${path}`])).toEqual([
      `${path}:2: pulumi.max-response-bytes: expected a number of bytes such as 67108864 or 64MiB, got a boolean`,
    ]);
  });
});
