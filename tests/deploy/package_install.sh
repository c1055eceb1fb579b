#!/usr/bin/env bash
# The Debian package on a clean Debian 12: `apt-get install ./gputrace_*.deb` in a fresh
# bookworm root file system (mmdebstrap) resolves Depends from the Debian mirror; there
# `gputrace doctor` runs, the daemon exports a capture, the man pages open, the unit passes
# `systemd-analyze verify` and `systemd-analyze security` scores it, the configuration is a
# conffile, and a purge leaves nothing behind.
#
#   tests/deploy/package_install.sh DEB CAPTURE
#
# Needs root (chroot, mounts) and, the first time, the Debian mirror: the root file system
# and apt's downloads are cached in $GPUTRACE_CACHE (default /var/cache/gputrace) and reused
# for 7 days. Prints the exposure score as "exposure: N.N".
set -euo pipefail
deb=$(realpath "$1")
capture=$(realpath "$2")
[ "$(id -u)" = 0 ] || { echo "package_install.sh: needs root (chroot)"; exit 77; }
command -v mmdebstrap >/dev/null || { echo "package_install.sh: mmdebstrap is missing (apt-get install mmdebstrap)"; exit 77; }

cache=${GPUTRACE_CACHE:-/var/cache/gputrace}
base=$cache/rootfs/bookworm-apt-systemd.tar
mkdir -p "$cache/rootfs" "$cache/apt-archives" "$cache/apt-lists"
if [ -z "$(find "$base" -mtime -7 2>/dev/null)" ]; then
  echo "== making a clean Debian 12 root file system (cached in $base)"
  mmdebstrap --quiet --variant=apt --include=systemd,man-db,ca-certificates bookworm "$base.tmp.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  mv "$base.tmp.tar" "$base"
fi

work=$(mktemp -d /tmp/gputrace-pkg-XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir "$root"
tar -C "$root" -xf "$base"
cp "$deb" "$root/tmp/"
cp "$capture" "$root/tmp/capture.gtrace"
cp /etc/resolv.conf "$root/etc/resolv.conf"

# Everything below runs in a mount namespace of its own: the mounts vanish with it.
unshare --mount --propagation private bash -euo pipefail -s "$root" "$cache" "$(basename "$deb")" <<'INNER'
root=$1 cache=$2 deb=$3
mount --rbind /proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
mount --bind "$cache/apt-lists" "$root/var/lib/apt/lists"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

echo "== apt-get install ./$deb (on a clean bookworm)"
in_root apt-get -qq update
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq --no-install-recommends "/tmp/$deb" >/dev/null
in_root dpkg-query -W -f='${Package} ${Version} ${Status}\nDepends: ${Depends}\nConffiles:${Conffiles}\n' gputrace
in_root dpkg-query -W -f='${Conffiles}\n' gputrace | grep -q '/etc/gputrace/gputrace.conf'

echo "== gputrace --version; gputrace doctor"
in_root gputrace --version
in_root gputrace doctor

echo "== gputrace daemon --replay (the library-linked exporters in a clean system)"
in_root gputrace daemon --replay /tmp/capture.gtrace --listen 127.0.0.1:0 --textfile /tmp/g.prom --duration 2s
in_root grep -c '^gputrace_' /tmp/g.prom

echo "== man gputrace-daemon"
in_root man -P cat gputrace-daemon | head -8

echo "== systemd-analyze verify gputrace.service"
in_root systemd-analyze verify gputrace.service
echo "verify: clean"
echo "== systemd-analyze security gputrace.service"
in_root systemd-analyze security --offline=yes gputrace.service | tee /tmp/security.txt | tail -25
score=$(grep -o 'Overall exposure level for gputrace.service: [0-9.]*' /tmp/security.txt | grep -o '[0-9.]*$')
echo "exposure: $score"

echo "== apt-get purge gputrace"
DEBIAN_FRONTEND=noninteractive in_root apt-get purge -y -qq gputrace >/dev/null
if in_root dpkg-query -W gputrace 2>/dev/null | grep -q .; then
  in_root dpkg-query -W -f='${Status}\n' gputrace | grep -q 'not-installed' || { echo "gputrace is still installed"; exit 1; }
fi
for left in /usr/sbin/gputrace /etc/gputrace /usr/lib/systemd/system/gputrace.service; do
  [ ! -e "$root$left" ] || { echo "purge left $left behind"; exit 1; }
done
echo "purge: nothing left"
INNER
