/** The one error of the configuration layer: every problem found, reported together, exit code 2 (usage). */

/** "invalid configuration:" followed by one indented line per problem. */
export function formatProblems(problems: readonly string[]): string {
  return [
    "invalid configuration:",
    ...problems.map((problem) => `  - ${problem.replace(/[\r\n]+/g, " ")}`),
  ].join("\n");
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly exitCode = 2;
  readonly problems: string[];

  constructor(problems: readonly string[]) {
    super(formatProblems(problems));
    this.problems = [...problems];
  }
}
