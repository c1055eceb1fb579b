#!/usr/bin/env bash
# What `gputrace attach` costs the process it attaches to, on this machine, without a GPU:
# attach_target (cupti/tests/attach_target.cc, the stand-in libcupti preloaded: ~2500
# "kernels" a second) attached and detached N times. Reports, as medians over the runs:
#   - how long the stopped thread was held ("stopped for" of each attach), p90 and max too,
#     for the library opened at its path and for a memfd copy (a container-like target);
#   - the wall time of one whole `gputrace attach --duration 10ms` (start to lease released);
#   - the CPU the library's own thread uses while attached (10 s, from /proc).
# The GPU-side cost (launch overhead with and without the library) needs a GPU:
# tests/gpu/ measures it there.
#
#   sudo bench/attach_cost.sh BUILD_DIR [N]
set -euo pipefail
B=${1:?usage: bench/attach_cost.sh BUILD_DIR [N]}
N=${2:-30}
B=$(cd "$B" && pwd)
GT=$B/userspace/gputrace
TARGET=$B/cupti/tests/attach_target
STANDIN=$B/cupti/tests/libgputrace_standin_cupti.so
DRIVER=$B/cupti/tests/standin-driver/libcuda.so.1
LIB=$B/cupti/libgputrace_cupti.so
for f in "$GT" "$TARGET" "$STANDIN" "$DRIVER" "$LIB"; do [ -e "$f" ] || { echo "missing $f: build it first" >&2; exit 2; }; done
[ "$(id -u)" = 0 ] || { echo "attach_cost.sh: run as root" >&2; exit 2; }
W=$(mktemp -d); trap 'touch $W/stop; sleep 0.3; rm -rf $W' EXIT
chmod 755 "$W"

stats() {  # stdin: numbers; prints "median p90 max"
  sort -n | awk '{a[NR]=$1} END {printf "median %.2f  p90 %.2f  max %.2f  (n=%d)\n", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[NR], NR}'
}

start_target() {  # start_target plain|container -> sets PID
  rm -f "$W/stop"
  if [ "$1" = container ]; then
    unshare --mount --pid --net --fork --mount-proc sh -c \
      "mount --bind /dev/null $LIB && LD_PRELOAD=$STANDIN exec $TARGET --until $W/stop --driver $DRIVER" >/dev/null 2>&1 &
    sleep 1
    PID=$(pgrep -f "^$TARGET --until $W/stop" | head -1)
  else
    LD_PRELOAD=$STANDIN "$TARGET" --until "$W/stop" --driver "$DRIVER" > /dev/null 2>&1 &
    PID=$!
    sleep 0.5
  fi
}

for kind in plain container; do
  start_target $kind
  : > "$W/stops"; : > "$W/walls"
  runs=$N; [ $kind = container ] && runs=$(( (N + 2) / 3 ))
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    "$GT" attach --pid "$PID" --duration 10ms 2> "$W/err" || { cat "$W/err"; exit 1; }
    t1=$(date +%s%N)
    sed -n 's/.*stopped for \([0-9.]*\) ms.*/\1/p' "$W/err" >> "$W/stops"
    echo "scale=2; ($t1 - $t0) / 1000000" | bc >> "$W/walls"
  done
  label="library opened at its path"
  [ $kind = container ] && label="container-like target (memfd copy made by the first attach)"
  echo "thread held, $label: $(stats < "$W/stops") ms"
  echo "one attach --duration 10ms, wall: $(stats < "$W/walls") ms"
  touch "$W/stop"; sleep 0.5
done

start_target plain
"$GT" attach --pid "$PID" --duration 12s 2>/dev/null &
holder=$!
sleep 1
tid=$(for t in /proc/$PID/task/*; do [ "$(cat $t/comm)" = gputrace-cupti ] && basename $t; done)
ticks() { awk '{print $14 + $15}' "/proc/$PID/task/$tid/stat"; }
a=$(ticks); sleep 10; b=$(ticks)
hz=$(getconf CLK_TCK)
echo "the library's thread while attached: $(echo "scale=1; ($b - $a) * 1000 / $hz / 10" | bc) ms CPU per second (stand-in: ~2500 kernels/s)"
wait "$holder"
