#!/usr/bin/env bash
# Makes sure the container engine has the runtime stage's base image, debian:bookworm-slim.
#   scripts/container-base.sh ENGINE
# Pulled from the registry when it is reachable; otherwise built once from Debian's own mirror with
# debootstrap (minbase, about 4 minutes and 200 MB) and imported under the same name, so the Dockerfile
# reads the same either way. The image stays in the engine's storage for the next run.
set -euo pipefail
engine="${1:?usage: container-base.sh podman|docker}"
BASE=docker.io/library/debian:bookworm-slim

if "$engine" image exists "$BASE" 2>/dev/null || "$engine" image inspect "$BASE" >/dev/null 2>&1; then
  exit 0
fi
if timeout 60 "$engine" pull -q "$BASE" >/dev/null 2>&1; then
  exit 0
fi
echo "==> the registry is unreachable: building $BASE from Debian's mirror with debootstrap (once)"
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
mirror="${mirror:-$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)}"
mirror="${mirror:-http://deb.debian.org/debian}"
rootfs="$(mktemp -d /tmp/parley-debian-rootfs-XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
# What the official slim image leaves out too: package lists and caches, documentation, manuals, locales.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
tar -C "$rootfs" -c . | "$engine" import --change 'CMD ["bash"]' - "$BASE" >/dev/null
echo "==> $BASE imported"
