/** How an OTLP export result reads: one rule for the push reader, the export hooks and `check`. */

/**
 * `ExportResultCode.SUCCESS` of @opentelemetry/core, which is not a dependency of ours: the SDK hands results over
 * as `{ code }` (test/metrics/export-result.test.ts pins the value to the SDK's).
 */
export const EXPORT_SUCCESS = 0;

export function exportSucceeded(result: { readonly code: number }): boolean {
  return result.code === EXPORT_SUCCESS;
}
