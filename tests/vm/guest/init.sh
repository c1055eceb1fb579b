#!/bin/busybox sh
# /init of the vm tier's guest (busybox only; installed as /init by run-vm-tier.sh).
#
# Runs one known DMA workload under `gputrace record` and, over the same window, counts
# the same DMA-API calls per device with tracefs hist triggers, so the host can compare
# gputrace's report with the kernel's own count. Everything the host parses is printed on
# the console as "VMTIER key=value ..." lines; the capture and the logs leave the guest as
# a tar archive written raw onto a second NVMe disk (serial gtvmout01).
#
# Kernel command line knobs (set by run-vm-tier.sh):
#   gputrace_vm.recorder=0   run the workload without gputrace (guest-side debugging)
#   gputrace_vm.user_k=N     buffers each edu_user run maps (default 2)
#   gputrace_vm.flavour=F    gputrace record --prefer-flavour F (e.g. kprobe where fentry works)
#   gputrace_vm.verbose=1    gputrace -v record: the loader says what it loaded and how long it took
#   gputrace_vm.grace=S      sleep after the leaky edu_user exits (default 3: > the 2 s
#                            owner-exit grace period of gputrace's analyzer)
#
# No `set -e`: if /init exits the kernel panics and the output disk is never written, so
# every step reports its status and the script always reaches the end.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs nodev /sys/kernel/tracing
mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tmpfs tmp /tmp
mkdir -p /run /var/tmp
mkdir -p /tmp/out

say() { echo "VMTIER $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
arg() {  # arg NAME DEFAULT: value of gputrace_vm.NAME= on the kernel command line
  v=$(tr ' ' '\n' < /proc/cmdline | sed -n "s/^gputrace_vm\.$1=//p" | tail -1)
  echo "${v:-$2}"
}
RECORDER=$(arg recorder 1)
FLAVOUR=$(arg flavour "")
USER_K=$(arg user_k 2)
GRACE=$(arg grace 3)
VERBOSE=$(arg verbose "")
[ -x /bin/gputrace ] || RECORDER=0

say "begin uptime=$(up)"
say "kernel=$(uname -r)"
say "cmdline=$(cat /proc/cmdline)"
say "recorder=$RECORDER user_k=$USER_K grace=$GRACE"

# ------------------------------------------------------------------------ devices
# The two NVMe controllers are told apart by serial: probing is asynchronous, so
# nvme0/nvme1 numbering is not stable. gtvmwork1 carries the workload, gtvmout01 the
# results (it is written only after the counted window is over).
WORK=; OUT=
i=0
while [ $i -lt 200 ]; do
  for c in /sys/class/nvme/nvme*; do
    [ -e "$c/serial" ] || continue
    s=$(cat "$c/serial" | tr -d ' ')
    n=$(basename "$c")
    [ -b "/dev/${n}n1" ] || continue
    case $s in
      gtvmwork1) WORK=/dev/${n}n1; WORK_PCI=$(basename "$(readlink -f "$c/device")") ;;
      gtvmout01) OUT=/dev/${n}n1; OUT_PCI=$(basename "$(readlink -f "$c/device")") ;;
    esac
  done
  [ -n "$WORK" ] && [ -n "$OUT" ] && break
  sleep 0.05; i=$((i + 1))
done
say "nvme_work=$WORK nvme_work_pci=${WORK_PCI:-none} nvme_out=$OUT nvme_out_pci=${OUT_PCI:-none}"
EDU_PCI=none
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] && EDU_PCI=$(basename "$d")
done
say "edu_pci=$EDU_PCI"
for g in /sys/kernel/iommu_groups/*; do
  say "iommu_group $(basename "$g") type=$(cat "$g/type" 2>/dev/null) devices=$(ls "$g/devices" | tr '\n' ',')"
done

# ------------------------------------------------------------- tracefs counting
# The same six DMA-API calls gputrace hooks, counted per device by hist triggers (exact,
# no ring buffer to overflow). Kernels with the dma:* tracepoints (6.12+) use them; older
# ones (6.1) get kprobe events on the DMA-API functions, fetching the device name from
# dev->kobj.name (the first field of struct device is its kobject, whose first field is
# the name pointer). Which path is taken depends on what exists, not on the version.
T=/sys/kernel/tracing
API="map_page unmap_page map_sg unmap_sg alloc free"
if [ -d $T/events/dma ]; then
  COUNT_VIA=tracepoint
  for a in $API; do
    e=$T/events/dma/dma_$a
    if [ -d "$e" ]; then
      echo "hist:keys=device" > "$e/trigger" || say "tracefs_error api=$a trigger"
      eval "HIST_$a=$e/hist"
    else
      say "tracefs_error api=$a missing=dma:dma_$a"
    fi
  done
else
  COUNT_VIA=kprobe
  for spec in map_page:dma_map_page_attrs unmap_page:dma_unmap_page_attrs \
              map_sg:__dma_map_sg_attrs unmap_sg:dma_unmap_sg_attrs \
              alloc:dma_alloc_attrs free:dma_free_attrs; do
    a=${spec%%:*}; f=${spec#*:}
    if echo "p:gtvm/$a $f dev=+0(+0(%di)):string" >> $T/kprobe_events 2>/dev/null; then
      echo "hist:keys=dev" > $T/events/gtvm/$a/trigger || say "tracefs_error api=$a trigger"
      eval "HIST_$a=$T/events/gtvm/$a/hist"
    else
      say "tracefs_error api=$a kprobe=$f"
    fi
  done
fi
say "tracefs_count_via=$COUNT_VIA"

# Prints "VMTIER tracefs api=<api> device=<name> count=<n>" per (api, device) and the
# histogram's dropped count (must be 0), plus kprobe misses where kprobes were used.
tracefs_report() {
  for a in $API; do
    eval "h=\${HIST_$a:-}"
    [ -n "$h" ] || continue
    awk -v a="$a" '
      /^\{ / { printf "VMTIER tracefs api=%s device=%s count=%s\n", a, $3, $NF }
      /Dropped:/ { printf "VMTIER tracefs_dropped api=%s dropped=%s\n", a, $2 }' "$h"
  done
  if [ "$COUNT_VIA" = kprobe ]; then
    # kprobe_profile: "<event> <hits> <missed>" (the event name without its group on 6.1)
    awk -v api="$API" 'BEGIN { n = split(api, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
      { sub(/^gtvm\//, "", $1) } NF == 3 && ($1 in want) {
        printf "VMTIER tracefs_kprobe api=%s hits=%s missed=%s\n", $1, $2, $3 }' $T/kprobe_profile
  fi
}

# ---------------------------------------------------------------------- recorder
dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
GT_PID=
if [ "$RECORDER" = 1 ]; then
  /bin/gputrace ${VERBOSE:+-v} record -o /tmp/out/capture.gtrace --all-devices ${FLAVOUR:+--prefer-flavour $FLAVOUR} \
    > /tmp/out/gputrace.stdout 2> /tmp/out/gputrace.stderr &
  GT_PID=$!
  # The CLI prints "recording to" once every hook is attached. BPF verification under
  # TCG is slow, so allow minutes, but give up at once if gputrace died.
  t0=$(up); i=0
  while ! grep -q 'recording to' /tmp/out/gputrace.stderr; do
    if ! kill -0 "$GT_PID" 2>/dev/null; then
      wait "$GT_PID"; say "recorder_died rc=$?"; GT_PID=; break
    fi
    i=$((i + 1)); [ $i -gt 1800 ] && { say "recorder_attach_timeout"; break; }
    sleep 0.1
  done
  say "recorder_attach_seconds=$(echo "$(up) $t0 - p" | dc)"
  sed 's/^/VMTIER gputrace_stderr: /' /tmp/out/gputrace.stderr
fi

# ---------------------------------------------------------------------- workload
nvme_io() {  # $1: tag. O_DIRECT so every block really goes through the NVMe DMA path.
  dd if=/tmp/pat of="$WORK" bs=4k count=256 oflag=direct 2>/dev/null
  dd if=/tmp/pat of="$WORK" bs=1M count=4 seek=4 oflag=direct 2>/dev/null
  dd if="$WORK" of=/tmp/rd bs=4k count=256 iflag=direct 2>/dev/null
  dd if="$WORK" of=/dev/null bs=1M count=4 skip=4 iflag=direct 2>/dev/null
  head -c 1048576 /tmp/pat | cmp -s - /tmp/rd \
    && say "nvme_roundtrip=ok tag=$1" || say "nvme_roundtrip=FAIL tag=$1"
}

say "workload_begin uptime=$(up)"
nvme_io first
insmod /gputrace_edu.ko xfer=4 leak=3 fault=1
say "insmod rc=$?"
/bin/edu_user -n "$USER_K" --xfer
say "edu_user leaky=0 rc=$?"
/bin/edu_user -n "$USER_K" --leaky --xfer
say "edu_user leaky=1 rc=$?"
sleep "$GRACE"     # the leaky process has exited; let the owner-exit grace period pass
rmmod gputrace_edu # driver unbind: the module's leak=3 mappings are outstanding now
say "rmmod rc=$?"
nvme_io second
# Outlive the grace period once more, so that every process that exited in the window is
# judged before the recorder stops: a wrongly owned mapping then shows as a finding
# instead of hiding in owners_not_judged.
sleep "$GRACE"
say "workload_end uptime=$(up)"

if [ -n "$GT_PID" ]; then
  kill -INT "$GT_PID"
  wait "$GT_PID"
  say "recorder_exit rc=$?"
  sed 's/^/VMTIER gputrace_stderr: /' /tmp/out/gputrace.stderr
  ls -l /tmp/out/capture.gtrace 2>&1 | sed 's/^/VMTIER capture: /'
fi

# ------------------------------------------------------------------------ report
tracefs_report
dmesg | grep -E 'gputrace_edu|DMAR: \[DMA|DMAR: DRHD: handling' | sed 's/^/VMTIER dmesg: /'
say "dmar_fault_lines=$(dmesg | grep -c -E 'DMAR: \[DMA (Read|Write)')"
say "taint=$(cat /proc/sys/kernel/tainted)"

# Results leave on the output disk: a tar archive from byte 0 (the host reads it with
# `tar -xf out.img`; the zero padding after it is tar's end-of-archive).
tracefs_report > /tmp/out/tracefs.txt
dmesg > /tmp/out/dmesg.txt
if [ -n "$OUT" ]; then
  tar -cf - -C /tmp/out . | dd of="$OUT" bs=64k conv=fsync 2>/dev/null
  say "out_written rc=$?"
else
  say "out_written rc=nodisk"
fi
sync
say "done uptime=$(up)"
poweroff -f
