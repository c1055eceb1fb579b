#!/usr/bin/env bash
# Builds the OCI image localhost/gputrace:<version> from the Debian package, with podman and a
# Debian 12 base made here by mmdebstrap: nothing comes from a registry. The base root file
# system and apt's downloads are cached in $GPUTRACE_CACHE (default /var/cache/gputrace).
#
#   deploy/container/build-image.sh dist/gputrace_0.1.0_amd64.deb
#   podman save localhost/gputrace:0.1.0 | ...   (or push it to your registry; set its name in
#                                                 deploy/kubernetes/kustomization.yaml)
set -euo pipefail
deb=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
for tool in podman mmdebstrap dpkg-deb; do
  command -v $tool >/dev/null || { echo "build-image.sh: $tool is missing (apt-get install $tool)" >&2; exit 77; }
done
source "$here/podman-env.sh"
version=$(dpkg-deb -f "$deb" Version)
cache=${GPUTRACE_CACHE:-/var/cache/gputrace}
mkdir -p "$cache/rootfs" "$cache/apt-archives"
base=localhost/gputrace-base:bookworm
if ! podman image exists "$base"; then
  tar=$cache/rootfs/bookworm-minbase.tar
  if [ -z "$(find "$tar" -mtime -7 2>/dev/null)" ]; then
    echo "build-image.sh: making the Debian 12 base with mmdebstrap (cached in $tar)"
    mmdebstrap --quiet --variant=minbase bookworm "$tar.tmp.tar" \
      "deb http://deb.debian.org/debian bookworm main" \
      "deb http://deb.debian.org/debian bookworm-updates main" \
      "deb http://deb.debian.org/debian-security bookworm-security main"
    mv "$tar.tmp.tar" "$tar"
  fi
  podman import --change 'CMD ["/bin/bash"]' "$tar" "$base" >/dev/null
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$deb" "$ctx/gputrace.deb"
# the build's apt-get install reaches the Debian mirror through the host's network
podman build --quiet --network=host -v "$cache/apt-archives:/var/cache/apt/archives" \
  -t "localhost/gputrace:$version" -f "$here/Containerfile" "$ctx"
echo "build-image.sh: localhost/gputrace:$version"
podman image inspect --format '{{.Id}} {{.Size}} bytes' "localhost/gputrace:$version"
