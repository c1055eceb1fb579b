#!/usr/bin/env bash
# Sustained DMA event rate through the real live path: a `gputrace daemon` (engine, exporters,
# the kernel's pairing table and its sweep) while bench/sustained_driver drives its DMA
# handlers from getpid()/getppid() (no DMA tracepoint fires on this machine) for SECONDS:
# mostly short-lived pairs, one long-lived mapping per 100 rounds (held 2 s: promoted), and
# LEAKERS child processes that map 3 buffers each and exit without unmapping them.
# Reports events produced, records delivered to the daemon, records dropped (BPF's exact ring
# counters), the daemon's CPU (% of one core) and peak RSS, and whether the daemon found
# exactly the planted leaks. Last line: one JSON object.
# usage: sudo bench/sustained.sh [BUILD_DIR] [SECONDS] [LEAKERS] [THREADS]
set -euo pipefail
BUILD=${1:-build}; SECONDS_=${2:-60}; LEAKERS=${3:-10}; THREADS=${4:-1}
GT=$BUILD/userspace/gputrace; DRIVER=$BUILD/bench/sustained_driver
for f in "$GT" "$DRIVER"; do
  [ -x "$f" ] || { echo "sustained.sh: $f missing: ninja -C $BUILD gputrace sustained_driver" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "sustained.sh: needs root (BPF)" >&2; exit 2; }
W=$(mktemp -d /tmp/gputrace-sustained.XXXXXX)
"$GT" daemon --listen none --textfile "$W/metrics.prom" --interval 1s --report-dir "$W" --no-gc \
  > "$W/daemon.log" 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true; wait $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -s "$W/metrics.prom" ] && break; sleep 0.1; done
[ -s "$W/metrics.prom" ] || { echo "sustained.sh: the daemon did not start:" >&2; cat "$W/daemon.log" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status"; }
peak=0
t0=$(ticks); s0=$EPOCHREALTIME
"$DRIVER" --pid "$DAEMON" --seconds "$SECONDS_" --leakers "$LEAKERS" --threads "$THREADS" > "$W/driver.json" &
DRV=$!
while kill -0 $DRV 2>/dev/null; do r=$(rss_kib); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.5; done
wait $DRV
t1=$(ticks); s1=$EPOCHREALTIME
sleep 4  # the owner-exit grace (2 s) and the promotion (0.5 s) of the last leaker
before=$(stat -c %Y "$W/report.json" 2>/dev/null || echo 0)
kill -USR1 $DAEMON
for _ in $(seq 100); do [ "$(stat -c %Y "$W/report.json" 2>/dev/null || echo 0)" != "$before" ] && break; sleep 0.1; done
sleep 1
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON/status")
python3 - "$W" "$t0" "$t1" "$s0" "$s1" "$peak" "$hwm" "$(getconf CLK_TCK)" <<'PY'
import json, sys
w, t0, t1, s0, s1, peak, hwm, hz = sys.argv[1:]
drv = json.load(open(f"{w}/driver.json"))
rep = json.load(open(f"{w}/report.json"))
kinds = rep["records"]["by_kind"]
dma = {k: v for k, v in kinds.items() if k.startswith("dma_") or k in ("device", "stack")}
losses = {l["name"]: l["count"] for l in rep["losses"]}
dropped = losses.get("ring_full_bulk", 0) + losses.get("ring_full_critical", 0)
leakers = set(drv["leaker_pids"])
leaks = [f for f in rep["findings"] if f["kind"] == "dma_leak_owner_exit"]
found = sum(1 for f in leaks if f["pid"] in leakers)
other = [f["kind"] for f in rep["findings"] if f["kind"] != "dma_leak_owner_exit" or f["pid"] not in leakers]
dev = next(d for d in rep["devices"] if d["name"].startswith("bench:"))
page = dev["dma_api"]["page"]
wall = float(s1) - float(s0)
cpu = (int(t1) - int(t0)) / int(hz) / wall * 100
print(f"driver: {drv['produced']} handler events in {drv['seconds']} s = {drv['events_per_s'] / 1e6:.2f} M events/s")
print(f"daemon: received DMA records {dma}; counted by BPF: {page['maps']} maps, {page['unmaps']} unmaps")
print(f"dropped (ring full): {dropped}; pairing fallbacks: table full {losses.get('dma_pairing_table_full', 0)}, "
      f"promotions deferred {losses.get('dma_promotion_deferred', 0)}; late records {losses.get('late_records', 0)}")
print(f"daemon CPU {cpu:.1f} % of one core; RSS peak {int(peak) / 1024:.1f} MiB (VmHWM {int(hwm) / 1024:.1f} MiB)")
print(f"leaks: planted {drv['leaks_planted']}, found {found} (owner exit){'; other findings: ' + str(other) if other else ''}")
delivered = sum(dma.values())
print(json.dumps({"produced": drv["produced"], "events_per_s": round(drv["events_per_s"]), "delivered": delivered,
                  "dropped": dropped, "counted_maps": page["maps"], "counted_unmaps": page["unmaps"],
                  "daemon_cpu_pct": round(cpu, 1), "daemon_rss_mib": round(int(hwm) / 1024, 1),
                  "leaks_found": found, "leaks_planted": drv["leaks_planted"]}))
PY
rm -rf "$W"
