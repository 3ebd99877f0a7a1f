#!/usr/bin/env bash
# Sets up, builds the radixrt binary and serves the built-in model on
# http://127.0.0.1:8080 (Ctrl-C stops it gracefully).
# Arguments replace the default ones: scripts/run.sh generate --prompt "Hi"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${RADIXRT_JOBS:-2}" --target radixrt
if [ $# -eq 0 ]; then
  set -- serve
fi
exec build/apps/radixrt "$@"
