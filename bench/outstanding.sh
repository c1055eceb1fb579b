#!/usr/bin/env bash
# Memory with many outstanding DMA mappings: a `gputrace daemon` while bench/sustained_driver
# makes N long-lived mappings (default 1,000,000) at RATE per second through the daemon's own
# DMA handlers, holds them, then unmaps them. Reports the daemon's peak RSS, the kernel
# memory of its BPF maps (the pairing table, rings, counters: memlock in fdinfo), their sum,
# and how many mappings the daemon tracked at the peak. Last line: one JSON object.
# usage: sudo bench/outstanding.sh [BUILD_DIR] [N] [RATE] [HOLD_SECONDS]
set -euo pipefail
BUILD=${1:-build}; N=${2:-1000000}; RATE=${3:-100000}; HOLD=${4:-10}
GT=$BUILD/userspace/gputrace; DRIVER=$BUILD/bench/sustained_driver
for f in "$GT" "$DRIVER"; do
  [ -x "$f" ] || { echo "outstanding.sh: $f missing: ninja -C $BUILD gputrace sustained_driver" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "outstanding.sh: needs root (BPF)" >&2; exit 2; }
W=$(mktemp -d /tmp/gputrace-outstanding.XXXXXX)
"$GT" daemon --listen none --textfile "$W/metrics.prom" --interval 1s --no-gc > "$W/daemon.log" 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true; wait $DAEMON 2>/dev/null || true; rm -rf "$W"' EXIT
for _ in $(seq 300); do [ -s "$W/metrics.prom" ] && break; sleep 0.1; done
[ -s "$W/metrics.prom" ] || { echo "outstanding.sh: the daemon did not start:" >&2; cat "$W/daemon.log" >&2; exit 1; }
# The daemon's RSS without its mmapped BPF maps (rings, the pairing table): those pages are
# the kernel's, already in bpf_kib's memlock; counting them twice overstated the total.
rss_kib() {
  awk '/^[0-9a-f]+-/ { map = ($6 == "anon_inode:bpf-map") } /^Rss:/ { if (map) m += $2; else r += $2 }
       END { print r }' "/proc/$DAEMON/smaps"
}
bpf_kib() {  # memlock of every BPF map the daemon holds (kernel memory, counted once per map id)
  for f in /proc/$DAEMON/fdinfo/*; do
    awk '/^map_id:/ { id = $2 } /^memlock:/ { m = $2 } END { if (id) print id, m }' "$f" 2>/dev/null
  done | sort -u -k1,1 | awk '{ s += $2 } END { print int(s / 1024) }'
}
tracked() { awk '/^gputrace_device_dma_outstanding_mappings\{.*bench:/ { print $2 }' "$W/metrics.prom"; }
base_rss=$(rss_kib); base_bpf=$(bpf_kib)
"$DRIVER" --pid "$DAEMON" --hold "$N" --rate "$RATE" --seconds "$HOLD" > "$W/driver.json" 2> "$W/driver.log" &
DRV=$!
peak=0; peak_tracked=0
while kill -0 $DRV 2>/dev/null; do
  r=$(rss_kib); [ "$r" -gt "$peak" ] && peak=$r
  t=$(tracked); [ -n "$t" ] && [ "${t%.*}" -gt "$peak_tracked" ] && peak_tracked=${t%.*}
  sleep 0.5
done
wait $DRV
bpf=$(bpf_kib)
losses=$(grep -E '^gputrace_losses_total\{counter="(ring_full_bulk|dma_pairing_table_full|dma_promotion_deferred)"' "$W/metrics.prom" || true)
python3 - "$N" "$base_rss" "$peak" "$base_bpf" "$bpf" "$peak_tracked" "$losses" <<'PY'
import json, sys
n, base_rss, peak, base_bpf, bpf, tracked = (int(x) for x in sys.argv[1:7])
losses = {l.split('"')[1]: int(float(l.split()[-1])) for l in sys.argv[7].splitlines() if l.strip()}
mib = lambda kib: kib / 1024
print(f"daemon RSS: {mib(base_rss):.1f} MiB idle, {mib(peak):.1f} MiB peak with {tracked} mappings tracked "
      f"({(peak - base_rss) * 1024 / max(tracked, 1):.0f} bytes each)")
print(f"kernel (BPF maps, memlock): {mib(bpf):.1f} MiB (rings, pairing table, counters; {mib(base_bpf):.1f} MiB before)")
print(f"total: {mib(peak + bpf):.1f} MiB for {n} outstanding mappings; {losses}")
print(json.dumps({"outstanding": n, "tracked_at_peak": tracked, "daemon_rss_mib": round(mib(peak), 1),
                  "kernel_bpf_mib": round(mib(bpf), 1), "total_mib": round(mib(peak + bpf), 1), **losses}))
PY
