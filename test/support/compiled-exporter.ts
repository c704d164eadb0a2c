/**
 * The compiled exporter binary, built once per test run (bun test runs every file in one process) into a
 * temporary directory, exactly as `npm run build` builds it.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, DEFAULT_ENTRY, readBuildInfo } from "../../scripts/build.ts";

let built: Promise<string> | undefined;

/** Path of the compiled binary; the first call compiles (10–30 s on a small machine). */
export function compiledExporter(): Promise<string> {
  built ??= compile({
    entry: DEFAULT_ENTRY,
    outfile: join(mkdtempSync(join(tmpdir(), "pulumi-exporter-bin-")), "pulumi-exporter"),
    info: readBuildInfo(),
  });
  return built;
}
