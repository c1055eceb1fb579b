#!/usr/bin/env bash
# `gputrace top` in a real terminal: tmux runs it on the bundled guest capture (which has
# leak findings), sends keys (sort, filter, help, detail, write reports, quit), resizes the
# window, and checks the screen with capture-pane after each step. Also checks that the
# terminal is given back (alternate screen off) after `q` and after SIGTERM.
#
#   tests/views/top_tmux_test.sh GPUTRACE CAPTURE ARTEFACT_DIR
#
# Screens are saved under ARTEFACT_DIR/top-*.txt. Exit 77 (skipped) when tmux is missing.
set -euo pipefail
gputrace=$1 capture=$2 artefacts=$3
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed (scripts/install-deps.sh installs it)"; exit 77; }
mkdir -p "$artefacts"
work=$(mktemp -d)
sock="gputrace-views-$$"
tmux_() { tmux -L "$sock" "$@"; }
cleanup() { tmux_ kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

failures=0
step=""
screen() { tmux_ capture-pane -p -t top; }
save() { screen >"$artefacts/top-$1.txt"; }
fail() {
  echo "FAIL [$step]: $*"
  echo "---- screen ----"
  screen || true
  echo "----------------"
  failures=$((failures + 1))
}
# Waits (up to 10 s) until the screen contains the text.
wait_for() {
  local text=$1
  for _ in $(seq 100); do
    screen | grep -qF -- "$text" && return 0
    sleep 0.1
  done
  fail "screen never showed '$text'"
  return 1
}
expect() { screen | grep -qF -- "$1" || fail "expected '$1'"; }
expect_not() { ! screen | grep -qF -- "$1" || fail "did not expect '$1'"; }
keys() { tmux_ send-keys -t top "$@"; sleep 0.3; }

start() {
  tmux_ kill-session -t top 2>/dev/null || true
  # remain-on-exit keeps the pane after gputrace exits, so its last state can be checked.
  tmux_ new-session -d -s top -x 160 -y 45 \
    "'$gputrace' top --replay '$capture' --report-dir '$work/reports'; echo \"gputrace exited with status \$?\""
  tmux_ set-option -t top remain-on-exit on >/dev/null
}
pane() { tmux_ display-message -p -t top "$1"; }

step="start"
start
wait_for "FINDINGS (6, newest first)"
expect "gputrace top"
expect "replay of $capture (end)"
expect "findings 6 (4 critical, 2 warning, 0 info)"
expect "0000:00:04.0  gputrace_edu"
expect "iommu strict"
expect "dma_leak_unbind 0000:00:04.0: page mapping"
expect "dma_leak_owner_exit edu_user[394] exited with page mapping"
expect "q quit"
[ "$(pane '#{alternate_on}')" = 1 ] || fail "top should draw on the alternate screen"
save start

step="sort"
keys P  # by pid, ascending
expect "PID^"
first=$(screen | awk '/PID\^/ {getline; print $1; exit}')
[ "$first" = 386 ] || fail "sorted by pid, the first row should be 386, not '$first'"
keys L  # by leaks, biggest first
expect "LEAKSv"
first=$(screen | awk '/LEAKSv/ {getline; print $2; exit}')
[ "$first" = "edu_user*" ] || fail "sorted by leaks, the first row should be edu_user, not '$first'"
save sort

step="filter"
keys / e d u
expect "filter: edu"
keys Enter
expect "filter 'edu' (Esc clears)"
rows=$(screen | grep -cE '^ +[0-9]+ ' || true)
[ "$rows" = 2 ] || fail "filter 'edu' should leave the two edu_user rows, not $rows"
expect_not " insmod*"
save filter

step="detail"
keys Enter
expect "PROCESS 394 edu_user  [exited]"
expect "leaks 2"
save detail
keys Escape
expect_not "PROCESS 394"
keys Escape  # clears the filter
expect " insmod*"

step="help"
keys '?'
expect "HELP  (any key closes it, q quits)"
expect "MAPS/s     DMA mappings made per second"
save help
keys x
expect_not "HELP  (any key"
expect "PID COMMAND"

step="resize"
tmux_ resize-window -t top -x 80 -y 24
sleep 0.5
width=$(screen | awk '{ if (length($0) > w) w = length($0) } END { print w }')
[ "$width" -le 80 ] || fail "a line is $width columns wide after resizing to 80"
[ "$(screen | wc -l)" -eq 24 ] || fail "the screen should have 24 lines after resizing"
expect "MAPS/s"
expect_not "CONTAINER"  # dropped first on a narrow terminal
screen | tail -1 | grep -qF "q quit" || fail "the status line should stay on the last line"
save resize-80x24
tmux_ resize-window -t top -x 160 -y 45
sleep 0.5
expect "CONTAINER"

step="write reports"
keys w
expect "report files written to $work/reports"
for f in summary.md report.html trace.json report.json; do
  [ -s "$work/reports/$f" ] || fail "w should have written $work/reports/$f"
done

step="quit"
keys q
for _ in $(seq 50); do [ "$(pane '#{pane_dead}')" = 1 ] && break; sleep 0.1; done
[ "$(pane '#{pane_dead}')" = 1 ] || fail "q should end gputrace top"
expect "gputrace exited with status 0"
[ "$(pane '#{alternate_on}')" = 0 ] || fail "the terminal should be back on the normal screen after q"

step="SIGTERM"
start
wait_for "FINDINGS (6, newest first)"
top_pid=$(pgrep -P "$(pane '#{pane_pid}')" -x gputrace) || fail "no gputrace process under the pane's shell"
kill -TERM "$top_pid"
for _ in $(seq 50); do [ "$(pane '#{pane_dead}')" = 1 ] && break; sleep 0.1; done
[ "$(pane '#{pane_dead}')" = 1 ] || fail "SIGTERM should end gputrace top"
[ "$(pane '#{alternate_on}')" = 0 ] || fail "the terminal should be restored after SIGTERM"
expect "wrote $work/reports/report.html"  # report files at exit
expect "gputrace exited with status 0"

step="batch"
# --batch plays the capture through: one snapshot per 4 s of capture, the last one has
# every finding; no terminal needed.
"$gputrace" top --batch --replay "$capture" --speed 4 --interval 1s >"$artefacts/top-batch.txt"
snapshots=$(grep -c '^gputrace top ' "$artefacts/top-batch.txt")
[ "$snapshots" -ge 3 ] || fail "--batch --speed 4 printed $snapshots snapshots, want at least 3"
grep '^findings ' "$artefacts/top-batch.txt" | head -1 | grep -qF "findings 0 " ||
  fail "the first snapshot should come before any finding"
grep '^findings ' "$artefacts/top-batch.txt" | tail -1 | grep -qF "findings 6 (4 critical, 2 warning, 0 info)" ||
  fail "the last snapshot should have all six findings"
tail -3 "$artefacts/top-batch.txt" | grep -qF "dma_leak_owner_exit" || fail "the last snapshot should list findings"
! grep -qF "q quit" "$artefacts/top-batch.txt" || fail "--batch has no status line"

if [ "$failures" -ne 0 ]; then
  echo "top_tmux_test: $failures failure(s); screens in $artefacts"
  exit 1
fi
echo "top_tmux_test: all steps passed; screens in $artefacts"
