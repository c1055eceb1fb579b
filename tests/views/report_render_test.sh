#!/usr/bin/env bash
# The report files of the bundled guest capture, end to end through the CLI:
#   - report.html renders in headless Chromium with no console message (errors, uncaught
#     exceptions, failed loads); the rendered DOM has the timeline, charts and all six
#     findings; a screenshot is kept as a test artefact (ARTEFACT_DIR/report.png);
#   - trace.json passes the Chrome trace event format check (check_chrome_trace.py);
#   - summary.md names the findings worst first.
# A control page with a deliberate console error must be caught first, so a Chromium that
# stopped logging console messages fails this test instead of passing it silently.
#
#   tests/views/report_render_test.sh GPUTRACE CAPTURE ARTEFACT_DIR
#
# Exit 77 (skipped) when Chromium is missing (scripts/install-deps.sh installs it).
set -euo pipefail
gputrace=$1 capture=$2 artefacts=$3
here=$(cd "$(dirname "$0")" && pwd)
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it)"; exit 77; }
mkdir -p "$artefacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Runs headless Chromium on a file: stdout to $2, Chromium's log (console messages) to $3.
chrome() {
  local page=$1 out=$2 log=$3
  shift 3
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
    --host-resolver-rules="MAP * ~NOTFOUND" "$@" "file://$page" >"$out" 2>"$log" || true
}
console_lines() { grep -E ':CONSOLE[:(]|Uncaught|Failed to load resource' "$1" || true; }

echo "== control: a console error must be detected"
cat >"$work/control.html" <<'EOF'
<!DOCTYPE html><html><body><p id="x">control</p><script>console.error("control error"); nosuchfunction();</script></body></html>
EOF
chrome "$work/control.html" "$work/control.dom" "$work/control.log" --dump-dom
if [ -z "$(console_lines "$work/control.log")" ]; then
  fail "Chromium's log shows no console message for the control page: this test could not see errors"
  sed -n 1,20p "$work/control.log"
fi

echo "== gputrace report --out-dir"
"$gputrace" report "$capture" --out-dir "$work/reports" >"$work/written.txt"
for f in summary.md report.html trace.json report.json; do
  grep -qx "$work/reports/$f" "$work/written.txt" || fail "report --out-dir did not list $f"
done
cp "$work/reports/report.html" "$work/reports/trace.json" "$work/reports/summary.md" "$artefacts/"

echo "== report.html in headless Chromium"
chrome "$work/reports/report.html" "$work/report.dom" "$work/report.log" --dump-dom
messages=$(console_lines "$work/report.log")
if [ -n "$messages" ]; then
  fail "console messages while rendering report.html:"
  echo "$messages"
else
  echo "console: no messages"
fi
for id in summary timeline timeline-svg charts chart-outstanding chart-gc findings devices processes losses finding-6; do
  grep -q "id=\"$id\"" "$work/report.dom" || fail "rendered DOM has no element with id=$id"
done
findings=$(grep -o '<article class="finding' "$work/report.dom" | wc -l)
[ "$findings" = 6 ] || fail "rendered DOM has $findings findings, want 6"
grep -q 'Findings, worst first (6)' "$work/report.dom" || fail "findings heading missing"
grep -q '0000:00:04.0 gputrace_edu' "$work/report.dom" || fail "the edu device's timeline lane is missing"
# Self-contained: nothing to load (Chromium does not log failed file loads as console messages).
! grep -Eq '<(img|script|link|iframe)|(src|href)=' "$work/report.dom" || fail "report.html refers to something outside it"

chrome "$work/reports/report.html" "$work/shot.out" "$work/shot.log" --window-size=1280,2400 \
  --screenshot="$artefacts/report.png"
messages=$(console_lines "$work/shot.log")
[ -z "$messages" ] || fail "console messages while taking the screenshot: $messages"
python3 - "$artefacts/report.png" <<'EOF' || fail "screenshot is not a 1280x2400 PNG with content"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1280, 2400), (w, h)
assert len(data) > 50_000, f"only {len(data)} bytes: a blank page?"
print(f"screenshot: {sys.argv[1]} {w}x{h}, {len(data)} bytes")
EOF

echo "== trace.json"
python3 "$here/check_chrome_trace.py" "$work/reports/trace.json" \
  --expect-process "0000:00:04.0 gputrace_edu" --expect-process "0000:00:02.0 nvme" \
  --expect-event dma_leak_unbind --expect-event dma_leak_owner_exit --expect-event iommu_fault \
  --expect-event "outstanding mappings" || fail "trace.json is not a valid Chrome trace"

echo "== summary.md"
head -12 "$work/reports/summary.md" | grep -q '^- 6 findings: 4 critical, 2 warning, 0 info.$' ||
  fail "summary.md should open with the six findings"
grep -q '^### 1\. critical · `dma_leak_unbind`$' "$work/reports/summary.md" || fail "worst finding should come first"

if [ "$failures" -ne 0 ]; then
  echo "report_render_test: $failures failure(s)"
  exit 1
fi
echo "report_render_test: passed; artefacts in $artefacts"
