/**
 * The state file cannot be used safely: it is in use by another process, or it holds something that is not a state
 * of ours and cannot be moved aside. The exporter refuses to start rather than overwrite or share it.
 */
export class StateFileError extends Error {
  override readonly name = "StateFileError";
}
