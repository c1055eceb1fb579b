#!/usr/bin/env bash
# Builds the Debian package gputrace_<version>_amd64.deb from a build tree (default ./build,
# or $BUILD_DIR; configured and built here if it is not yet) into ./dist (or $OUT_DIR).
# The package holds the daemon, the CUPTI injection library where the CUDA toolkit was found,
# the systemd unit, /etc/gputrace/gputrace.conf, man pages, docs, the Prometheus rules and the
# Grafana dashboard; Depends comes from dpkg-shlibdeps. Install it with
#   apt-get install ./dist/gputrace_*.deb && systemctl enable --now gputrace
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT_DIR=${OUT_DIR:-dist}
for tool in cpack dpkg-shlibdeps help2man; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
done
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  BUILD_DIR=$BUILD_DIR scripts/build.sh
fi
# The man pages, the daemon and the injection library must be current.
ninja -C "$BUILD_DIR" gputrace gputrace_man $(ninja -C "$BUILD_DIR" -t targets all | grep -q '^gputrace_cupti:' && echo gputrace_cupti)
mkdir -p "$OUT_DIR"
out=$(realpath "$OUT_DIR")
(cd "$BUILD_DIR" && cpack -G DEB -B "$out/.cpack" >/dev/null)
deb=$(ls "$out"/.cpack/gputrace_*_amd64.deb)
mv -f "$deb" "$out/"
rm -rf "$out/.cpack"
deb="$out/$(basename "$deb")"
echo "package.sh: $deb"
dpkg-deb --field "$deb" Package Version Architecture Depends
