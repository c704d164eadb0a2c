/**
 * `npm ci` on npm 11 warns about every dependency with an install script that `allowScripts` in package.json does
 * not decide. Each one in the lock file is decided: bun's (it links the runtime) runs, protobufjs's (a hint for its
 * CLI, which nothing here uses) does not.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/build.ts";

interface Lock {
  packages: Record<string, { hasInstallScript?: boolean }>;
}

test("every dependency with an install script is approved or denied in allowScripts", () => {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as Lock;
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    allowScripts?: Record<string, boolean>;
  };
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript === true)
    .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
    .sort();
  expect(withScripts).toEqual(["bun", "protobufjs"]);
  expect(pkg.allowScripts).toEqual({ bun: true, protobufjs: false });
});
