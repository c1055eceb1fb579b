#!/usr/bin/env bash
# deploy-manual: the packaged unit under real systemd as PID 1 — a podman container booting
# Debian 12's systemd, with the package installed (deploy/container/Containerfile.systemd).
# The container is given the unit's four capabilities (and podman's defaults, which systemd
# itself needs) and /dev/kmsg; everything else is the unit's own hardening, applied by systemd:
#   systemctl enable --now gputrace          (the README's command) → active, no warnings
#   a CPython workload as another (dynamic) user collecting garbage → its pauses on /metrics
#   systemctl kill -s USR1 --kill-whom=main  → report files in /var/lib/gputrace/reports, 0600
#   systemctl reload                         → the configuration read again
#   systemctl kill -s KILL                   → Restart=on-failure starts it again
#   systemctl stop                           → final reports, inactive, result success
#   systemd-analyze security                 → the exposure score under the running systemd
#
#   tests/deploy/systemd_pid1.sh DEB SOURCE_DIR
set -euo pipefail
deb=$(realpath "$1")
src=$(realpath "$2")
[ "$(id -u)" = 0 ] || { echo "systemd_pid1.sh: needs root"; exit 77; }
command -v podman >/dev/null || { echo "systemd_pid1.sh: podman is missing"; exit 77; }
source "$src/deploy/container/podman-env.sh"
"$src/deploy/container/build-image.sh" "$deb" >/dev/null  # the base image
version=$(dpkg-deb -f "$deb" Version)
image=localhost/gputrace-systemd:$version
ctx=$(mktemp -d)
name=gputrace-systemd-pid1
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$ctx"' EXIT
cp "$deb" "$ctx/gputrace.deb"
podman build --quiet --network=host -v "${GPUTRACE_CACHE:-/var/cache/gputrace}/apt-archives:/var/cache/apt/archives" \
  -t "$image" -f "$src/deploy/container/Containerfile.systemd" "$ctx" >/dev/null

podman rm -f "$name" >/dev/null 2>&1 || true
podman run -d --name "$name" --systemd=always --cap-add=SYS_ADMIN,SYS_PTRACE,DAC_READ_SEARCH,SYSLOG \
  --device /dev/kmsg "$image" >/dev/null
inside() { podman exec "$name" "$@"; }
failures=0
check() {  # DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "   ok: $what"; else echo "   FAIL: $what"; failures=$((failures + 1)); fi
}
for _ in $(seq 60); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  [ "$state" = running ] || [ "$state" = degraded ] && break
  sleep 1
done
echo "== PID 1 in the container: $(inside cat /proc/1/comm); system: $state"

echo "== systemctl enable --now gputrace"
inside systemctl enable --now gputrace 2>&1
sleep 3
inside systemctl status gputrace --no-pager -l | sed -n '1,12p'
check "active" bash -c "[ \"\$(podman exec $name systemctl is-active gputrace)\" = active ]"
check "no warning in its log" bash -c "! podman exec $name journalctl -u gputrace --no-pager | grep -q warning"
inside sh -c 'grep -E "^(Uid|CapEff|CapAmb|NoNewPrivs|Seccomp):" /proc/$(systemctl show -p MainPID --value gputrace)/status'

echo "== a CPython workload as another user (systemd-run -p DynamicUser=yes), collecting garbage"
inside systemd-run --quiet --unit=gc-workload -p DynamicUser=yes /usr/bin/python3.11 -c '
import gc, time
class Node: pass
while True:
    garbage = [Node() for _ in range(2000)]
    for n in garbage: n.me = n
    gc.collect()
    time.sleep(0.01)
'
sleep 12  # the next export after the workload's first pauses (interval 10 s)
workload=$(inside systemctl show -p MainPID --value gc-workload)
echo "workload: pid $workload in the container ($(podman top "$name" pid hpid args | awk -v p="$workload" '$1 == p {print "host pid " $2}'))"
inside curl -s 127.0.0.1:9478/metrics > "$ctx/metrics"
grep -E '^gputrace_process_(gc_pause_duration_seconds_count|gc_full_collections_total|info)' "$ctx/metrics"
check "the workload's GC pauses are on /metrics" \
  grep -q '^gputrace_process_gc_pause_duration_seconds_count{.*comm="python3.11"} [1-9]' "$ctx/metrics"

echo "== systemctl kill -s USR1 --kill-whom=main gputrace"
inside systemctl kill -s USR1 --kill-whom=main gputrace
sleep 2
inside journalctl -u gputrace --no-pager -n 4 -o cat
inside ls -l /var/lib/gputrace/reports
check "report files written, mode 0600" bash -c "podman exec $name stat -c %a /var/lib/gputrace/reports/report.html | grep -qx 600"

echo "== systemctl reload gputrace (interval 10s → 5s)"
inside sed -i 's/^interval = 10s/interval = 5s/' /etc/gputrace/gputrace.conf
inside systemctl reload gputrace
sleep 1
inside journalctl -u gputrace --no-pager -n 1 -o cat
check "reloaded" bash -c "podman exec $name journalctl -u gputrace --no-pager | grep -q 'reloaded /etc/gputrace/gputrace.conf'"

echo "== systemctl kill -s KILL gputrace (Restart=on-failure)"
before=$(inside systemctl show -p MainPID --value gputrace)
inside systemctl kill -s KILL gputrace
sleep 8
inside systemctl show -p ActiveState -p SubState -p NRestarts -p MainPID gputrace
after=$(inside systemctl show -p MainPID --value gputrace)
check "restarted with a new process ($before → $after)" bash -c "[ \"\$(podman exec $name systemctl show -p NRestarts --value gputrace)\" = 1 ] && [ '$after' != '$before' ] && [ '$after' != 0 ]"

echo "== systemctl stop gputrace"
inside systemctl stop gputrace
inside journalctl -u gputrace --no-pager -n 7 -o cat
check "stopped cleanly" bash -c "[ \"\$(podman exec $name systemctl show -p Result --value gputrace)\" = success ]"

echo "== systemd-analyze security gputrace (under the running systemd)"
inside systemd-analyze security gputrace --no-pager | grep -E '^(✗|→)' || true
echo "systemd_pid1.sh: $failures failure(s)"
[ "$failures" = 0 ]
