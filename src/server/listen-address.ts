/** Go-style listen addresses (`:8080`, `127.0.0.1:0`, `[::1]:9000`), the contract of `--web.listen-address`. */
import { ListenAddressError } from "./listen-address-error.ts";

export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
  /** Where to listen instead when `hostname` cannot be bound (an empty host on a machine without IPv6). */
  readonly fallbackHostname?: string;
}

/**
 * Where an empty host (`:8080`) listens: every interface, as in Go. `::` is dual-stack on Linux, macOS and
 * Windows (IPv4 clients arrive as mapped addresses); where IPv6 is off, every IPv4 interface instead.
 */
export const ALL_INTERFACES = "::";
export const ALL_IPV4_INTERFACES = "0.0.0.0";

/** `host:port` with an IPv6 host in brackets, as in a URL. */
export function formatHostPort(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

export function parseListenAddress(address: string): ListenAddress {
  if (address.includes("://")) throw new ListenAddressError(address, "a URL is not a listen address");
  let host: string;
  let portText: string;
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    if (close === -1) throw new ListenAddressError(address, "missing ']' after the IPv6 address");
    if (address[close + 1] !== ":") throw new ListenAddressError(address, "missing port");
    host = address.slice(1, close);
    portText = address.slice(close + 2);
    if (host === "") throw new ListenAddressError(address, "empty IPv6 address");
  } else {
    const colon = address.lastIndexOf(":");
    if (colon === -1) throw new ListenAddressError(address, "missing port");
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(":")) throw new ListenAddressError(address, "an IPv6 address must be in brackets");
    if (/[\s/[\]]/.test(host)) throw new ListenAddressError(address, "invalid host");
  }
  if (!/^\d{1,5}$/.test(portText)) throw new ListenAddressError(address, "the port must be a number");
  const port = Number(portText);
  if (port > 65535) throw new ListenAddressError(address, "the port must be at most 65535");
  return host === ""
    ? { hostname: ALL_INTERFACES, port, fallbackHostname: ALL_IPV4_INTERFACES }
    : { hostname: host, port };
}
