/**
 * TLS credentials for OTLP/gRPC that also work with an IP address endpoint (`https://10.0.0.7:4317`).
 *
 * grpc-js always passes the endpoint's host to `tls.connect` as `servername` (SNI). Node only warns when that is
 * an IP address (RFC 6066 allows host names only); Bun refuses the connection, so every export failed with
 * "Setting the TLS ServerName to an IP address is not permitted". Without `servername`, `tls.connect` sends no
 * SNI and still verifies the certificate against the host, that is against the certificate's IP addresses.
 */
import { isIP } from "node:net";
import * as grpc from "@grpc/grpc-js";

type SecureConnector = ReturnType<grpc.ChannelCredentials["_createSecureConnector"]>;

class IpServernameSafeCredentials extends grpc.ChannelCredentials {
  readonly #inner: grpc.ChannelCredentials;

  constructor(inner: grpc.ChannelCredentials) {
    super();
    this.#inner = inner;
  }

  _isSecure(): boolean {
    return this.#inner._isSecure();
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(
    ...args: Parameters<grpc.ChannelCredentials["_createSecureConnector"]>
  ): SecureConnector {
    const connector = this.#inner._createSecureConnector(...args);
    // grpc-js keeps the options it hands to tls.connect on the connector.
    const options = (connector as { connectionOptions?: { servername?: string } }).connectionOptions;
    if (options?.servername !== undefined && isIP(options.servername) !== 0) delete options.servername;
    return connector;
  }
}

/** `grpc.credentials.createSsl(ca)`, usable with an IP address endpoint under Bun. */
export function createGrpcTlsCredentials(ca: Buffer | null): grpc.ChannelCredentials {
  return new IpServernameSafeCredentials(grpc.credentials.createSsl(ca));
}
