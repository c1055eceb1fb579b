#!/usr/bin/env bash
# gputrace vm test tier: real DMA and IOMMU events from stock Debian kernels under QEMU.
#
# For each kernel x IOMMU mode it boots a QEMU/TCG guest (q35, emulated VT-d, an NVMe
# disk, QEMU's `edu` DMA device) whose /init (guest/init.sh) runs a known workload under
# `gputrace record` while counting the same DMA-API calls with tracefs, then checks on
# the host, with check_report.py, that `gputrace report` found exactly the leaks and the
# fault the workload caused and counted what the kernel counted.
#
#   tests/vm/run-vm-tier.sh --gputrace BUILD/userspace/gputrace \
#                           --gputrace-static BUILD/userspace/gputrace-static
#
# Knobs (environment):
#   VM_KERNELS   "6.1 6.12"      kernels: 6.1 = Debian bookworm linux-image-cloud-amd64
#                                (kprobe path), 6.12 = linux-image-6.12-cloud-amd64
#                                (dma:* tracepoints)
#   VM_MODES     "strict lazy"   iommu.strict=1 / iommu.strict=0
#   VM_CACHE     /var/cache/gputrace-vm   kernel .debs and their extraction (x/<package>)
#   VM_WORK      /tmp/gputrace-vm         per-run artefacts: <kver>/<mode>/console.log,
#                                         out/ (capture, logs), check.txt
#   VM_RECORDER  1               0 = run the guest workload without gputrace (debugging
#                                the guest side; only the fixture checks run)
#   VM_TIMEOUT   600             seconds before one guest is killed
#   VM_MEM 1024, VM_SMP 2        guest size
#   VM_USER_K    2               buffers mapped by each edu_user run
#   VM_NO_APT    unset           1 = never call apt (fail if a package is missing)
#   VM_VERBOSE   unset           1 = gputrace -v in the guest (loader timings on the console)
#   VM_APPEND    unset           extra guest kernel arguments (e.g. swiotlb=force, which
#                                bounces every streaming DMA; used to record fixtures)
#
# Exit status: 0 when every selected guest passed, 1 when any failed, 2 on setup errors.
# Only one guest runs at a time on this machine (flock on $VM_LOCK, default
# /tmp/gputrace-vm.lock): TCG is CPU-heavy.
# The host's /boot is never used: kernels are unpacked from their .debs into $VM_CACHE.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_KERNELS=${VM_KERNELS:-"6.1 6.12"}
VM_MODES=${VM_MODES:-"strict lazy"}
VM_CACHE=${VM_CACHE:-/var/cache/gputrace-vm}
VM_WORK=${VM_WORK:-/tmp/gputrace-vm}
VM_LOCK=${VM_LOCK:-/tmp/gputrace-vm.lock}
VM_RECORDER=${VM_RECORDER:-1}
VM_TIMEOUT=${VM_TIMEOUT:-600}
VM_MEM=${VM_MEM:-1024}
VM_SMP=${VM_SMP:-2}
VM_USER_K=${VM_USER_K:-2}
VM_APPEND=${VM_APPEND:-}
VM_FLAVOUR=${VM_FLAVOUR:-}   # attach flavour gputrace tries first in the guest (kprobe: the 6.1 fallback path)
VM_VERBOSE=${VM_VERBOSE:-}   # 1: gputrace -v in the guest (what loaded, how long the verifier took)
PYTHON=/usr/bin/python3   # the system python (stdlib only); not a pyenv shim
GPUTRACE=${GPUTRACE:-}
GPUTRACE_STATIC=${GPUTRACE_STATIC:-}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
}
while (($#)); do
  case $1 in
    --gputrace) GPUTRACE=$2; shift 2 ;;
    --gputrace-static) GPUTRACE_STATIC=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run-vm-tier: unknown argument $1" >&2; usage ;;
  esac
done

T0=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
step() { echo "== [$(elapsed "$T0")s] $*"; }
die() { echo "run-vm-tier: $*" >&2; exit 2; }

# ------------------------------------------------------------------ prerequisites
# The project installs its own dependencies; a missing tool here is a broken setup, and
# the test must fail (not skip) so that it gets fixed.
missing=()
for tool in qemu-system-x86_64 busybox cpio gzip gcc make dpkg-deb timeout flock readelf strip tar; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x "$PYTHON" ] || missing+=("$PYTHON")
if ((${#missing[@]})); then
  die "missing ${missing[*]}: run scripts/install-deps.sh (as root) first"
fi
[ "$(id -u)" = 0 ] || die "needs root (apt for kernel packages and headers)"
# The guest has no libc: busybox and every binary copied in must be static.
is_static() { ! readelf -d "$1" 2>/dev/null | grep -q NEEDED; }
BUSYBOX=$(command -v busybox)
is_static "$BUSYBOX" || die "$BUSYBOX is not static: install busybox-static (scripts/install-deps.sh)"
if [ "$VM_RECORDER" = 1 ]; then
  [ -n "$GPUTRACE_STATIC" ] || die "--gputrace-static PATH is required (ninja -C BUILD gputrace-static)"
  [ -x "$GPUTRACE_STATIC" ] || die "$GPUTRACE_STATIC missing: build it with ninja -C BUILD gputrace-static"
  is_static "$GPUTRACE_STATIC" || die "$GPUTRACE_STATIC is not a static binary"
  [ -n "$GPUTRACE" ] && [ -x "$GPUTRACE" ] || die "--gputrace PATH (host binary for 'gputrace report') is required"
fi

mkdir -p "$VM_WORK" "$VM_CACHE"
# One lock for the whole machine, whatever the work dir: two TCG guests on a 2-core
# machine would each take twice as long and time out.
exec 9> "$VM_LOCK"
if ! flock -n 9; then
  echo "run-vm-tier: another guest is running (lock $VM_LOCK), waiting" >&2
  flock 9
fi

apt_get() {  # apt-get, unless forbidden; refreshes the package lists once if needed
  [ -z "${VM_NO_APT:-}" ] || die "VM_NO_APT is set and apt-get $* is needed"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# ------------------------------------------------------------- per-kernel setup
# Resolves a kernel tag to the versioned image package (via the Debian metapackage),
# downloads and unpacks it, installs the matching headers and builds the test module.
# Sets KVER, VMLINUZ, KO.
meta_package() {
  case $1 in
    6.1) echo linux-image-cloud-amd64 ;;
    6.12) echo linux-image-6.12-cloud-amd64 ;;
    *) die "unknown kernel '$1' (VM_KERNELS takes 6.1 and/or 6.12)" ;;
  esac
}

prepare_kernel() {
  local tag=$1 meta pkg deb x kdir
  meta=$(meta_package "$tag")
  pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }' || true)
  if [ -z "$pkg" ]; then
    apt_get update -qq >/dev/null || true
    pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-/ { print $2; exit }')
  fi
  [ -n "$pkg" ] || die "cannot resolve $meta to a kernel package"
  KVER=${pkg#linux-image-}
  step "kernel $tag: $pkg"

  # The image .deb is only unpacked, never installed: the host's /boot stays untouched.
  x=$VM_CACHE/x/$pkg
  VMLINUZ=$x/boot/vmlinuz-$KVER
  if [ ! -s "$VMLINUZ" ]; then
    deb=$(ls "$VM_CACHE/${pkg}"_*.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
      [ -z "${VM_NO_APT:-}" ] || die "VM_NO_APT is set and $pkg is not in $VM_CACHE"
      (cd "$VM_CACHE" && apt-get download -qq "$pkg")
      deb=$(ls "$VM_CACHE/${pkg}"_*.deb | head -1)
    fi
    rm -rf "$x"
    mkdir -p "$x"  # dpkg-deb -x creates the last component only
    dpkg-deb -x "$deb" "$x"
  fi
  [ -s "$VMLINUZ" ] || die "no $VMLINUZ in $pkg"
  # What the guest relies on being built in (not modules: the initramfs has none).
  local c
  for c in BLK_DEV_NVME INTEL_IOMMU IOMMU_DMA KPROBE_EVENTS HIST_TRIGGERS BPF_SYSCALL DEBUG_INFO_BTF; do
    grep -q "^CONFIG_$c=y" "$x/boot/config-$KVER" || die "$pkg: CONFIG_$c is not =y"
  done

  # The module must be built against the exact guest kernel. Note: Debian's 6.12
  # headers package depends on the matching image package, so apt installs that image
  # on the host too; it is never booted here.
  kdir=/usr/src/linux-headers-$KVER
  if [ ! -f "$kdir/Makefile" ]; then
    step "installing linux-headers-$KVER"
    apt_get install -y -qq --no-install-recommends "linux-headers-$KVER" >/dev/null
  fi
  step "building gputrace_edu.ko for $KVER"
  local kb=$VM_WORK/$KVER/kmod
  rm -rf "$kb"; mkdir -p "$kb"
  cp "$HERE"/kmod/{gputrace_edu.c,gputrace_edu_uapi.h,Kbuild,Makefile} "$kb/"
  if ! make -s -C "$kb" KDIR="$kdir" > "$kb/build.log" 2>&1; then
    cat "$kb/build.log" >&2; die "module build failed for $KVER"
  fi
  KO=$kb/gputrace_edu.ko
}

# The guest's user program, static (the guest has no libc).
build_edu_user() {
  step "building edu_user"
  gcc -O2 -Wall -Wextra -Werror -static -I"$HERE/kmod" "$HERE/guest/edu_user.c" \
    -o "$VM_WORK/edu_user"
}

# initramfs: busybox, /init, the module, edu_user and (unless VM_RECORDER=0) gputrace.
build_initramfs() {
  local r=$VM_WORK/$KVER/initramfs
  rm -rf "$r"; mkdir -p "$r"/{bin,proc,sys,dev,tmp}
  cp "$BUSYBOX" "$r/bin/busybox"
  install -m755 "$HERE/guest/init.sh" "$r/init"
  install -m755 "$VM_WORK/edu_user" "$r/bin/edu_user"
  cp "$KO" "$r/gputrace_edu.ko"
  # Debug info only slows the boot (the initramfs is decompressed by the emulated CPU).
  if [ "$VM_RECORDER" = 1 ]; then
    strip --strip-debug -o "$r/bin/gputrace" "$GPUTRACE_STATIC"
    chmod 755 "$r/bin/gputrace"
  fi
  INITRD=$VM_WORK/$KVER/initrd.gz
  (cd "$r" && find . | cpio -o -H newc --quiet | gzip -1 > "$INITRD")
  step "initramfs $(stat -c %s "$INITRD") bytes"
}

# ------------------------------------------------------------------------ one guest
# Boots one guest; leaves console.log and out/ (the tar the guest wrote) in $RUN.
boot_guest() {
  local mode=$1 strict
  case $mode in
    strict) strict=1 ;;
    lazy) strict=0 ;;
    *) die "unknown mode '$mode' (VM_MODES takes strict and/or lazy)" ;;
  esac
  rm -rf "$RUN"; mkdir -p "$RUN/out"
  # Sparse images: a workload disk and the results disk the guest writes a tar onto.
  truncate -s 64M "$RUN/work.img"
  truncate -s 512M "$RUN/out.img"
  step "boot $KVER $mode (iommu.strict=$strict)"
  local b=$EPOCHREALTIME rc=0
  # TCG only: the host's /dev/kvm is a nested paravirtual KVM that hangs stock kernels.
  # intel-iommu comes first so that every PCI device after it sits behind it. -nic none:
  # no network device doing DMA in the counted window.
  timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
    -accel tcg -cpu max -m "$VM_MEM" -smp "$VM_SMP" \
    -machine q35 -device intel-iommu,intremap=off \
    -drive file="$RUN/work.img",if=none,id=work,format=raw -device nvme,serial=gtvmwork1,drive=work \
    -drive file="$RUN/out.img",if=none,id=out,format=raw -device nvme,serial=gtvmout01,drive=out \
    -device edu -nic none \
    -nographic -no-reboot -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 intel_iommu=on iommu.strict=$strict panic=-1 quiet gputrace_vm.recorder=$VM_RECORDER gputrace_vm.user_k=$VM_USER_K${VM_FLAVOUR:+ gputrace_vm.flavour=$VM_FLAVOUR}${VM_VERBOSE:+ gputrace_vm.verbose=$VM_VERBOSE}${VM_APPEND:+ $VM_APPEND}" \
    < /dev/null 2>&1 | tr -d '\r' > "$RUN/console.log" || rc=$?
  GUEST_SECONDS=$(elapsed "$b")
  if [ "$rc" != 0 ]; then
    echo "  qemu exit status $rc (124: killed after ${VM_TIMEOUT}s)"
  fi
  step "guest done in ${GUEST_SECONDS}s"
  # tar stops at its end-of-archive blocks; the rest of the image is zeros.
  if ! tar -xf "$RUN/out.img" -C "$RUN/out" 2>"$RUN/untar.log"; then
    echo "  no result archive on the output disk ($(head -1 "$RUN/untar.log"))"
  fi
  rm -f "$RUN/work.img" "$RUN/out.img"
}

# ----------------------------------------------------------------------- main loop
build_edu_user
failed=()
passed=()
for tag in $VM_KERNELS; do
  prepare_kernel "$tag"
  build_initramfs
  for mode in $VM_MODES; do
    RUN=$VM_WORK/$KVER/$mode${VM_FLAVOUR:+-$VM_FLAVOUR}
    boot_guest "$mode"
    grep '^VMTIER ' "$RUN/console.log" | grep -v -e 'gputrace_stderr:' -e 'dmesg:' | sed 's/^VMTIER /  /' || true
    step "checking $tag $mode"
    check_args=(--console "$RUN/console.log" --out-dir "$RUN/out" --kernel "$tag" --mode "$mode"
                --user-k "$VM_USER_K")
    if [ "$VM_RECORDER" = 1 ]; then
      check_args+=(--gputrace "$GPUTRACE")
    else
      check_args+=(--no-recorder)
    fi
    if "$PYTHON" "$HERE/check_report.py" "${check_args[@]}" 2>&1 | tee "$RUN/check.txt"; then
      passed+=("$tag/$mode (${GUEST_SECONDS}s)")
    else
      failed+=("$tag/$mode")
      echo "  artefacts: $RUN (console.log, out/, check.txt)"
    fi
  done
done

step "summary"
for p in "${passed[@]}"; do echo "  PASS $p"; done
for f in "${failed[@]}"; do echo "  FAIL $f"; done
((${#failed[@]} == 0))
