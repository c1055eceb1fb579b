#!/usr/bin/env bash
# Slowdown of GC-heavy workloads with GC tracing on vs off (bench/gc_overhead_bench.cc):
# interleaved untraced/traced rounds, ratio of the medians, one figure per runtime.
# Run as root from the repository root: bench/gc_overhead.sh [ROUNDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
build=${2:-build}
ninja -C "$build" -j2 gc_overhead_bench >/dev/null
bench="$build/bench/gc_overhead_bench"

# CPython: automatic generation-0 collections from cyclic garbage, thousands per second.
"$bench" "$rounds" -- /usr/bin/python3.11 bench/gc_workload.py 300000

# Go: runtime.GC() cycles (two stop-the-worlds each) plus a few non-GC stops.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd tests/testprogs/gc/go && HOME="$tmp" GOCACHE="$tmp/cache" go build -ldflags=-w -o "$tmp/gcpauses" .)
"$bench" "$rounds" -- "$tmp/gcpauses" 300
