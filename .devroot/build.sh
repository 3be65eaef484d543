#!/usr/bin/env bash
# Build the Debian trixie development root with debootstrap.
# Usage: build.sh TARGET_DIR   (run as root on the host; called by .devroot/enter)
set -euo pipefail
target=$1
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEVROOT_MIRROR:-http://deb.debian.org/debian}
suite=trixie

command -v debootstrap >/dev/null || {
  echo "devroot: installing debootstrap on the host" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

rm -rf "$target"
mkdir -p "$target"
echo "devroot: debootstrap $suite into $target (once; a few minutes)" >&2
debootstrap --variant=minbase --components=main "$suite" "$target" "$mirror" >&2

# Trust the host's extra CA certificates (TLS-inspecting proxies).
mkdir -p "$target/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$target/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/resolv.conf "$target/etc/resolv.conf"

# Do not start services while installing; the root is not a booted system.
printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
chmod +x "$target/usr/sbin/policy-rc.d"

packages=$(grep -v '^\s*#' "$here/packages.txt" | xargs)
in_root() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
mount -t proc proc "$target/proc"
trap 'umount "$target/proc" 2>/dev/null || true' EXIT
in_root apt-get update -qq >&2
# The Debian postgresql-common package would create a default cluster: we manage our own.
in_root sh -c 'mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf'
# shellcheck disable=SC2086
in_root apt-get install -y -qq --no-install-recommends $packages >&2
in_root update-ca-certificates >/dev/null
in_root apt-get clean
umount "$target/proc"; trap - EXIT
echo "devroot: base root ready" >&2
