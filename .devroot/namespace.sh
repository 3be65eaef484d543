#!/usr/bin/env bash
# PID 1 of a fresh namespace (see enter): mount what the root needs, then become tini in the root.
set -euo pipefail
root=$1 checkout=$2 shared=$3; shift 3
envs=()
while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
touch "$root/etc/resolv.conf" && mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root$checkout" && mount --bind "$checkout" "$root$checkout"
if [ -d "$shared" ]; then mkdir -p "$root$shared" && mount --bind "$shared" "$root$shared"; fi

exec chroot "$root" /usr/bin/env -i "${envs[@]}" /usr/bin/tini -s -g -- \
  /bin/bash "$checkout/.devroot/inside.sh" "$@"
