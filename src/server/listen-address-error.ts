/** A `--web.listen-address` value that is not `host:port`. */
export class ListenAddressError extends Error {
  override readonly name = "ListenAddressError";
  readonly address: string;

  constructor(address: string, reason: string) {
    super(
      `invalid listen address ${JSON.stringify(address)}: ${reason} (expected host:port, e.g. ":8080", "127.0.0.1:8080" or "[::1]:8080")`,
    );
    this.address = address;
  }
}
