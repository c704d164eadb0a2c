/** Every kind of bad input, one case at a time: the exact problem, naming its source, and never the token. */
import { describe, expect, test } from "bun:test";
import { expectProblems, load, TOKEN, tempDir, writeTemp } from "./support.ts";

const dir = tempDir();
const ORG = "--pulumi.organizations=acme";
const WITH_TOKEN = { PULUMI_ACCESS_TOKEN: TOKEN };

/** Asserts the exact problem list, and that the token appears in none of them. */
function problemsOf(argv: string[], env: Record<string, string> = WITH_TOKEN): string[] {
  const problems = expectProblems(load(argv, env));
  for (const problem of problems) expect(problem).not.toContain(TOKEN);
  return problems;
}

describe("values out of range or of the wrong form", () => {
  test("unknown protocol", () => {
    expect(problemsOf([ORG, "--otlp.protocol=udp"])).toEqual([
      '--otlp.protocol: must be "grpc", "http/json" or "http/protobuf" (got "udp")',
    ]);
  });

  test("unknown protocol from the signal-specific variable names that variable", () => {
    expect(problemsOf([ORG], { ...WITH_TOKEN, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http" })).toEqual([
      'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: must be "grpc", "http/json" or "http/protobuf" (got "http")',
    ]);
  });

  test("concurrency 0", () => {
    expect(problemsOf([ORG, "--pulumi.max-concurrency=0"])).toEqual([
      "--pulumi.max-concurrency: must be between 1 and 100 (got 0)",
    ]);
  });

  test("concurrency 101", () => {
    expect(problemsOf([ORG], { ...WITH_TOKEN, PULUMI_MAX_CONCURRENCY: "101" })).toEqual([
      "PULUMI_MAX_CONCURRENCY: must be between 1 and 100 (got 101)",
    ]);
  });

  test("concurrency that is not an integer", () => {
    expect(problemsOf([ORG, "--pulumi.max-concurrency", "2.5"])).toEqual([
      '--pulumi.max-concurrency: must be an integer (got "2.5")',
    ]);
  });

  test("negative interval", () => {
    expect(problemsOf([ORG, "--pulumi.collect-interval=-5s"])).toEqual([
      "--pulumi.collect-interval: must be greater than 0 (got -5s)",
    ]);
  });

  test("zero interval", () => {
    expect(problemsOf([ORG], { ...WITH_TOKEN, PULUMI_COLLECT_INTERVAL: "0" })).toEqual([
      "PULUMI_COLLECT_INTERVAL: must be greater than 0 (got 0s)",
    ]);
  });

  test("unparsable interval", () => {
    expect(problemsOf([ORG, "--pulumi.collect-interval", "5 minutes"])).toEqual([
      '--pulumi.collect-interval: invalid duration (got "5 minutes"): use Go syntax such as 90s, 5m, 1h30m or 500ms',
    ]);
  });

  test("a unitless interval is not a duration (only the OTel timeout takes milliseconds)", () => {
    expect(problemsOf([ORG, "--pulumi.collect-interval=60", "--otlp.timeout=2500"])).toEqual([
      '--pulumi.collect-interval: invalid duration (got "60"): use Go syntax such as 90s, 5m, 1h30m or 500ms',
    ]);
  });

  test("boolean that is neither true nor false", () => {
    expect(problemsOf([ORG], { ...WITH_TOKEN, OTEL_EXPORTER_OTLP_INSECURE: "yes" })).toEqual([
      'OTEL_EXPORTER_OTLP_INSECURE: must be true or false (got "yes")',
    ]);
  });

  test("API URL that is not http(s)", () => {
    expect(problemsOf([ORG, "--pulumi.api-url=ftp://api.example"])).toEqual([
      '--pulumi.api-url: must be an http:// or https:// URL (got "ftp://api.example")',
    ]);
  });

  test("metrics endpoint that is not a URL", () => {
    expect(
      problemsOf([ORG], { ...WITH_TOKEN, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "collector:4318" }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: must be an http:// or https:// URL (got "collector:4318")',
    ]);
  });

  test("endpoint with a bad port, listen address without a port, URL path without a slash", () => {
    expect(
      problemsOf([
        ORG,
        "--otlp.endpoint=collector:99999",
        "--web.listen-address=8080",
        "--otlp.url-path=v1/metrics",
      ]),
    ).toEqual([
      '--otlp.endpoint: must be host:port or an http:// or https:// URL (got "collector:99999")',
      '--otlp.url-path: must be a path starting with / (got "v1/metrics")',
      '--web.listen-address: must be [host]:port, such as :8080 or 127.0.0.1:8080 (got "8080")',
    ]);
  });

  test("unknown log level", () => {
    expect(problemsOf([ORG, "--log.level=verbose"])).toEqual([
      '--log.level: must be "debug", "error", "info" or "warn" (got "verbose")',
    ]);
  });
});

describe("organizations", () => {
  test('an empty entry in "a,,b"', () => {
    expect(problemsOf(["--pulumi.organizations=a,,b"])).toEqual([
      "--pulumi.organizations: organization 2 of 3 is empty",
    ]);
  });

  test('only whitespace: " "', () => {
    expect(problemsOf([], { ...WITH_TOKEN, PULUMI_ORGANIZATIONS: " " })).toEqual([
      "PULUMI_ORGANIZATIONS: organization 1 of 1 is empty",
    ]);
  });

  test("an explicitly empty flag", () => {
    expect(problemsOf(["--pulumi.organizations="])).toEqual([
      "--pulumi.organizations: organization 1 of 1 is empty",
    ]);
  });

  test("none at all", () => {
    expect(problemsOf([])).toEqual([
      "--pulumi.organizations: at least one organization is required; set --pulumi.organizations, PULUMI_ORGANIZATIONS or pulumi.organizations in the config file",
    ]);
  });

  test("an empty variable counts as unset", () => {
    expect(problemsOf([], { ...WITH_TOKEN, PULUMI_ORGANIZATIONS: "" })[0]).toStartWith(
      "--pulumi.organizations: at least one organization is required",
    );
  });

  test("a name with a space", () => {
    expect(problemsOf(["--pulumi.organizations", "my org"])).toEqual([
      '--pulumi.organizations: organization "my org" must not contain spaces or "/"',
    ]);
  });

  // ".." made requests to /api/members and /api/teams: the URL parser resolves /api/orgs/../teams.
  test('"." and "..": one problem each, listed with the other problems', () => {
    expect(problemsOf(["--pulumi.organizations=.,acme,..,a/b,", "--pulumi.max-concurrency=0"])).toEqual([
      '--pulumi.organizations: organization "." is not a valid name (must not be "." or "..")',
      '--pulumi.organizations: organization ".." is not a valid name (must not be "." or "..")',
      '--pulumi.organizations: organization "a/b" must not contain spaces or "/"',
      "--pulumi.organizations: organization 5 of 5 is empty",
      "--pulumi.max-concurrency: must be between 1 and 100 (got 0)",
    ]);
  });

  test('".." from the environment and from the config file', () => {
    expect(problemsOf([], { ...WITH_TOKEN, PULUMI_ORGANIZATIONS: ".." })).toEqual([
      'PULUMI_ORGANIZATIONS: organization ".." is not a valid name (must not be "." or "..")',
    ]);
    const path = writeTemp(dir, 'pulumi:\n  organizations: [acme, "."]\n');
    expect(problemsOf([`--config.file=${path}`])).toEqual([
      `${path}:2: pulumi.organizations: organization "." is not a valid name (must not be "." or "..")`,
    ]);
  });
});

describe("access token", () => {
  test("missing", () => {
    expect(problemsOf([ORG], {})).toEqual([
      "--pulumi.access-token: is required; set --pulumi.access-token, --pulumi.access-token-file, PULUMI_ACCESS_TOKEN, PULUMI_ACCESS_TOKEN_FILE or pulumi.access-token or pulumi.access-token-file in the config file",
    ]);
  });

  test("with a line break inside, without quoting it", () => {
    const token = `${TOKEN}\nX-Injected: 1`;
    const problems = expectProblems(load([ORG], { PULUMI_ACCESS_TOKEN: token }));
    expect(problems).toEqual(["PULUMI_ACCESS_TOKEN: must not contain whitespace or line breaks"]);
  });

  test("unreadable token file: missing", () => {
    const path = `${dir}/no-such-token`;
    expect(problemsOf([ORG, `--pulumi.access-token-file=${path}`], {})).toEqual([
      `--pulumi.access-token-file: cannot read ${path}: no such file`,
    ]);
  });

  test("unreadable token file: a directory", () => {
    expect(problemsOf([ORG], { PULUMI_ACCESS_TOKEN_FILE: dir })).toEqual([
      `PULUMI_ACCESS_TOKEN_FILE: cannot read ${dir}: is a directory`,
    ]);
  });

  test("empty token file", () => {
    const path = writeTemp(dir, "\n");
    expect(problemsOf([ORG, "--pulumi.access-token-file", path], {})).toEqual([
      `--pulumi.access-token-file: ${path} is empty`,
    ]);
  });

  test("token and token file at the same level", () => {
    const path = writeTemp(dir, `${TOKEN}\n`);
    expect(problemsOf([ORG], { PULUMI_ACCESS_TOKEN: TOKEN, PULUMI_ACCESS_TOKEN_FILE: path })).toEqual([
      "PULUMI_ACCESS_TOKEN and PULUMI_ACCESS_TOKEN_FILE are both set; use one",
    ]);
  });
});

describe("headers", () => {
  test("a pair without '='", () => {
    expect(problemsOf([ORG], { ...WITH_TOKEN, OTEL_EXPORTER_OTLP_HEADERS: "api-key=1,Bearer abc" })).toEqual([
      "OTEL_EXPORTER_OTLP_HEADERS: entry 2 of 2 is not key=value",
    ]);
  });

  test("an empty key", () => {
    expect(problemsOf([ORG, "--otlp.headers==secret"])).toEqual([
      "--otlp.headers: entry 1 of 1 has an empty key",
    ]);
  });

  test("bad percent-encoding names the header, not the value", () => {
    expect(problemsOf([ORG, "--otlp.headers=api-key=abc%zz"])).toEqual([
      "--otlp.headers: entry 1 of 1 (api-key) has an invalid percent-encoding",
    ]);
  });

  test("a value with CR/LF (percent-encoded), without quoting the value", () => {
    const problems = problemsOf([ORG], {
      ...WITH_TOKEN,
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: "authorization=Bearer%20sekrit%0D%0AX-Evil:%201",
    });
    expect(problems).toEqual([
      'OTEL_EXPORTER_OTLP_METRICS_HEADERS: value of header "authorization" must not contain CR, LF or NUL',
    ]);
    expect(problems[0]).not.toContain("sekrit");
  });

  test("a value with a line feed in the YAML file", () => {
    const path = writeTemp(dir, 'otlp:\n  headers:\n    x-api-key: "abc\\ndef"\n');
    expect(problemsOf([ORG, "--config.file", path])).toEqual([
      `${path}:2: otlp.headers: value of header "x-api-key" must not contain CR, LF or NUL`,
    ]);
  });

  test("an invalid header name", () => {
    expect(problemsOf([ORG, "--otlp.headers=bad name=1"])).toEqual([
      '--otlp.headers: "bad name" is not a valid header name',
    ]);
  });
});

describe("the config file", () => {
  test("unreadable", () => {
    const path = `${dir}/missing.yaml`;
    expect(problemsOf([ORG, "--config.file", path])).toEqual([
      `--config.file: cannot read ${path}: no such file`,
    ]);
  });

  test("unreadable: nothing is reported missing, the file may hold it", () => {
    const path = `${dir}/missing.yaml`;
    expect(problemsOf(["--config.file", path], {})).toEqual([
      `--config.file: cannot read ${path}: no such file`,
    ]);
  });

  test("unreadable, named by PULUMI_EXPORTER_CONFIG_FILE", () => {
    const path = `${dir}/missing.yaml`;
    expect(problemsOf([ORG], { ...WITH_TOKEN, PULUMI_EXPORTER_CONFIG_FILE: path })).toEqual([
      `PULUMI_EXPORTER_CONFIG_FILE: cannot read ${path}: no such file`,
    ]);
  });

  // Nothing is reported missing while the file that may set it cannot be read.
  test("YAML syntax error, without the offending line (it may hold the token)", () => {
    const path = writeTemp(dir, `pulumi:\n  access-token: ${TOKEN}: oops\n`);
    expect(problemsOf([ORG, "--config.file", path], {})).toEqual([
      `${path}: YAML syntax error at line 2, column 17: Nested mappings are not allowed in compact mappings`,
    ]);
  });

  test("unknown key, with a suggestion", () => {
    const path = writeTemp(dir, "pulumi:\n  organizations: [acme]\n  collect-intervall: 30s\n");
    expect(problemsOf(["--config.file", path])).toEqual([
      `${path}:3: unknown key pulumi.collect-intervall (did you mean pulumi.collect-interval?)`,
    ]);
  });

  test("unknown section", () => {
    const path = writeTemp(dir, "exporters:\n  endpoint: x\n");
    expect(problemsOf([ORG, "--config.file", path])).toEqual([`${path}:1: unknown key exporters`]);
  });

  test("wrong types", () => {
    const path = writeTemp(
      dir,
      [
        "pulumi:",
        "  max-concurrency: ten",
        "  organizations: acme",
        "  collect-interval: 60",
        "otlp:",
        '  insecure: "yes"',
        "  headers: [a]",
        "web: 8080",
        "",
      ].join("\n"),
    );
    expect(problemsOf(["--config.file", path])).toEqual([
      `${path}:2: pulumi.max-concurrency: expected an integer, got a string`,
      `${path}:3: pulumi.organizations: expected a list of strings, got a string`,
      `${path}:4: pulumi.collect-interval: expected a duration string such as 1m, got an integer`,
      `${path}:6: otlp.insecure: expected true or false, got a string`,
      `${path}:7: otlp.headers: expected a mapping of names to strings, got a list`,
      `${path}:8: web: expected a mapping, got a number`,
    ]);
  });

  test("a top level that is not a mapping", () => {
    const path = writeTemp(dir, "- pulumi\n");
    expect(problemsOf([ORG, "--config.file", path])).toEqual([
      `${path}: expected a mapping of sections (pulumi, otlp, ...), got a list`,
    ]);
  });

  test("an invalid value in the file names file, line and key", () => {
    const path = writeTemp(dir, "pulumi:\n  organizations: [acme]\n  max-concurrency: 0\n");
    expect(problemsOf(["--config.file", path])).toEqual([
      `${path}:3: pulumi.max-concurrency: must be between 1 and 100 (got 0)`,
    ]);
  });
});

describe("the command line", () => {
  test("unknown flag, with a suggestion", () => {
    expect(problemsOf([ORG, "--otlp.endpoit=x:1"])).toEqual([
      "unknown flag --otlp.endpoit (did you mean --otlp.endpoint?)",
    ]);
  });

  test("unknown flag, no suggestion", () => {
    expect(problemsOf([ORG, "--verbose"])).toEqual(["unknown flag --verbose"]);
  });

  test("a misspelled token flag reports neither flag value nor stray argument verbatim", () => {
    const problems = problemsOf([ORG, "--pulumi.acces-token", TOKEN], {});
    expect(problems).toEqual([
      "unknown flag --pulumi.acces-token (did you mean --pulumi.access-token?)",
      "unexpected argument at position 3; commands: run, demo, check",
    ]);
  });

  test("missing value", () => {
    expect(problemsOf([ORG, "--pulumi.api-url"])).toEqual(["--pulumi.api-url: missing value"]);
  });
});

test("several problems at once are all listed, in table order after parse problems", () => {
  const path = writeTemp(dir, "pulumi:\n  max-concurrency: 101\nlog:\n  levl: debug\n");
  const problems = problemsOf(
    [
      "--config.file",
      path,
      "--pulumi.organizations=a,,b",
      "--otlp.protocol=udp",
      "--pulumi.collect-interval=soon",
      "--bogus",
    ],
    { OTEL_EXPORTER_OTLP_HEADERS: "novalue" },
  );
  expect(problems).toEqual([
    "unknown flag --bogus",
    '--pulumi.collect-interval: invalid duration (got "soon"): use Go syntax such as 90s, 5m, 1h30m or 500ms',
    "OTEL_EXPORTER_OTLP_HEADERS: entry 1 of 1 is not key=value",
    `${path}:4: unknown key log.levl (did you mean log.level?)`,
    "--pulumi.access-token: is required; set --pulumi.access-token, --pulumi.access-token-file, PULUMI_ACCESS_TOKEN, PULUMI_ACCESS_TOKEN_FILE or pulumi.access-token or pulumi.access-token-file in the config file",
    "--pulumi.organizations: organization 2 of 3 is empty",
    `${path}:2: pulumi.max-concurrency: must be between 1 and 100 (got 101)`,
    '--otlp.protocol: must be "grpc", "http/json" or "http/protobuf" (got "udp")',
  ]);
});

test("the token appears in no problem, whatever the failure", () => {
  const tokenFile = writeTemp(dir, `${TOKEN}\n`);
  const yamlWithToken = writeTemp(
    dir,
    `pulumi:\n  access-token: ${TOKEN}\n  max-concurrency: -1\n  bogus: ${TOKEN}\n`,
  );
  const runs: [string[], Record<string, string>][] = [
    [["--pulumi.access-token", TOKEN, "--pulumi.access-token-file", tokenFile], {}],
    [[TOKEN, "extra"], WITH_TOKEN],
    [[`--${TOKEN}`], WITH_TOKEN],
    [[`--config.file=${yamlWithToken}`], {}],
    [[`--otlp.headers=authorization=${TOKEN}%0A`], WITH_TOKEN],
    [[`--otlp.headers=${TOKEN}`], WITH_TOKEN],
    [[ORG, `--pulumi.collect-interval=${TOKEN}`], WITH_TOKEN],
  ];
  for (const [argv, env] of runs) {
    const problems = expectProblems(load(argv, env));
    for (const problem of problems) expect(problem).not.toContain(TOKEN);
  }
});
