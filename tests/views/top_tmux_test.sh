#!/usr/bin/env bash
# `gputrace top` in a real terminal: tmux runs it on the bundled guest capture (which has
# leak findings), sends keys (sort, filter, help, detail, write reports, quit), resizes the
# window, and checks the screen with capture-pane after each step. Also checks that the
# terminal is given back (alternate screen off) after `q` and after SIGTERM, and the
# command line and --batch replays (options refused, report files at -n, a cut capture).
# Every check polls the screen (up to 10 s): the CI machine is a loaded 2-core VM, so no
# fixed sleep after a key is long enough.
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
# Waits (up to 10 s) until the screen contains the text, or (expect_not) no longer does.
wait_for() {
  local text=$1
  for _ in $(seq 100); do
    screen | grep -qF -- "$text" && return 0
    sleep 0.1
  done
  fail "screen never showed '$text'"
  return 1
}
expect() { wait_for "$1" || true; }
expect_not() {
  for _ in $(seq 100); do
    screen | grep -qF -- "$1" || return 0
    sleep 0.1
  done
  fail "did not expect '$1'"
}
# The last line (the status line) shows the text.
expect_status() {
  for _ in $(seq 100); do
    screen | tail -1 | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  fail "the status line never showed '$1'"
}
# Waits until no line is wider than $1 (after a resize).
wait_width() {
  for _ in $(seq 100); do
    [ "$(screen | awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }')" -le "$1" ] && return 0
    sleep 0.1
  done
  fail "a line stayed wider than $1 columns after the resize"
}
keys() { tmux_ send-keys -t top "$@"; }

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
# insmod's driver left three mappings at unbind (its LEAKS), edu_user two at exit
[ "$first" = "insmod*" ] || fail "sorted by leaks, the first row should be insmod, not '$first'"
second=$(screen | awk '/LEAKSv/ {getline; getline; print $2; exit}')
[ "$second" = "edu_user*" ] || fail "sorted by leaks, the second row should be edu_user, not '$second'"
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
wait_width 80
[ "$(screen | wc -l)" -eq 24 ] || fail "the screen should have 24 lines after resizing"
expect "MAPS/s"
expect_not "CONTAINER"  # dropped first on a narrow terminal
expect_status "q quit"
# What is wrong with a device comes before its rates: leaks and faults fit in 80 columns.
expect "0000:00:04.0  gputrace_edu      leaks 5  faults 1"
save resize-80x24

step="80x24 status line"
keys / e d u Enter
expect_status "filter 'edu' (Esc clears)"
keys p
expect_status "PAUSED  filter 'edu' (Esc clears)"
expect_status "q quit"
save status-80x24
keys p Escape
expect_not "PAUSED"
expect_not "filter 'edu'"

step="80x24 help"
keys '?'
expect "HELP  (any key closes it, q quits)"
expect "w  write report files (--report-dir)"
save help-80x24
keys x
expect_not "HELP  (any key"

tmux_ resize-window -t top -x 160 -y 45
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

step="command line"
# Refused, with exit status 2 and a message saying what to do instead.
refused() {
  local want=$1
  shift
  local rc=0
  "$gputrace" top "$@" >/dev/null 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] || fail "'gputrace top $*' should exit 2, not $rc"
  grep -qF -- "$want" "$work/err" || fail "'gputrace top $*' should say '$want', said: $(cat "$work/err")"
}
refused "did you mean --replay $capture?" "$capture"
refused "--speed 'inf' must be a positive number" --batch --replay "$capture" --speed inf
refused "--speed 'nan' must be a positive number" --batch --replay "$capture" --speed nan
refused "--iterations '99999999999999999999' must be a positive number" --batch --replay "$capture" --speed 1 -n 99999999999999999999
refused "without --speed a replay shows its end state once" --batch --replay "$capture" -n 3

step="batch -n with report files"
# A replay that -n ends early still writes the report files (as q and the end do).
timeout 60 "$gputrace" top --batch --replay "$capture" --speed 4 --interval 1s -n 2 --report-dir "$work/batch-reports" \
  >"$work/batch-n.txt" 2>"$work/batch-n.err" || fail "--batch -n 2 failed: $(cat "$work/batch-n.err")"
[ "$(grep -c '^gputrace top ' "$work/batch-n.txt")" = 2 ] || fail "-n 2 should print two snapshots"
for f in summary.md report.html trace.json report.json; do
  [ -s "$work/batch-reports/$f" ] || fail "-n should not skip the report files: no $f"
done
# A tiny speed still moves (a step of at least 1 ns) and ends with -n.
timeout 60 "$gputrace" top --batch --replay "$capture" --speed 1e-300 -n 2 >/dev/null || fail "--speed 1e-300 -n 2 did not end"

step="batch truncated capture"
# A capture cut mid-chunk: warned on stderr and said in the frame, like `gputrace report`.
size=$(stat -c %s "$capture")
head -c $((size - 100)) "$capture" >"$work/cut.gtrace"
"$gputrace" top --batch --replay "$work/cut.gtrace" >"$work/cut.txt" 2>"$work/cut.err" || fail "replay of a cut capture failed"
grep -qi "warning" "$work/cut.err" || fail "a cut capture should be warned about on stderr: $(cat "$work/cut.err")"
grep -q '^note: ' "$work/cut.txt" || fail "a cut capture should be noted in the --batch frame"

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
