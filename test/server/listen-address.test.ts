import { describe, expect, test } from "bun:test";
import { parseListenAddress } from "../../src/server/listen-address.ts";
import { ListenAddressError } from "../../src/server/listen-address-error.ts";

describe("parseListenAddress", () => {
  test.each([
    [":8080", 8080],
    [":0", 0],
  ])("an empty host (%p) is every interface, dual-stack, with IPv4 as the fallback", (address, port) => {
    expect(parseListenAddress(address)).toEqual({ hostname: "::", port, fallbackHostname: "0.0.0.0" });
  });

  test.each([
    ["127.0.0.1:0", "127.0.0.1", 0],
    ["0.0.0.0:8080", "0.0.0.0", 8080],
    ["localhost:9100", "localhost", 9100],
    ["exporter.internal:65535", "exporter.internal", 65535],
    ["[::1]:9000", "::1", 9000],
    ["[::]:8080", "::", 8080],
    ["[fe80::1%eth0]:80", "fe80::1%eth0", 80],
  ])("%p → %p port %p", (address, hostname, port) => {
    expect(parseListenAddress(address)).toEqual({ hostname, port });
  });

  test.each([
    ["", "missing port"],
    ["8080", "missing port"],
    ["localhost", "missing port"],
    [":", "the port must be a number"],
    [":http", "the port must be a number"],
    [":-1", "the port must be a number"],
    [":8080x", "the port must be a number"],
    [":123456", "the port must be a number"],
    [":65536", "the port must be at most 65535"],
    ["::1:9000", "an IPv6 address must be in brackets"],
    ["[::1]", "missing port"],
    ["[::1]9000", "missing port"],
    ["[::1:9000", "missing ']' after the IPv6 address"],
    ["[]:9000", "empty IPv6 address"],
    ["local host:80", "invalid host"],
    ["http://localhost:80", "a URL is not a listen address"],
    ["local/host:80", "invalid host"],
  ])("%p is rejected: %s", (address, reason) => {
    expect(() => parseListenAddress(address)).toThrow(ListenAddressError);
    expect(() => parseListenAddress(address)).toThrow(
      `invalid listen address ${JSON.stringify(address)}: ${reason} (expected host:port, e.g. ":8080", "127.0.0.1:8080" or "[::1]:8080")`,
    );
  });
});
