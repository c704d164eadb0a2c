import { expect, test } from "bun:test";
import { ConfigError, formatProblems } from "../../src/config/config-error.ts";

test("formatProblems: a heading and one indented line per problem", () => {
  expect(
    formatProblems([
      "--pulumi.max-concurrency: must be between 1 and 100 (got 0)",
      '--otlp.protocol: must be "grpc", "http/json" or "http/protobuf" (got "udp")',
    ]),
  ).toBe(
    'invalid configuration:\n  - --pulumi.max-concurrency: must be between 1 and 100 (got 0)\n  - --otlp.protocol: must be "grpc", "http/json" or "http/protobuf" (got "udp")',
  );
});

test("formatProblems keeps each problem on one line", () => {
  expect(formatProblems(["a\r\nb", "c"])).toBe("invalid configuration:\n  - a b\n  - c");
});

test("ConfigError carries the problems and exit code 2", () => {
  const problems = ["unknown flag --bogus", "--pulumi.access-token: is required"];
  const error = new ConfigError(problems);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe("ConfigError");
  expect(error.exitCode).toBe(2);
  expect(error.problems).toEqual(problems);
  expect(error.message).toBe(formatProblems(problems));
  problems.push("later");
  expect(error.problems).toHaveLength(2);
});
