#!/usr/bin/env bash
# Sets up, builds the radixrt binary and runs it on the built-in model.
# Arguments replace the default ones: scripts/run.sh generate --prompt "Hi"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${RADIXRT_JOBS:-2}" --target radixrt
if [ $# -eq 0 ]; then
  set -- generate --prompt "Once upon a time" --max-tokens 64
fi
exec build/apps/radixrt "$@"
