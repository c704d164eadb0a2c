/** The configuration layer: flags > environment > YAML file > defaults, validated, every problem at once. */
export { ConfigError, formatProblems } from "./config-error.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { renderFlagTable, renderHelp, renderVersion } from "./help.ts";
export {
  type ConfigFs,
  type ConfigResult,
  type LoadConfigInput,
  loadConfig,
  nodeConfigFs,
} from "./load-config.ts";
export { OPTIONS, type OptionKind, type OptionName, type OptionSpec, yamlKeys } from "./options.ts";
export { configSecrets } from "./secrets.ts";
export type { Command, Config } from "./types.ts";
