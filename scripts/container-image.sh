#!/usr/bin/env bash
# Builds the container image's runtime stage around this machine's release build, as parley:latest.
#   scripts/container-image.sh ENGINE [TAG]     (run by ./dev.sh image and ./dev.sh test)
# Needs `cargo leptos build --release` done. Stages the binary and the site in ./dist (the build context's
# only input for that stage), makes sure the base image exists (scripts/container-base.sh), builds, and
# prints the image's size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
engine="${1:?usage: container-image.sh podman|docker [TAG]}"
tag="${2:-parley:latest}"
binary="${CARGO_TARGET_DIR:-$HOME/.cache/parley-target}/release/parley"
[ -x "$binary" ] && [ -d target/site/pkg ] || { echo "container-image: no release build (cargo leptos build --release)" >&2; exit 1; }

rm -rf dist && mkdir -p dist
cp "$binary" dist/parley
cp -r target/site dist/site
scripts/container-base.sh "$engine"
# Podman writes OCI images by default, which have no HEALTHCHECK: ask for Docker's format. The base image
# is local either way (pulled or made above): never ask a registry again.
if [ "$engine" = podman ]; then options=(--pull=never --format docker); else options=(--pull=false); fi
"$engine" build --quiet "${options[@]}" --build-arg DIST=prebuilt --target runtime -t "$tag" . >/dev/null
rm -rf dist
size="$("$engine" image inspect "$tag" --format '{{.Size}}')"
echo "==> $tag built: $((size / 1000000)) MB ($size bytes)"
