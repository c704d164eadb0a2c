/** File access of the configuration layer (the config file, the token file, certificates), injectable for tests. */
import { readFileSync, statSync } from "node:fs";

export interface ConfigFs {
  /** The file's text; throws a Node.js system error (with `code`) when it cannot be read. */
  readFile(path: string): string;
  /** Permission bits (`stat().mode`), or undefined when unknown. */
  mode(path: string): number | undefined;
}

export const nodeConfigFs: ConfigFs = {
  readFile: (path) => readFileSync(path, "utf8"),
  mode: (path) => {
    try {
      return statSync(path).mode;
    } catch {
      return undefined;
    }
  },
};

function describeFsError(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return error instanceof Error ? (error.message.split("\n")[0] ?? code) : String(error);
  }
}

/** The file's text, or why it cannot be read in a few words (`no such file`, `permission denied`). */
export function tryRead(
  fs: ConfigFs,
  path: string,
): { ok: true; text: string } | { ok: false; reason: string } {
  try {
    return { ok: true, text: fs.readFile(path) };
  } catch (error) {
    return { ok: false, reason: describeFsError(error) };
  }
}
