/** The one error the Pulumi Cloud client throws. Its message names the operation and never carries the token or headers. */
import type { Operation } from "./api.ts";

/** HTTP status, or "error" (no response: connection refused, reset, DNS, TLS) or "timeout" (no answer in time). */
export type PulumiApiStatus = number | "error" | "timeout";

export interface PulumiApiErrorInit {
  operation: Operation;
  status: PulumiApiStatus;
  /** HTTP attempts made for the failing request, retries included. */
  attempts: number;
  /** What went wrong, e.g. `HTTP 503 Service Unavailable`. */
  reason: string;
  /** A short, already scrubbed hint from the response body, e.g. the API's own error message. */
  detail?: string;
}

export class PulumiApiError extends Error {
  override readonly name = "PulumiApiError";
  readonly operation: Operation;
  readonly status: PulumiApiStatus;
  readonly attempts: number;

  constructor(init: PulumiApiErrorInit) {
    const after = init.attempts > 1 ? ` after ${init.attempts} attempts` : "";
    const detail = init.detail ? ` (${init.detail})` : "";
    super(`${init.operation}: ${init.reason}${after}${detail}`);
    this.operation = init.operation;
    this.status = init.status;
    this.attempts = init.attempts;
  }
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** `HTTP 503 Service Unavailable`. The standard phrase, not the server's, so messages read the same everywhere. */
export function describeStatus(status: number, statusText = ""): string {
  const phrase = REASON_PHRASES[status] ?? statusText.trim();
  return phrase ? `HTTP ${status} ${phrase}` : `HTTP ${status}`;
}
