#!/usr/bin/env bash
# BPF cost per DMA event: gputrace's map and unmap handlers (paired in the kernel), a map
# on a device outside the filter, the same handlers with pairing off, a count-only raw_tp
# and bpftrace counting the same calls. Interleaved rounds (background noise of this shared
# machine hits every configuration alike); prints the median CPU ns each adds per event
# over the no-BPF baseline of the same round, the ratios to bpftrace's count(), and, as
# its last line, one JSON object with those medians and ratios.
# usage: sudo bench/bpf_cost.sh [BUILD_DIR] [ROUNDS] [N]
set -euo pipefail
BUILD=${1:-build}; ROUNDS=${2:-5}; N=${3:-1000000}
B=$BUILD/bench/bpf_cost
[ -x "$B" ] || { echo "bpf_cost.sh: $B missing: ninja -C $BUILD bpf_cost" >&2; exit 2; }
command -v bpftrace >/dev/null || { echo "bpf_cost.sh: bpftrace missing (scripts/install-deps.sh)" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$ROUNDS"); do
  for mode in none count_only dma_handlers dma_filtered dma_unpaired; do
    echo "$r $mode $("$B" "$mode" "$N" 2>&1 | grep mode=)" >> "$out"
  done
  # bpftrace counts the same calls of the same kind of process (pid filter, map increment)
  line=$(bpftrace -e 'tracepoint:syscalls:sys_enter_getpid,tracepoint:syscalls:sys_enter_getppid
                      /pid == cpid/ { @n = count(); }' -c "$B none $N" 2>&1 | grep 'mode=')
  echo "$r bpftrace_count $line" >> "$out"
done
python3 - "$out" "$ROUNDS" "$N" <<'PY'
import collections, json, re, statistics, sys
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, label, rest = line.split(' ', 2)
    f = lambda k: float(re.search(k + r'=([\d.]+)', rest).group(1))
    rows[label][rnd] = (f('map_cpu_ns'), f('unmap_cpu_ns'), rest.strip())
base = rows['none']
def added(label, phase):  # median over rounds of (label - baseline) in the same round
    return statistics.median(v[phase] - base[r][phase] for r, v in rows[label].items() if r in base)
m = {
    'map_ns': added('dma_handlers', 0), 'unmap_ns': added('dma_handlers', 1),
    'filtered_ns': added('dma_filtered', 0), 'count_only_ns': added('count_only', 0),
    'bpftrace_ns': added('bpftrace_count', 0),
    'unpaired_map_ns': added('dma_unpaired', 0), 'unpaired_unmap_ns': added('dma_unpaired', 1),
}
print(f"baseline getpid {statistics.median(v[0] for v in base.values()):.1f} ns/call, "
      f"getppid {statistics.median(v[1] for v in base.values()):.1f} ns/call; "
      f"{len(base)} rounds of {sys.argv[3]} calls each")
for k, label in [('map_ns', 'map handler (paired)'), ('unmap_ns', 'unmap handler (paired)'),
                 ('filtered_ns', 'map, device filtered out'), ('count_only_ns', 'count-only raw_tp'),
                 ('bpftrace_ns', 'bpftrace count()'), ('unpaired_map_ns', 'map handler, pairing off'),
                 ('unpaired_unmap_ns', 'unmap handler, pairing off')]:
    extra = '' if k in ('count_only_ns', 'bpftrace_ns') else f"  {m[k] - m['count_only_ns']:+7.1f} over count-only"
    print(f"{label:<28} {m[k]:+8.1f} ns/event  {m[k] / m['bpftrace_ns']:5.2f} x bpftrace{extra}")
for r, v in sorted(rows['dma_handlers'].items()):
    print(f"  round {r}: {v[2]}")
for k in ('map', 'unmap', 'filtered'):
    m[f'{k}_ratio'] = m[f'{k}_ns'] / m['bpftrace_ns']
print(json.dumps({k: round(v, 2) for k, v in m.items()}))
PY
