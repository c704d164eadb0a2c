/**
 * The modules loaded on demand (with `import()`) that this process has evaluated so far. Each such module records
 * itself at its top level, so the list is what really ran: had anything imported one statically, it would be on the
 * list from the start. `--log.level=debug` logs the list once the exporter runs and again at shutdown; the binary's
 * tests read it there (test/build/lazy-binary.test.ts).
 */
const loaded: string[] = [];

/** Called at the top level of a module that is loaded on demand. */
export function moduleLoaded(name: string): void {
  if (!loaded.includes(name)) loaded.push(name);
}

/** The on-demand modules evaluated so far, in load order. */
export function loadedModules(): readonly string[] {
  return loaded;
}
