#!/bin/busybox sh
# /init of the attach-yama guest (busybox only). With Yama's ptrace_scope set to 3, which
# forbids ptrace to everyone, root included, until reboot (never done on a shared host),
# `gputrace attach` must be refused by the kernel, say why, and leave its target running
# and untraced. Prints "VMYAMA key=value" lines for run-attach-yama.sh; always powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t devtmpfs dev /dev
say() { echo "VMYAMA $*"; }
say "kernel=$(uname -r)"
if [ -e /proc/sys/kernel/yama/ptrace_scope ]; then
  say "scope_before=$(cat /proc/sys/kernel/yama/ptrace_scope)"
  sleep 1000 &
  TARGET=$!
  echo 3 > /proc/sys/kernel/yama/ptrace_scope
  say "scope=$(cat /proc/sys/kernel/yama/ptrace_scope)"
  GPUTRACE_CUPTI_LIB=/lib/gputrace/libgputrace_cupti.so /bin/gputrace attach --pid "$TARGET" > /tmp/attach.out 2>&1
  say "rc=$?"
  sed 's/^/VMYAMA said: /' /tmp/attach.out
  if kill -0 "$TARGET" 2>/dev/null; then say "alive=yes"; else say "alive=no"; fi
  say "tracer=$(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/$TARGET/status)"
  say "state=$(sed -n 's/^State:[[:space:]]*//p' /proc/$TARGET/status | cut -c1)"
else
  say "no-yama"
fi
say "end"
poweroff -f
