#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, and opens `gputrace top` on
# embedded defaults (GPUs, or every device with --all-devices on hosts without one), with a
# bundled stand-in inference server whose GC pauses show in its row within seconds.
# Extra arguments go to gputrace (e.g. --report-dir DIR). Without a terminal it prints the
# plain-text `live` summary instead. Needs root (BPF).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "run.sh: run as root (sudo $0)" >&2; exit 2; fi
scripts/install-deps.sh
scripts/build.sh >/dev/null
# A stand-in Python inference server whose GC pauses show up in the view; stopped on exit.
/usr/bin/python3.11 scripts/demo-workload.py &
demo=$!
trap 'kill $demo 2>/dev/null' EXIT
args=("$@")
# A host without a GPU has no device the default filter keeps: show every device instead.
if [ ${#args[@]} -eq 0 ] && ! grep -qs '^0x03' /sys/bus/pci/devices/*/class; then args=(--all-devices); fi
# No command: `top` on a terminal, `live` otherwise.
build/userspace/gputrace "${args[@]}"
