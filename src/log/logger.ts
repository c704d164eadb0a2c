/** Structured logging: logfmt (default) or JSON lines, with secrets scrubbed from every line. */
import type { LogFormat, LogLevel } from "../config/types.ts";

export type LogFields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** A function is asked on every line, so the level can change while running (a configuration reload). */
  level?: LogLevel | (() => LogLevel);
  format?: LogFormat;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
  /** Values that must never be printed (the access token); each occurrence becomes `[REDACTED]`. */
  secrets?: readonly string[];
  now?: () => Date;
}

function logfmtValue(value: string): string {
  return /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
}

export function formatLine(
  format: LogFormat,
  time: string,
  level: LogLevel,
  msg: string,
  fields: LogFields,
): string {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined && v !== null);
  if (format === "json") {
    return JSON.stringify({ time, level, msg, ...Object.fromEntries(entries) });
  }
  const parts = [`time=${time}`, `level=${level}`, `msg=${logfmtValue(msg)}`];
  for (const [key, value] of entries) parts.push(`${key}=${logfmtValue(String(value))}`);
  return parts.join(" ");
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.replaceAll(secret, "[REDACTED]");
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const threshold = typeof level === "function" ? () => RANK[level()] : () => RANK[level];
  const format = options.format ?? "logfmt";
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const secrets = options.secrets ?? [];
  const now = options.now ?? (() => new Date());
  const emit =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (RANK[level] < threshold()) return;
      write(scrub(formatLine(format, now().toISOString(), level, msg, fields), secrets));
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = createLogger({ write: () => {} });
