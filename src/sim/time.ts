/** Time formats Pulumi Cloud uses. The simulator keeps time as Unix seconds or milliseconds. */

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

/** Deployment `created`/`modified`: `2023-09-19 05:49:43.002` (UTC, not RFC 3339). */
export function formatDbTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** RFC 3339 (`date-time` fields such as a member's `created` or a Neo task's `createdAt`). */
export function formatIsoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses a duration like `50ms`, `10s`, `2m`, `1h` (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`invalid duration "${text}": use a number with ms, s, m or h (e.g. 50ms, 10s)`);
  const value = Number(match[1]);
  const unit = match[2] ?? "ms";
  const factor = unit === "h" ? 3_600_000 : unit === "m" ? 60_000 : unit === "s" ? 1000 : 1;
  return Math.round(value * factor);
}
