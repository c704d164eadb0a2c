/** `sha256sum` files: one `<64 hex digits>  <file name>` line per file. */

export class ChecksumsError extends Error {
  override name = "ChecksumsError";
}

const LINE = /^([0-9a-fA-F]{64}) [ *](\S.*)$/;

/** File name → lowercase SHA-256. Blank lines are allowed; anything else malformed is an error naming its line. */
export function parseChecksums(text: string, source = "checksums file"): Map<string, string> {
  const sums = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === "") return;
    const match = LINE.exec(line);
    if (!match) {
      throw new ChecksumsError(
        `${source} line ${index + 1} is not "<sha256>  <file>": ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    const [, sum = "", name = ""] = match;
    const previous = sums.get(name);
    if (previous !== undefined && previous !== sum.toLowerCase()) {
      throw new ChecksumsError(`${source} lists ${name} twice with different checksums`);
    }
    sums.set(name, sum.toLowerCase());
  });
  return sums;
}

/** The same format `sha256sum` writes (text mode), sorted by file name so the file is reproducible. */
export function formatChecksums(sums: ReadonlyMap<string, string>): string {
  return [...sums]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sum]) => `${sum}  ${name}\n`)
    .join("");
}
