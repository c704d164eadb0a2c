/** Values of a loaded configuration that must never be printed, for the logger's `secrets` option. */
import type { Config } from "./types.ts";

/** Header names whose values are credentials (Authorization, X-API-Key, DD-API-KEY, api-token, Cookie, ...). */
const SENSITIVE_HEADER = /auth|key|token|secret|passw|cookie|credential/i;

export function configSecrets(config: Config): string[] {
  const secrets = [config.pulumi.accessToken];
  if (config.webhook !== undefined) secrets.push(config.webhook.secret);
  for (const [name, value] of Object.entries(config.otlp.headers)) {
    if (SENSITIVE_HEADER.test(name)) {
      secrets.push(value);
      // "Bearer abc" is also printed as "abc" on its own.
      const credential = value.split(" ").at(-1);
      if (credential !== undefined && credential !== value) secrets.push(credential);
    }
  }
  return [...new Set(secrets.filter((secret) => secret.length > 0))];
}
