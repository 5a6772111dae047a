#!/usr/bin/env bash
# Vendors the console's front-end libraries from npm into services/console/static/vendor/ (committed: the
# platform serves them itself, no CDN, no build step). Pinned by version and by the tarball's SHA-256.
# Run again only to upgrade: change the version and hash, run, review the diff, commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=services/console/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

vendor() {  # name version sha256 files...
  local name=$1 version=$2 sha=$3; shift 3
  (cd "$WORK" && npm pack --silent "$name@$version" >/dev/null)
  local tgz="$WORK/$name-$version.tgz"
  echo "$sha  $tgz" | sha256sum -c --quiet - || { echo "$name $version: tarball hash differs" >&2; exit 1; }
  rm -rf "${DEST:?}/$name" && mkdir -p "$DEST/$name"
  tar xzf "$tgz" -C "$WORK"
  for f in "$@"; do
    mkdir -p "$DEST/$name/$(dirname "$f")"
    cp "$WORK/package/$f" "$DEST/$name/$f"
  done
  echo "$name@$version" > "$DEST/$name/VERSION"
  rm -rf "$WORK/package"
}

vendor leaflet 1.9.4 84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77 \
  LICENSE dist/leaflet.js dist/leaflet.css dist/images/layers.png dist/images/layers-2x.png \
  dist/images/marker-icon.png dist/images/marker-icon-2x.png dist/images/marker-shadow.png
echo "vendored into $DEST"
