/** Go `time.ParseDuration` syntax ("90s", "5m", "1h30m", "500ms"), in milliseconds, as the Go exporter accepts. */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds, or undefined when `text` is not a Go duration. Zero and negative durations parse; callers decide. */
export function parseDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest.startsWith("-")) sign = -1;
    rest = rest.slice(1);
  }
  // Go accepts a bare "0" without a unit, and nothing else unitless.
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest.length > 0) {
    const match = TERM.exec(rest);
    if (match === null) return undefined;
    const [whole, amount, unit] = match;
    if (amount === undefined || unit === undefined) return undefined;
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
    rest = rest.slice(whole.length);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

/** A compact Go-style rendering of milliseconds: 90000 → "1m30s", 500 → "500ms", -5000 → "-5s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Number(ms.toFixed(6))}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  let out = "";
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0 || (hours > 0 && seconds > 0)) out += `${minutes}m`;
  if (seconds > 0 || out === "") out += `${seconds}s`;
  return out;
}
