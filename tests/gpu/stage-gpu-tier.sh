#!/usr/bin/env bash
# Stages what the gpu tier needs on a lent GPU machine into one folder of the checkout, for
# the device tool to carry (docs/testing.md, "gpu tier"): the machine gets a copy of the
# working tree and nothing else, has no package registry, and may lack libbpf and libelf.
#
#   tests/gpu/stage-gpu-tier.sh [BUILD_DIR [DEST]]     (defaults: build .gpu-tier)
#
# DEST/bin  gputrace (gputrace-static when built), gpu_tier_tests, gpu_vecadd
# DEST      run-gpu-tier.sh, the command the device runs: bash DEST/run-gpu-tier.sh DEST
# DEST/lib  libgputrace_cupti.so and every shared library these load that is not part of the
#           base system (libbpf, libelf, libz, libcupti, ...)
# Binaries lose their debug info on the way (RelWithDebInfo tests run to tens of MiB); the
# device tool carries 64 MiB with the tree, so the stage refuses to exceed 48 MiB.
set -euo pipefail

build=${1:-build}
dest=${2:-.gpu-tier}
max_kib=$((48 * 1024))

need() { [[ -f $1 ]] || { echo "stage-gpu-tier: missing $1 ($2)" >&2; exit 1; }; }
gputrace=$build/userspace/gputrace-static
if [[ ! -f $gputrace ]]; then
  echo "stage-gpu-tier: no $gputrace (ninja -C $build gputrace-static): taking the dynamic gputrace" >&2
  gputrace=$build/userspace/gputrace
fi
need "$gputrace" "ninja -C $build gputrace"
need "$build/cupti/libgputrace_cupti.so" "ninja -C $build gputrace_cupti"
need "$build/tests/gpu/gpu_vecadd" "ninja -C $build gpu_vecadd"
need "$build/tests/gpu/gpu_tier_tests" "ninja -C $build gpu_tier_tests"

rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib"
cp "$gputrace" "$dest/bin/gputrace"
cp "$build/tests/gpu/gpu_vecadd" "$build/tests/gpu/gpu_tier_tests" "$dest/bin/"
cp "$build/cupti/libgputrace_cupti.so" "$dest/lib/"
# The script travels with the stage: the device tool sends the checkout its session started
# in, which need not be this one.
cp "$(dirname "$0")/run-gpu-tier.sh" "$dest/"

# Shared libraries the binaries load, less glibc's own (they must match the libc they run
# with), libstdc++ and libgcc_s (every system has them) and libcuda (the machine's driver).
base='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|libnsl|libstdc\+\+|libgcc_s|libcuda)\.'
for f in "$dest"/bin/* "$dest/lib/libgputrace_cupti.so"; do
  ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' || true
done | sort -u | while read -r name path; do
  if [[ $name =~ $base ]]; then continue; fi
  cp -L "$path" "$dest/lib/$name"
done
if ldd "$dest"/bin/* "$dest/lib/libgputrace_cupti.so" 2>/dev/null | grep -q 'not found'; then
  echo "stage-gpu-tier: a library is missing here already:" >&2
  ldd "$dest"/bin/* "$dest/lib/libgputrace_cupti.so" | grep 'not found' >&2
  exit 1
fi
strip --strip-debug "$dest"/bin/* "$dest"/lib/*

# The device tool carries only ignored paths: .gitignore lists /.gpu-tier/, the default stage.
if [ -z "$(git check-ignore "$dest" 2>/dev/null)" ]; then
  echo "stage-gpu-tier: warning: $dest is not ignored by git, so the device tool will not carry it" >&2
fi

kib=$(du -sk "$dest" | cut -f1)
ls -l "$dest/bin" "$dest/lib"
echo "stage-gpu-tier: $dest holds $((kib / 1024)) MiB"
if ((kib > max_kib)); then
  echo "stage-gpu-tier: over $((max_kib / 1024)) MiB: the device tool carries 64 MiB with the tree" >&2
  exit 1
fi
