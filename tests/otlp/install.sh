#!/bin/sh
# Installs the OTLP schema checker into DEST (a build directory, never the source tree):
# copies check_otlp.mjs with its package.json and package-lock.json and runs `npm ci`, which
# fetches exactly the locked packages (protobufjs and the package that ships the official
# opentelemetry-proto .proto files). Run by ctest as the otlp_npm_ci fixture.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: install.sh DEST}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install.sh: node and npm are not installed (scripts/install-deps.sh installs nodejs and npm)" >&2
  exit 77
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$src/check_otlp.mjs" "$dest/"
cd "$dest"
# a lock file unchanged since the last install needs no second download
if [ -f node_modules/.gputrace-lock ] && cmp -s package-lock.json node_modules/.gputrace-lock; then
  echo "install.sh: packages in $dest/node_modules are current"
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.gputrace-lock
echo "install.sh: installed the OTLP checker's packages in $dest/node_modules"
