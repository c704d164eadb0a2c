/** Go-style listen addresses (`:8080`, `127.0.0.1:0`, `[::1]:9000`), the contract of `--web.listen-address`. */
import { ListenAddressError } from "./listen-address-error.ts";

export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** Where an empty host (`:8080`) listens: every IPv4 interface. */
export const ALL_INTERFACES = "0.0.0.0";

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
  return { hostname: host === "" ? ALL_INTERFACES : host, port };
}
