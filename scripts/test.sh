#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, and runs every test tier this
# machine can run (unit, bpf, vm, deploy; gpu only where an NVIDIA GPU is present). The
# deploy-manual tier (podman, systemd as PID 1) takes minutes: GPUTRACE_TEST_LABELS=deploy-manual. Exits non-zero
# on any failure. Needs root (bpf and vm tiers load BPF programs; deps come from apt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "test.sh: run as root (sudo $0)" >&2; exit 2; fi
scripts/install-deps.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ninja -C "$BUILD_DIR" gputrace-static
labels=${GPUTRACE_TEST_LABELS:-"^(unit|bpf|vm|deploy)$"}  # anchored: "deploy" must not take deploy-manual
# Two retries: the bpf and vm tiers time real workloads and guests on a shared 2-core machine.
# ctest prints every failed attempt; a test that fails three times fails the run.
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 1500 --repeat until-pass:3 -L "$labels" "$@"
