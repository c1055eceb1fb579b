#!/usr/bin/env bash
# The gpu tier on a lent GPU machine, in one command (docs/testing.md, "gpu tier"): run from the
# checkout's root with the folder tests/gpu/stage-gpu-tier.sh filled here carried along.
#
#   bash .gpu-tier/run-gpu-tier.sh [STAGE]        (default .gpu-tier; the stage holds a copy
#                                                  of this script)
#
# Writes to $OUT (the device tool brings back at most 8 files; these are 8):
#   env.txt        kernel, GPU and driver, BTF and uprobe PMU, what the carried binaries load
#   tests.log      gpu_tier_tests but the overhead test; tests.xml, its gtest XML
#   record.log     `gputrace record -o vecadd.gtrace -- gpu_vecadd`: gputrace's stderr and the
#                  program's stdout; then `gputrace report --format json`'s stderr
#   vecadd.gtrace  that capture; report.json, its report
#   overhead.log   the launch-overhead test (its GPU_TIER_OVERHEAD line has the ratio)
#   summary.txt    each step's status and the lines that matter, also printed last
# Exits non-zero when a step failed. Each step has its own time limit; all of them together
# stay under 8 minutes, inside the tool's 10 and the session's 15.
set -uo pipefail

stage=$(cd "${1:-.gpu-tier}" && pwd) || { echo "run-gpu-tier: no stage folder ${1:-.gpu-tier}" >&2; exit 2; }
out=${OUT:-/tmp/gpu-tier-out}
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
failed=0

export LD_LIBRARY_PATH=$stage/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GPUTRACE_BIN=$stage/bin/gputrace
export GPUTRACE_CUPTI_LIB=$stage/lib/libgputrace_cupti.so
export GPU_VECADD=$stage/bin/gpu_vecadd
unset CUDA_INJECTION64_PATH  # the tier decides where the library is injected, not the image
tests=$stage/bin/gpu_tier_tests

note() { echo "$*" | tee -a "$summary"; }
# step NAME STATUS: records the outcome; 124 (and 137, after timeout -k's SIGKILL) is timeout's
# word for "ran out of time"
step() {
  local what=$1 rc=$2
  if ((rc == 0)); then note "[ok]     $what"; else note "[failed] $what (exit $rc$( ((rc == 124 || rc == 137)) && echo ', timed out'))"; failed=1; fi
}

# (a) the machine
{
  echo "date: $(date -u +%FT%TZ)   host: $(hostname)   user: $(id -u)"
  echo "kernel: $(uname -r) $(uname -m)"
  echo "gpus:"; timeout 20 nvidia-smi -L 2>&1
  timeout 20 nvidia-smi --query-gpu=name,driver_version,pci.bus_id,clocks.sm,clocks.max.sm --format=csv 2>&1
  echo "/dev/nvidiactl: $([[ -e /dev/nvidiactl ]] && echo present || echo MISSING)"
  echo "BTF /sys/kernel/btf/vmlinux: $([[ -e /sys/kernel/btf/vmlinux ]] && echo present || echo MISSING)"
  echo "uprobe PMU: $([[ -d /sys/bus/event_source/devices/uprobe ]] && echo present || echo MISSING)"
  echo "tracefs: $(ls -d /sys/kernel/tracing/events 2>/dev/null || echo not mounted)"
  echo "lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null || echo n/a)"
  echo "system libraries:"; ldconfig -p | grep -E 'libbpf|libelf|libz\.|libcupti|libcuda\.' || true
  echo "stage $stage:"; ls -l "$stage/bin" "$stage/lib"
  for f in "$stage"/bin/* "$GPUTRACE_CUPTI_LIB"; do echo "ldd $f:"; ldd "$f" 2>&1 | grep -v -E 'linux-vdso|ld-linux'; done
  "$GPUTRACE_BIN" --version 2>&1 || true
} >"$out/env.txt" 2>&1
gpu=$(timeout 20 nvidia-smi -L 2>/dev/null | head -1)
note "kernel $(uname -r); GPU ${gpu:-none (no nvidia-smi or no GPU)}; BTF $([[ -e /sys/kernel/btf/vmlinux ]] && echo yes || echo no); uprobe PMU $([[ -d /sys/bus/event_source/devices/uprobe ]] && echo yes || echo no)"
if ldd "$stage"/bin/* "$GPUTRACE_CUPTI_LIB" 2>&1 | grep -q 'not found'; then
  note "missing libraries (see env.txt): $(ldd "$stage"/bin/* "$GPUTRACE_CUPTI_LIB" 2>&1 | grep 'not found' | sort -u | tr -s ' \t\n' ' ')"
fi

# (b) the tier's tests, but the timed one
timeout -k 5 150 "$tests" --gtest_filter='-GpuTier.LaunchOverhead' --gtest_output="xml:$out/tests.xml" \
  >"$out/tests.log" 2>&1
step "gpu_tier_tests (record, socket, USDT)" $?
results='^\[ +(OK|FAILED|SKIPPED) +\] [A-Za-z].*\([0-9]+ ms\)$'  # one line per test
grep -E "$results" "$out/tests.log" | tee -a "$summary"
grep -A1 ': Skipped$' "$out/tests.log" | grep -v -E ': Skipped$|^--$' | sort -u | sed 's/^/  skipped because: /' |
  tee -a "$summary"

# (c) the recorder by hand, and its report, for a person to read
timeout -k 5 60 "$GPUTRACE_BIN" record -o "$out/vecadd.gtrace" -- "$GPU_VECADD" >"$out/record.log" 2>&1
step "gputrace record -- gpu_vecadd" $?
grep -E '^gputrace:|^gpu_vecadd:|^RESULT=' "$out/record.log" | tee -a "$summary"
# gputrace's exit status is its own: the program's is in its output
grep -q '^RESULT=ok$' "$out/record.log"
step "gpu_vecadd under gputrace record printed RESULT=ok" $?
if [[ -f $out/vecadd.gtrace ]]; then
  chmod 0644 "$out/vecadd.gtrace"  # record creates it 0600
  timeout -k 5 30 "$GPUTRACE_BIN" report "$out/vecadd.gtrace" --format json >"$out/report.json" 2>>"$out/record.log"
  step "gputrace report --format json" $?
  python3 - "$out/report.json" <<'EOF' 2>&1 | tee -a "$summary"
import json, sys
gpu = json.load(open(sys.argv[1])).get("gpu", {})
for p in gpu.get("processes", []):
    print("report gpu process: " + ", ".join(f"{k}={p.get(k)}" for k in
          ("pid", "comm", "kernels", "memcpys", "memcpy_bytes", "memsets")))
if not gpu.get("processes"):
    print("report: no GPU processes")
EOF
fi

# (d) launch overhead, with and without the injection library
timeout -k 5 200 "$tests" --gtest_filter='GpuTier.LaunchOverhead' >"$out/overhead.log" 2>&1
step "launch overhead (GpuTier.LaunchOverhead)" $?
grep -E "^GPU_TIER_OVERHEAD|$results" "$out/overhead.log" | tee -a "$summary"

echo "---- summary ($out/summary.txt)"
cat "$summary"
exit $failed
