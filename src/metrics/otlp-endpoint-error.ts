/** The OTLP endpoint settings cannot be turned into a target. The message names the setting, never a secret. */
export class OtlpEndpointError extends Error {
  override readonly name = "OtlpEndpointError";
  /** The setting at fault, e.g. `endpoint`, `metricsEndpoint`, `headers`. */
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}
