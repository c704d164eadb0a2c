#!/usr/bin/env bash
# What the tests need beyond npm, from Debian: Prometheus (and promtool) for the scrape and rule tests, Chromium for
# the page tests, qemu-user and the arm64 C library to run the linux arm64 release binary (test/build/arm64-binary). Installed only when missing; needs root (apt-get), as do the chroot tests of the packaging.
# Used by `npm run test:fresh` and sourced by .ci/run.
#
# The Debian package would start a Prometheus service of its own; the tests start theirs, and nothing here may
# touch a process it did not start. While policy-rc.d exits 101 ("action forbidden"), package scripts start no
# service; any policy the machine had is put back afterwards, also when the script is interrupted.
POLICY_RC=${CI_POLICY_RC:-/usr/sbin/policy-rc.d}
# The arm64 loader's C library, which `qemu-aarch64 -L /` finds under /usr/lib/aarch64-linux-gnu.
ARM64_LIBC=${CI_ARM64_LIBC:-/usr/lib/aarch64-linux-gnu/libc.so.6}
POLICY_RC_SAVED="$POLICY_RC.ci-run-$$"
forbid_service_starts() {
  if [ -e "$POLICY_RC" ] || [ -L "$POLICY_RC" ]; then mv "$POLICY_RC" "$POLICY_RC_SAVED" || return 1; fi
  trap allow_service_starts EXIT
  printf '#!/bin/sh\n# Written by .ci/run for the duration of a package install.\nexit 101\n' >"$POLICY_RC" \
    && chmod 0755 "$POLICY_RC"
}
allow_service_starts() {
  rm -f "$POLICY_RC"
  if [ -e "$POLICY_RC_SAVED" ] || [ -L "$POLICY_RC_SAVED" ]; then mv "$POLICY_RC_SAVED" "$POLICY_RC"; fi
  trap - EXIT
}

install_test_deps() {
  local packages=() installed
  command -v prometheus >/dev/null 2>&1 || packages+=(prometheus)
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v qemu-aarch64 >/dev/null 2>&1 || packages+=(qemu-user)
  [ -e "$ARM64_LIBC" ] || packages+=(libc6:arm64)
  [ "${#packages[@]}" -eq 0 ] && return 0
  if [ "${EUID:-$(id -u)}" -ne 0 ]; then
    echo "installing ${packages[*]} needs root: run as root (or with sudo), or install them with apt-get" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ " ${packages[*]} " == *" libc6:arm64 "* ]]; then
    dpkg --add-architecture arm64 || { echo "dpkg --add-architecture arm64 failed" >&2; return 1; }
  fi
  forbid_service_starts || { echo "cannot write $POLICY_RC" >&2; return 1; }
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  installed=$?
  allow_service_starts
  [ "$installed" -eq 0 ] || { echo "installing ${packages[*]} failed" >&2; return 1; }
}

install_test_deps
