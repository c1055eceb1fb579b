#!/usr/bin/env bash
# Regenerates the README's pictures from the bundled guest capture (no root needed):
#   docs/img/report.png  report.html of the capture, rendered by headless Chromium
#   docs/img/top.txt     `gputrace top --replay` as the terminal shows it (tmux capture-pane)
#   docs/img/top.png     the same screen with its colours, rendered by headless Chromium
# Needs a build (BUILD_DIR, default build), tmux and chromium (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
gputrace=$PWD/$BUILD_DIR/userspace/gputrace
capture=tests/fixtures/scenarios/guest-6.12-strict.gtrace
out=docs/img
mkdir -p "$out"
work=$(mktemp -d)
sock="gputrace-docs-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
chrome() {
  timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$work/profile" "$@" >/dev/null 2>&1
}

"$gputrace" report "$capture" --out-dir "$work/reports" >/dev/null
chrome --window-size=1280,2000 --screenshot="$out/report.png" "file://$work/reports/report.html"

# The screen after selecting the leaking process and sorting by leaks: findings visible.
# Run from the capture's directory, so the title names the file, not its path.
tmux -L "$sock" new-session -d -s top -x 150 -y 34 -c "$(dirname "$capture")" \
  "'$gputrace' top --replay '$(basename "$capture")'"
for _ in $(seq 50); do tmux -L "$sock" capture-pane -p -t top | grep -q FINDINGS && break; sleep 0.1; done
tmux -L "$sock" send-keys -t top L g  # sort by leaks, select the top row
sleep 0.5
tmux -L "$sock" capture-pane -p -t top >"$out/top.txt"
tmux -L "$sock" capture-pane -p -e -t top >"$work/top.ansi"
tmux -L "$sock" send-keys -t top q

# Terminal colours (SGR) to HTML, one <span> per run of attributes.
python3 - "$work/top.ansi" "$work/top.html" <<'EOF'
import html, re, sys
src, dst = sys.argv[1:3]
palette = {0: "#1d1f21", 1: "#e05252", 2: "#5fb85f", 3: "#e0b341", 4: "#5f8fe0", 5: "#c678dd", 6: "#56b6c2", 7: "#d0d4da"}
fg_default, bg_default = "#d0d4da", "#14161a"
lines = []
# tmux writes an attribute only where it changes, so it carries over line ends (the dim rows
# of exited processes follow one another): the state is not reset per line.
state = {"fg": None, "bg": None, "bold": False, "dim": False, "rev": False}
for raw in open(src, encoding="utf-8", errors="replace").read().rstrip("\n").split("\n"):
    out = []
    for part in re.split(r"(\x1b\[[0-9;]*m)", raw):
        m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
        if m:
            codes = [int(c) for c in m.group(1).split(";") if c] or [0]
            for c in codes:
                if c == 0: state = {"fg": None, "bg": None, "bold": False, "dim": False, "rev": False}
                elif c == 1: state["bold"] = True
                elif c == 2: state["dim"] = True
                elif c == 7: state["rev"] = True
                elif c == 22: state["bold"] = state["dim"] = False
                elif c == 27: state["rev"] = False
                elif 30 <= c <= 37: state["fg"] = palette[c - 30]
                elif c == 39: state["fg"] = None
                elif 40 <= c <= 47: state["bg"] = palette[c - 40]
                elif c == 49: state["bg"] = None
            continue
        if not part:
            continue
        fg, bg = state["fg"] or fg_default, state["bg"] or bg_default
        if state["rev"]:
            fg, bg = bg, fg
        style = f"color:{fg};background:{bg};" + ("font-weight:bold;" if state["bold"] else "") + \
                ("opacity:.65;" if state["dim"] else "")
        out.append(f'<span style="{style}">{html.escape(part)}</span>')
    lines.append("".join(out))
page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: {bg_default}; }}
pre {{ margin: 0; padding: 12px 14px; font: 13px/1.3 "DejaVu Sans Mono", monospace; color: {fg_default}; }}
</style></head><body><pre>{chr(10).join(lines)}</pre></body></html>"""
open(dst, "w").write(page)
EOF
chrome --window-size=1260,610 --screenshot="$out/top.png" "file://$work/top.html"
ls -l "$out"
