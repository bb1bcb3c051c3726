#!/usr/bin/env bash
# A minimal Debian root filesystem as a docker image, for machines that cannot pull
# debian:bookworm-slim: debootstrap --variant=minbase, apt caches cleaned, docker import.
#
#   debian-base.sh WORK_DIR IMAGE
set -euo pipefail
work=${1:?WORK_DIR}; image=${2:?IMAGE}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
log() { echo "debian-base: $(date +%T) $*"; }
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -1 || true)
rootfs="$work/debian-rootfs"
rm -rf "$rootfs"; mkdir -p "$work"
log "debootstrap --variant=minbase $DEBIAN_SUITE"
# shellcheck disable=SC2086
debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" $mirror >"$work/debian-debootstrap.log" 2>&1 \
  || { tail -20 "$work/debian-debootstrap.log"; exit 1; }
for m in proc sys dev/pts dev; do umount -l "$rootfs/$m" 2>/dev/null || true; done
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/*
tar -C "$rootfs" --numeric-owner -cf - . | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
rm -rf "$rootfs"
log "done: $image"
