#!/bin/sh
# Assembles the root filesystem of the container image: the binary at /pulumi-exporter, the shared libraries and
# other host files listed in files.txt for one architecture, and the nonroot user (65532).
#
#   assemble.sh <arch> <binary> <outdir>
#
# arch is a Docker TARGETARCH (amd64 or arm64). Listed files are read from the running system, or from $SYSROOT
# when set (a root filesystem of the target architecture). The Dockerfile and the tests both use this script, so
# the image and what the tests check cannot drift apart.
set -eu

usage() {
  echo "usage: assemble.sh <amd64|arm64> <binary> <outdir>" >&2
  exit 2
}

[ "$#" -eq 3 ] || usage
arch=$1
binary=$2
out=$3
sysroot=${SYSROOT:-}
here=$(cd "$(dirname "$0")" && pwd)

case "$arch" in
  amd64 | arm64) ;;
  *)
    echo "assemble.sh: unsupported architecture '$arch' (expected amd64 or arm64)" >&2
    exit 2
    ;;
esac
[ -f "$binary" ] || {
  echo "assemble.sh: binary '$binary' not found" >&2
  exit 1
}

# Prints where a listed path's file is, following symbolic links as the target system would: an absolute link
# (Debian's /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...) points inside $sysroot, not at the host.
locate() {
  path=$1
  hops=0
  while [ -L "$sysroot$path" ]; do
    hops=$((hops + 1))
    if [ "$hops" -gt 40 ]; then
      echo "assemble.sh: too many levels of symbolic links at $sysroot$1" >&2
      return 1
    fi
    link=$(readlink "$sysroot$path")
    case "$link" in
      /*) path=$link ;;
      *) path=$(dirname "$path")/$link ;;
    esac
  done
  printf '%s\n' "$sysroot$path"
}

mkdir -p "$out"

missing=0
count=0
# The list ends without a newline at worst; `|| [ -n ... ]` still reads its last line.
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    '' | '#'*) continue ;;
  esac
  # Split "<arch> <path>" into fields; -f keeps the `*` arch from globbing.
  set -f
  # shellcheck disable=SC2086
  set -- $line
  set +f
  if [ "$#" -ne 2 ]; then
    echo "assemble.sh: malformed line in files.txt: '$line'" >&2
    exit 1
  fi
  case "$1" in
    "$arch" | '*') ;;
    *) continue ;;
  esac
  src=$(locate "$2")
  if [ ! -f "$src" ]; then
    echo "assemble.sh: $sysroot$2 is missing (listed for $arch in files.txt)" >&2
    missing=$((missing + 1))
    continue
  fi
  mkdir -p "$out$(dirname "$2")"
  # The image gets the file itself, at the listed path: a scratch image has no merged-/usr links to follow.
  cp -L "$src" "$out$2"
  count=$((count + 1))
done <"$here/files.txt"

if [ "$missing" -gt 0 ]; then
  echo "assemble.sh: $missing listed file(s) missing for $arch" >&2
  exit 1
fi
if [ "$count" -eq 0 ]; then
  echo "assemble.sh: files.txt lists nothing for $arch" >&2
  exit 1
fi

mkdir -p "$out/etc"
cp "$here/passwd" "$here/group" "$here/nsswitch.conf" "$out/etc/"
chmod 0644 "$out/etc/passwd" "$out/etc/group" "$out/etc/nsswitch.conf"

cp "$binary" "$out/pulumi-exporter"
chmod 0755 "$out/pulumi-exporter"

# A scratch image has no /tmp; Bun writes temporary files to $TMPDIR (default /tmp). Sticky and world-writable
# like a real /tmp, so any --user works; the nonroot home belongs to 65532.
mkdir -p "$out/tmp" "$out/home/nonroot"
chmod 1777 "$out/tmp"
chmod 0700 "$out/home/nonroot"
if [ "$(id -u)" -eq 0 ]; then
  chown 65532:65532 "$out/home/nonroot"
fi

echo "assemble.sh: $arch root filesystem in $out ($count listed files)"
