/**
 * A TCP pass-through on 127.0.0.1 that counts the bytes a client sends, to see on the wire what a server library
 * hides (gRPC servers decompress before the handler and drop the grpc-encoding header).
 */
import { connect, createServer, type Socket } from "node:net";

export interface ByteCountingProxy {
  readonly port: number;
  /** Bytes received from clients so far. */
  readonly clientBytes: () => number;
  stop(): Promise<void>;
}

export async function startByteCountingProxy(targetPort: number): Promise<ByteCountingProxy> {
  let clientBytes = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      clientBytes += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no TCP address");
  return {
    port: address.port,
    clientBytes: () => clientBytes,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
