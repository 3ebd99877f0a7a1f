#!/usr/bin/env bash
# Sets up, builds and runs every test: once optimised (build/), once under
# AddressSanitizer + UBSan (build-asan/), the actor, scheduler, engine and server
# tests under ThreadSanitizer (build-tsan/), then every libFuzzer target for
# RADIXRT_FUZZ_SECONDS (30) each (build-fuzz/). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=${RADIXRT_JOBS:-2}
# ccache (installed by setup.sh) makes the three builds share unchanged objects.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "== release build (-Werror) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRADIXRT_STRICT=ON "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure "$@"

echo "== AddressSanitizer + UBSan build =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRADIXRT_STRICT=ON \
  -DRADIXRT_SANITIZE=address,undefined -DRADIXRT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure "$@"

echo "== ThreadSanitizer build (actors, scheduler, engine, server) =="
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRADIXRT_STRICT=ON \
  -DRADIXRT_SANITIZE=thread -DRADIXRT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
tsan_tests=(actor_test batch_planner_test scheduler_test engine_test engine_stress_test server_test)
cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan -j"$jobs" --output-on-failure \
  -R '^(actor|batch_planner|scheduler|engine|engine_stress|server)[./]' "$@"

echo "== libFuzzer targets (clang, ASan + UBSan) =="
bash scripts/fuzz.sh "${RADIXRT_FUZZ_SECONDS:-30}"
