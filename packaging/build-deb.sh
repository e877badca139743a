#!/usr/bin/env bash
# Build the Debian binary package from this source tree: packaging/build-deb.sh [OUTDIR]
# (default OUTDIR: build/deb). The tree's files (tracked and new, not ignored ones) are copied
# to a scratch directory with packaging/debian as debian/, then dpkg-buildpackage -us -uc -b runs
# there: the checkout itself is never written to, except OUTDIR.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build/deb}

# Build dependencies (as `make build`), then the packaging tools.
"$SRC/scripts/deps.sh" build
missing=()
command -v dpkg-buildpackage >/dev/null || missing+=(dpkg-dev)
command -v dh >/dev/null || missing+=(debhelper)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "build-deb: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

version=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version)
upstream=${version%-*}
work=$(mktemp -d /tmp/rempart-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/rempart-$upstream
mkdir -p "$tree"

cd "$SRC"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Files git knows or would add, as they are on disk now (uncommitted edits included).
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -C "$tree" -xf -
else
  tar --exclude='./build*' --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi
rm -rf "$tree/debian"
cp -r "$SRC/packaging/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage -us -uc -b)

mkdir -p "$OUT"
for f in "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes; do
  [[ -e "$f" ]] && mv -f "$f" "$OUT/"
done
deb=$(ls "$OUT"/rempart_"${version}"_*.deb)
echo "build-deb: $deb"
dpkg-deb -c "$deb"
