/** Build information. `scripts/build.ts` replaces these with `--define` when compiling the binary. */
declare const PULUMI_EXPORTER_VERSION: string | undefined;
declare const PULUMI_EXPORTER_COMMIT: string | undefined;
declare const PULUMI_EXPORTER_BUILD_DATE: string | undefined;

export const VERSION: string =
  typeof PULUMI_EXPORTER_VERSION === "string" ? PULUMI_EXPORTER_VERSION : "0.1.0-dev";
export const COMMIT: string = typeof PULUMI_EXPORTER_COMMIT === "string" ? PULUMI_EXPORTER_COMMIT : "unknown";
export const BUILD_DATE: string =
  typeof PULUMI_EXPORTER_BUILD_DATE === "string" ? PULUMI_EXPORTER_BUILD_DATE : "unknown";
