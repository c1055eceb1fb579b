"""GC-heavy CPython workload for bench/gc_overhead.sh: allocation churn with reference cycles,
so the interpreter collects on its own (thousands of generation-0 collections per second)."""
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
keep = []
for i in range(rounds):
    a, b = {}, {}
    a["b"], b["a"] = b, a  # a cycle: only the collector frees it
    keep.append([i])
    if len(keep) > 5000:
        keep = []
