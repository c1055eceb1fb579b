#!/usr/bin/env bash
# Runs the bpf tier's Go GC test (GcGo.*: plain, stripped, cgo PIE stripped) on the Go releases
# Debian ships besides the host's: 1.21-1.23 from bookworm-backports, 1.24 from trixie.
#
# usage: scripts/go-releases.sh BPF_TESTS [CACHE_DIR]
#
# Toolchains and the workload's builds are cached in CACHE_DIR (default
# /var/cache/gputrace-tests/go, outside the clone), fetched with a private apt list so the
# system's apt state is untouched; a later run only runs the tests. Exit 77 (ctest: skipped)
# when the Debian mirror cannot be reached and nothing is cached.
set -euo pipefail

bpf_tests=$1
cache=${2:-/var/cache/gputrace-tests/go}
src=$(cd "$(dirname "$0")/../tests/testprogs/gc/go" && pwd)
mirror=${GPUTRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"

declare -A suite=([1.21]=bookworm-backports [1.22]=bookworm-backports [1.23]=bookworm-backports [1.24]=trixie)

fetch() {  # fetch VERSION: unpack golang-VERSION-go and -src into $cache/VERSION/prefix
  local v=$1 dir=$cache/$1 lists=$cache/apt-${suite[$1]}
  [[ -x $dir/prefix/usr/lib/go-$v/bin/go ]] && return 0
  mkdir -p "$lists/lists/partial" "$dir/deb"
  echo "deb $mirror ${suite[$v]} main" >"$lists/sources.list"
  local apt=(apt-get -q -o Dir::Etc::SourceList="$lists/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o Dir::State::Lists="$lists/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  [[ -e $lists/updated ]] || { "${apt[@]}" update >"$lists/update.log" 2>&1 && touch "$lists/updated"; } || return 1
  (cd "$dir/deb" && "${apt[@]}" download "golang-$v-go" "golang-$v-src" >"$dir/download.log" 2>&1) || return 1
  for deb in "$dir"/deb/*.deb; do dpkg-deb -x "$deb" "$dir/prefix"; done
}

build() {  # build VERSION: the three variants into $cache/VERSION/bin
  local v=$1 dir=$cache/$1
  local go=(env GOROOT="$dir/prefix/usr/lib/go-$v" GOTOOLCHAIN=local HOME="$dir" GOCACHE="$dir/gocache" CGO_ENABLED=1
            "$dir/prefix/usr/lib/go-$v/bin/go" build)
  [[ -x $dir/bin/gcpauses_cgo_pie_stripped && $dir/bin/gcpauses_plain -nt $src/main.go ]] && return 0
  mkdir -p "$dir/bin"
  (cd "$src" && "${go[@]}" -ldflags=-w -o "$dir/bin/gcpauses_plain" . &&
    "${go[@]}" "-ldflags=-s -w" -o "$dir/bin/gcpauses_stripped" . &&
    "${go[@]}" -tags=gputrace_cgo -buildmode=pie "-ldflags=-s -w" -o "$dir/bin/gcpauses_cgo_pie_stripped" .)
}

ran=0 failed=0
for v in 1.21 1.22 1.23 1.24; do
  if ! fetch "$v"; then
    echo "go$v: cannot fetch golang-$v-go from $mirror ${suite[$v]} (see $cache/$v/download.log): skipped"
    continue
  fi
  build "$v" || { echo "go$v: building the workload failed"; failed=1; continue; }
  ran=1
  log=$cache/$v/test.log
  GPUTRACE_GO_TESTPROGS=$cache/$v/bin "$bpf_tests" --gtest_filter='Builds/GcGo.*' >"$log" 2>&1 || failed=1
  grep -E '^go1|Failure|FAILED' "$log" || true
done
if [[ $ran == 0 ]]; then
  echo "no Go release could be fetched from $mirror (unreachable?): the newer-Go check is skipped"
  exit 77
fi
exit $failed
