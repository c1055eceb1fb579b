#!/usr/bin/env bash
# Each capability the gputrace service keeps (deploy/systemd/gputrace.service), shown
# necessary: the daemon runs as an unprivileged user (nobody, as the unit's DynamicUser does)
# with the unit's capabilities as ambient ones — once with all of them, then once without
# each — while Debian's CPython 3.11 (which has USDT probes), owned by another user and run from
# that user's private directory (mode 0700), collects garbage.
#
#   tests/deploy/capabilities.sh GPUTRACE
#
# Needs root (uid changes, a private /run/gputrace), /usr/bin/python3.11 and curl. Prints one
# block per case: the capabilities, the daemon's exit status, the workload's GC pauses in the
# exported metrics, and the daemon's warnings; exits non-zero when a case disagrees.
set -euo pipefail
gputrace=$(realpath "$1")
[ "$(id -u)" = 0 ] || { echo "capabilities.sh: needs root"; exit 77; }
for p in /usr/bin/python3.11 curl setpriv unshare; do
  command -v "$p" >/dev/null || { echo "capabilities.sh: $p is missing"; exit 77; }
done

work=$(mktemp -d /tmp/gputrace-caps-XXXXXX)
workload_pid=
cleanup() {
  [ -n "$workload_pid" ] && kill "$workload_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"
# The served process: another user (uid 4242), its own copy of python3.11 in a 0700 directory.
home=$work/home
mkdir -p "$home/bin"
cp /usr/bin/python3.11 "$home/bin/"
cat > "$home/gc_loop.py" <<'EOF'
import gc, time
class Node: pass
end = time.time() + 300
while time.time() < end:
    garbage = []
    for _ in range(2000):
        n = Node(); n.me = n; garbage.append(n)
    gc.collect()
    time.sleep(0.01)
EOF
chown -R 4242:4242 "$home"
chmod 0700 "$home"
setpriv --reuid=4242 --regid=4242 --clear-groups "$home/bin/python3.11" "$home/gc_loop.py" &
workload_pid=$!

UNIT_CAPS=sys_admin,sys_ptrace,dac_read_search,syslog
failures=0

# run_case NAME CAPS: the daemon as nobody with ambient CAPS ("" for none) for 6 s; sets
# rc, pauses (the workload's GC pause count, empty when absent), log.
run_case() {
  local name=$1 caps=$2 set=-all
  [ -n "$caps" ] && set="-all,+${caps//,/,+}"
  log=$work/$name.log
  # a /run/gputrace of its own, owned by the daemon's user, as the unit's RuntimeDirectory is
  unshare --mount --propagation private sh -c '
    mkdir -p /run/gputrace && mount -t tmpfs -o mode=0755,uid=65534,gid=65534 gputrace-caps /run/gputrace &&
    exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$1" --ambient-caps="$1" \
      "$2" daemon --listen 127.0.0.1:0 --interval 1s --duration 6s' sh "$set" "$gputrace" >"$log" 2>&1 &
  local daemon=$!
  local url=
  for _ in $(seq 50); do
    url=$(grep -o 'http://[0-9.:]*/metrics' "$log" || true)
    [ -n "$url" ] || ! kill -0 "$daemon" 2>/dev/null && break
    sleep 0.2
  done
  pauses=
  if [ -n "$url" ]; then
    sleep 3.5
    pauses=$(curl -s "$url" | grep "^gputrace_process_gc_pause_duration_seconds_count{pid=\"$workload_pid\"" |
             awk '{print $2}' || true)
  fi
  rc=0
  wait "$daemon" || rc=$?
  echo "== $name: capabilities {${caps:-none}}"
  echo "   daemon exit status: $rc; GC pauses of the workload (pid $workload_pid, uid 4242): ${pauses:-none}"
  grep -E 'warning|error' "$log" | sed 's/^/   /' || true
}

# expect DESCRIPTION CONDITION...: counts a failure when the condition does not hold
expect() {
  local what=$1
  shift
  if "$@"; then echo "   ok: $what"; else echo "   FAIL: $what"; failures=$((failures + 1)); fi
}
has() { grep -q -- "$1" "$log"; }
traced() { [ -n "$pauses" ] && [ "$pauses" -gt 0 ]; }
not_traced() { [ -z "$pauses" ] || [ "$pauses" = 0 ]; }

sleep 1  # the workload's first collections
run_case all "$UNIT_CAPS"
expect "runs, traces the workload's GC, warns of nothing missing" \
  bash -c "[ $rc = 0 ] && [ -n '$pauses' ] && [ '${pauses:-0}' -gt 0 ] && ! grep -q 'without CAP_\|cannot read the kernel log' '$log'"

run_case without-CAP_SYS_ADMIN "sys_ptrace,dac_read_search,syslog"
expect "refuses to start: nothing may load BPF programs" bash -c "[ $rc = 1 ]"
expect "says which capabilities are missing" has "lacks CAP_BPF and CAP_PERFMON"

run_case without-CAP_SYS_ADMIN-with-CAP_BPF-CAP_PERFMON "bpf,perfmon,sys_ptrace,dac_read_search,syslog"
expect "runs (tracepoints attach)" bash -c "[ $rc = 0 ]"
expect "GC pauses are not traced" not_traced
expect "the uprobe attach is refused" has "cannot attach USDT python:gc__done.*Permission denied"

run_case without-CAP_SYS_PTRACE "sys_admin,dac_read_search,syslog"
expect "runs" bash -c "[ $rc = 0 ]"
expect "GC pauses of another user's process are not traced" not_traced
expect "says why" has "without CAP_SYS_PTRACE"

run_case without-CAP_DAC_READ_SEARCH "sys_admin,sys_ptrace,syslog"
expect "runs" bash -c "[ $rc = 0 ]"
expect "GC pauses of a binary in a private directory are not traced" not_traced
expect "names the file it cannot read" has "cannot open /proc/$workload_pid/root.*python3.11: Permission denied"

run_case without-CAP_SYSLOG "sys_admin,sys_ptrace,dac_read_search"
expect "runs and traces GC" traced
expect "cannot read the kernel log, where VT-d reports IOMMU faults" has "cannot read the kernel log /dev/kmsg.*Operation not permitted"
expect "says kernel stack frames stay unnamed" has "without CAP_SYSLOG, /proc/kallsyms shows no addresses"

echo "capabilities.sh: $failures failure(s)"
[ "$failures" = 0 ]
