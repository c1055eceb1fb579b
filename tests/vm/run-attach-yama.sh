#!/usr/bin/env bash
# vm tier, attach: `gputrace attach` under Yama ptrace_scope=3 on a stock Debian 6.12 kernel
# (QEMU/TCG, busybox initramfs, the static gputrace). Scope 3 forbids ptrace to every
# process, root included, until reboot, so it is only ever set inside a throwaway guest.
# Passes when the kernel refused, gputrace said it was Yama's ptrace_scope 3 and exited 1,
# and the target still runs, untraced and not stopped.
#
#   tests/vm/run-attach-yama.sh --gputrace-static BUILD/userspace/gputrace-static \
#                               --library BUILD/cupti/libgputrace_cupti.so
# Shares VM_CACHE, VM_WORK, VM_LOCK, VM_TIMEOUT and VM_NO_APT with run-vm-tier.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${VM_CACHE:-/var/cache/gputrace-vm}
VM_WORK=${VM_WORK:-/tmp/gputrace-vm}
VM_LOCK=${VM_LOCK:-/tmp/gputrace-vm.lock}
VM_TIMEOUT=${VM_TIMEOUT:-300}
GPUTRACE_STATIC= LIBRARY=
while (($#)); do
  case $1 in
    --gputrace-static) GPUTRACE_STATIC=$2; shift 2 ;;
    --library) LIBRARY=$2; shift 2 ;;
    *) echo "run-attach-yama: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "run-attach-yama: $*" >&2; exit 2; }
for tool in qemu-system-x86_64 busybox cpio gzip dpkg-deb timeout flock strip; do
  command -v "$tool" >/dev/null || die "missing $tool: run scripts/install-deps.sh (as root) first"
done
[ "$(id -u)" = 0 ] || die "needs root (apt for the kernel package)"
[ -x "$GPUTRACE_STATIC" ] || die "--gputrace-static: $GPUTRACE_STATIC missing (ninja -C BUILD gputrace-static)"
[ -f "$LIBRARY" ] || die "--library: $LIBRARY missing (built with the CUDA toolkit)"
mkdir -p "$VM_WORK" "$VM_CACHE"
exec 9> "$VM_LOCK"
flock 9  # one TCG guest at a time on this machine

# The kernel: the same package and cache as run-vm-tier.sh's 6.12 guests.
meta=linux-image-6.12-cloud-amd64
pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }' || true)
if [ -z "$pkg" ]; then
  [ -z "${VM_NO_APT:-}" ] || die "VM_NO_APT is set and $meta cannot be resolved"
  apt-get update -qq >/dev/null
  pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-/ { print $2; exit }')
fi
kver=${pkg#linux-image-}
x=$VM_CACHE/x/$pkg
vmlinuz=$x/boot/vmlinuz-$kver
if [ ! -s "$vmlinuz" ]; then
  deb=$(ls "$VM_CACHE/${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    [ -z "${VM_NO_APT:-}" ] || die "VM_NO_APT is set and $pkg is not in $VM_CACHE"
    (cd "$VM_CACHE" && apt-get download -qq "$pkg")
    deb=$(ls "$VM_CACHE/${pkg}"_*.deb | head -1)
  fi
  rm -rf "$x"; mkdir -p "$x"
  dpkg-deb -x "$deb" "$x"
fi
grep -q '^CONFIG_SECURITY_YAMA=y' "$x/boot/config-$kver" || die "$pkg has no Yama (CONFIG_SECURITY_YAMA)"

run=$VM_WORK/attach-yama
rm -rf "$run"; mkdir -p "$run/root"/{bin,dev,proc,sys,tmp,lib/gputrace}
cp "$(command -v busybox)" "$run/root/bin/busybox"
install -m755 "$HERE/attach-yama/init.sh" "$run/root/init"
strip --strip-debug -o "$run/root/bin/gputrace" "$GPUTRACE_STATIC"
strip --strip-debug -o "$run/root/lib/gputrace/libgputrace_cupti.so" "$LIBRARY"
(cd "$run/root" && find . | cpio -o -H newc --quiet | gzip -1 > "$run/initrd.gz")
echo "== boot $kver (Yama ptrace_scope=3 in the guest)"
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 -nic none -nographic -no-reboot \
  -kernel "$vmlinuz" -initrd "$run/initrd.gz" -append "console=ttyS0 panic=-1 quiet" \
  < /dev/null 2>&1 | tr -d '\r' > "$run/console.log" || true
grep '^VMYAMA ' "$run/console.log" | sed 's/^VMYAMA /  /' || true

fail=0
check() {  # check DESCRIPTION PATTERN
  if grep -q -- "$2" "$run/console.log"; then echo "  ok   $1"; else echo "  FAIL $1 (no '$2')"; fail=1; fi
}
check "the guest has Yama and scope 3 took" '^VMYAMA scope=3$'
check "gputrace attach was refused (exit 1)" '^VMYAMA rc=1$'
check "the kernel said no" 'VMYAMA said: .*the kernel refused ptrace access to process'
check "gputrace named Yama's scope 3" 'VMYAMA said: .*kernel.yama.ptrace_scope is 3, which forbids ptrace to every process, root included'
check "the target still runs" '^VMYAMA alive=yes$'
check "the target is not traced" '^VMYAMA tracer=0$'
check "the target is not stopped" '^VMYAMA state=S$'
[ "$fail" = 0 ] || echo "  artefacts: $run (console.log)"
exit "$fail"
