#!/usr/bin/env bash
# BPF cost per event: gputrace's DMA map handler vs a count-only raw_tp vs bpftrace counting
# the same getpid() calls. Interleaved rounds (background noise of this shared machine hits
# every configuration alike); prints the median CPU ns added per event over the no-BPF
# baseline of the same round, and the ratio to bpftrace.
# usage: bench/bpf_cost.sh [BUILD_DIR] [ROUNDS] [N]
set -euo pipefail
BUILD=${1:-build}; ROUNDS=${2:-5}; N=${3:-2000000}
B=$BUILD/bench/bpf_cost
out=$(mktemp)
for r in $(seq "$ROUNDS"); do
  for mode in none count_only dma_unmap_handler dma_map_handler; do
    echo "$r $mode $("$B" "$mode" "$N" 2>&1 | grep mode=)" >> "$out"
  done
  # bpftrace counts the same calls of the same kind of process (pid filter, map increment)
  line=$(bpftrace -e 'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @n = count(); }' \
           -c "$B none $N" 2>&1 | grep 'mode=')
  echo "$r bpftrace_count $line" >> "$out"
done
python3 - "$out" <<'PY'
import re, statistics, sys, collections
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, label, rest = line.split(' ', 2)
    ns = float(re.search(r'cpu_ns_per_call=([\d.]+)', rest).group(1))
    rows[label][rnd] = (ns, rest.strip())
base = rows['none']
added = {k: [v[r][0] - base[r][0] for r in v if r in base] for k, v in rows.items() if k != 'none'}
med = {k: statistics.median(v) for k, v in added.items()}
print(f"baseline getpid: median {statistics.median(x[0] for x in base.values()):.1f} ns/call")
for k in ('count_only', 'dma_unmap_handler', 'dma_map_handler', 'bpftrace_count'):
    print(f"{k:<18} +{med[k]:6.1f} ns/event (median of {len(added[k])} rounds)")
print(f"dma_unmap_handler / bpftrace_count = {med['dma_unmap_handler'] / med['bpftrace_count']:.2f}")
print(f"dma_map_handler / bpftrace_count = {med['dma_map_handler'] / med['bpftrace_count']:.2f}")
for r, (ns, rest) in sorted(rows['dma_map_handler'].items()):
    print(f"  round {r}: {rest}")
PY
rm -f "$out"
