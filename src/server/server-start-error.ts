/** The HTTP server could not bind its listen address (port in use, address not available, no permission). */
export class ServerStartError extends Error {
  override readonly name = "ServerStartError";

  constructor(address: string, cause: unknown) {
    super(
      `cannot listen on ${JSON.stringify(address)}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
}
