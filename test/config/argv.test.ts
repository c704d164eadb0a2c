import { describe, expect, test } from "bun:test";
import { closest, parseArgv } from "../../src/config/argv.ts";

const flagsOf = (argv: string[]) => Object.fromEntries(parseArgv(argv).flags);

describe("parseArgv", () => {
  test("--flag value and --flag=value", () => {
    const parsed = parseArgv(["--pulumi.api-url", "https://a.example", "--otlp.endpoint=host:4318"]);
    expect(parsed.problems).toEqual([]);
    expect(Object.fromEntries(parsed.flags)).toEqual({
      "pulumi.api-url": ["https://a.example"],
      "otlp.endpoint": ["host:4318"],
    });
  });

  test("a value may contain '=' and start with a single dash", () => {
    expect(flagsOf(["--otlp.headers=authorization=Basic YQ==", "--pulumi.collect-interval", "-5s"])).toEqual({
      "otlp.headers": ["authorization=Basic YQ=="],
      "pulumi.collect-interval": ["-5s"],
    });
  });

  test("boolean forms: --flag, --flag=true|false, --no-flag", () => {
    expect(flagsOf(["--otlp.insecure"])).toEqual({ "otlp.insecure": ["true"] });
    expect(flagsOf(["--otlp.insecure=false"])).toEqual({ "otlp.insecure": ["false"] });
    expect(flagsOf(["--otlp.insecure=true"])).toEqual({ "otlp.insecure": ["true"] });
    expect(flagsOf(["--no-otlp.insecure"])).toEqual({ "otlp.insecure": ["false"] });
  });

  test("a boolean flag does not take the next argument", () => {
    const parsed = parseArgv(["--otlp.insecure", "false"]);
    expect(Object.fromEntries(parsed.flags)).toEqual({ "otlp.insecure": ["true"] });
    expect(parsed.problems).toEqual(['unknown command "false"; commands: run, demo, check']);
  });

  test("--no- only for booleans, and without a value", () => {
    expect(parseArgv(["--no-otlp.endpoint"]).problems).toEqual([
      "--no-otlp.endpoint: --otlp.endpoint is not a boolean flag",
    ]);
    expect(parseArgv(["--no-otlp.insecure=false"]).problems).toEqual([
      "--no-otlp.insecure: takes no value (use --otlp.insecure=true|false)",
    ]);
  });

  test("repeated flags keep every value in order", () => {
    expect(flagsOf(["--pulumi.organizations", "a", "--pulumi.organizations=b,c"])).toEqual({
      "pulumi.organizations": ["a", "b,c"],
    });
  });

  test("a missing value: at the end or before another flag", () => {
    expect(parseArgv(["--pulumi.api-url"]).problems).toEqual(["--pulumi.api-url: missing value"]);
    const parsed = parseArgv(["--pulumi.organizations", "--otlp.insecure"]);
    expect(parsed.problems).toEqual(["--pulumi.organizations: missing value"]);
    expect(Object.fromEntries(parsed.flags)).toEqual({ "otlp.insecure": ["true"] });
  });

  test("an explicitly empty value is kept", () => {
    expect(flagsOf(["--otlp.url-path="])).toEqual({ "otlp.url-path": [""] });
  });

  test("commands: first positional only, before or after flags", () => {
    expect(parseArgv([]).command).toBeUndefined();
    expect(parseArgv(["demo"]).command).toBe("demo");
    expect(parseArgv(["--log.level=debug", "run"]).command).toBe("run");
    const twice = parseArgv(["demo", "run"]);
    expect(twice.command).toBe("demo");
    expect(twice.problems).toEqual([
      'unexpected argument "run" after the command; commands: run, demo, check',
    ]);
    expect(parseArgv(["serve"]).problems).toEqual(['unknown command "serve"; commands: run, demo, check']);
    expect(parseArgv(["check"]).command).toBe("check");
  });

  test("a mistyped command names itself, the commands and the closest one", () => {
    const parsed = parseArgv(["rn", "--log.level=debug"]);
    expect(parsed.problems).toEqual(['unknown command "rn"; commands: run, demo, check (did you mean run?)']);
    expect(parsed.badPositional).toBe(true);
    expect(parseArgv(["run"]).badPositional).toBe(false);
  });

  test("a positional that may be a secret is not echoed", () => {
    expect(parseArgv(["pul-0123456789abcdef"]).problems).toEqual([
      "unexpected argument at position 1; commands: run, demo, check",
    ]);
    expect(parseArgv(["run", "x".repeat(40)]).problems).toEqual([
      "unexpected argument at position 2; commands: run, demo, check",
    ]);
  });

  test("help and version", () => {
    expect(parseArgv(["-h"]).help).toBe(true);
    expect(parseArgv(["demo", "--help"]).help).toBe(true);
    expect(parseArgv(["--version"]).version).toBe(true);
    expect(parseArgv(["--otlp.insecure"]).help).toBe(false);
  });

  test("after --, everything is positional", () => {
    const parsed = parseArgv(["--", "--help"]);
    expect(parsed.help).toBe(false);
    expect(parsed.problems).toEqual(["unexpected argument at position 2; commands: run, demo, check"]);
  });

  test("unknown flags: long, short, with value, negated", () => {
    expect(parseArgv(["--otlp.endpoint.x=1", "-v", "--no-such"]).problems).toEqual([
      "unknown flag --otlp.endpoint.x (did you mean --otlp.endpoint?)",
      "unknown flag -v",
      "unknown flag --no-such",
    ]);
  });
});

describe("closest", () => {
  test("suggests within a few edits only", () => {
    expect(closest("pulumi.organisations", ["pulumi.organizations", "pulumi.api-url"])).toBe(
      "pulumi.organizations",
    );
    expect(closest("web.listen", ["web.listen-address"])).toBeUndefined();
    expect(closest("zzz", ["pulumi.api-url"])).toBeUndefined();
  });
});
