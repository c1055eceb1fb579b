#!/usr/bin/env bash
# Makes gputrace(8) and gputrace-COMMAND(8) from the binary's --help with help2man, gzipped.
#   scripts/man-pages.sh BINARY OUT_DIR VERSION COMMAND...
set -euo pipefail
bin=$1 out=$2 version=$3
shift 3
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
page() {  # NAME SUMMARY PROGRAM
  help2man --no-info --section 8 --version-string "$version" --name "$2" --no-discard-stderr "$3" |
    sed "s/^\.TH [A-Z-]*/.TH ${1^^}/" | gzip -9n > "$out/$1.8.gz"
}
page gputrace "eBPF tracer for GPU/ML inference hosts" "$bin"
declare -A summary=(
  [daemon]="trace this host and export to Prometheus and OpenTelemetry"
  [doctor]="say what attaches on this kernel, and why not"
  [record]="record events to a capture file"
  [report]="analyse a capture file"
  [top]="the live view of this host"
  [live]="a plain-text summary of this host, refreshed"
)
for cmd in "$@"; do
  # help2man runs a program with --help: one that runs `gputrace CMD`
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$cmd" > "$tmp/gputrace-$cmd"
  chmod +x "$tmp/gputrace-$cmd"
  page "gputrace-$cmd" "${summary[$cmd]:-gputrace $cmd}" "$tmp/gputrace-$cmd"
done
