#!/usr/bin/env bash
# Installs everything gputrace needs to build and test on Debian 12, from Debian's packages only.
# Idempotent: packages already present are skipped. Run as root (or with sudo).
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang llvm pkg-config python3
  # BPF toolchain and libraries (static libs included: libbpf.a, libelf.a, libz.a, libdeflate.a)
  bpftool libbpf-dev libelf-dev zlib1g-dev libdeflate-dev linux-libc-dev
  # userspace libraries; the /metrics server (cpp-httplib) and the OTLP client (libcurl, HTTPS)
  libfmt-dev nlohmann-json3-dev libexpected-dev systemtap-sdt-dev libncurses-dev
  libcpp-httplib-dev libcurl4-openssl-dev
  # tests and benchmarks
  googletest libgtest-dev libbenchmark-dev libclang-rt-14-dev bpftrace
  # managed runtimes whose GC pauses are traced (bpf tier)
  python3.11 openjdk-17-jdk-headless golang-go
  # vm tier: QEMU guest with an emulated IOMMU, busybox initramfs, guest kernel headers
  qemu-system-x86 busybox-static cpio xz-utils zstd lz4 kmod make gcc
  # views and exporters: tmux drives `gputrace top` in its test, headless Chromium renders
  # the HTML report (no console errors, screenshot); prometheus brings promtool and the
  # server the exporter tests scrape with
  tmux chromium prometheus
  # deploy tier (tests/deploy): the Debian package (dpkg-dev's dpkg-shlibdeps, help2man for
  # its man pages), a clean Debian 12 root file system to install it in, openssl for the TLS
  # test's certificates; kubectl (with kustomize) is not a Debian package: CI images bring it
  dpkg-dev help2man mmdebstrap openssl python3-yaml
  # deploy-manual tier: the OCI image and `podman kube play`, systemd as PID 1 in a container
  podman runc catatonit
)
# node and npm run the OTLP schema check (tests/otlp). A machine that already has them keeps
# its own: NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# tracefs is where doctor and the vm tier read tracepoint formats; mount it if the host did not.
if [ ! -d /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
echo "install-deps: ok"
