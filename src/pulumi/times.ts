/**
 * The two time formats of a deployment: `created`/`modified` are `2026-05-20 11:57:05.650` (UTC, no zone, not
 * RFC 3339), the jobs' `started`/`lastUpdated` are RFC 3339. Both parse to Unix milliseconds here, digits checked
 * field by field: `Date.parse` accepts other shapes and engines differ on impossible dates such as 02-30.
 */

const DB_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const RFC_3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds of a UTC calendar time, or undefined when a field is out of range (month 13, Feb 30, 24:00). */
function utcMs(parts: readonly (string | undefined)[]): number | undefined {
  const [year, month, day, hour, minute, second] = parts.slice(0, 6).map(Number) as number[];
  const fraction = (parts[6] ?? "").padEnd(3, "0").slice(0, 3);
  const ms = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second, Number(fraction));
  const d = new Date(ms);
  const same =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === (month as number) - 1 &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second;
  return same ? ms : undefined;
}

/** `2026-05-20 11:57:05.650` (UTC) as Unix milliseconds; undefined when it is not that shape or no real time. */
export function parseDbTime(text: string): number | undefined {
  const match = DB_TIME.exec(text);
  return match ? utcMs(match.slice(1)) : undefined;
}

/** An RFC 3339 time (`2026-05-20T11:57:05.650Z`, `…+02:00`) as Unix milliseconds; undefined when it is not one. */
export function parseRfc3339(text: string): number | undefined {
  const match = RFC_3339.exec(text);
  if (!match) return undefined;
  const local = utcMs(match.slice(1, 8));
  if (local === undefined) return undefined;
  if (match[8] !== undefined) return local;
  const hours = Number(match[10]);
  const minutes = Number(match[11]);
  if (hours > 23 || minutes > 59) return undefined;
  const offsetMs = (hours * 60 + minutes) * 60_000;
  return match[9] === "-" ? local + offsetMs : local - offsetMs;
}
