#!/usr/bin/env bash
# Sets up, builds and runs every test: once optimised (build/), once under
# AddressSanitizer + UBSan (build-asan/), and the actor, engine and server tests
# under ThreadSanitizer (build-tsan/). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=${RADIXRT_JOBS:-2}

echo "== release build (-Werror) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRADIXRT_STRICT=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure "$@"

echo "== AddressSanitizer + UBSan build =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRADIXRT_STRICT=ON \
  -DRADIXRT_SANITIZE=address,undefined -DRADIXRT_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure "$@"

echo "== ThreadSanitizer build (actors, engine, server) =="
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRADIXRT_STRICT=ON \
  -DRADIXRT_SANITIZE=thread -DRADIXRT_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target actor_test engine_test server_test
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan -j"$jobs" --output-on-failure -R '^(actor|engine|server)' "$@"
