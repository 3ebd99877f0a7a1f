#!/usr/bin/env bash
# Sets up, builds and runs every test: once optimised (build/), once under
# AddressSanitizer + UBSan with clang (build-asan/, which also builds the
# libFuzzer targets, so one instrumented build serves both), the actor,
# scheduler, engine and server tests under ThreadSanitizer (build-tsan/), then
# every libFuzzer target for RADIXRT_FUZZ_SECONDS (30) each. Sanitizer builds
# keep line tables only (enough for symbolised reports, far cheaper to
# compile than full debug info). Extra arguments go to ctest.
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

echo "== AddressSanitizer + UBSan build (clang, with the libFuzzer targets) =="
# A build-asan/ configured earlier with another compiler is reconfigured.
if [[ -f build-asan/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang' build-asan/CMakeCache.txt; then
  rm -rf build-asan
fi
CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" -DRADIXRT_STRICT=ON \
  -DRADIXRT_SANITIZE=address,undefined -DRADIXRT_FUZZ=ON -DRADIXRT_BUILD_BENCH=OFF \
  "${launcher[@]}" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure "$@"

echo "== ThreadSanitizer build (actors, scheduler, engine, server) =="
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DRADIXRT_STRICT=ON \
  -DRADIXRT_SANITIZE=thread -DRADIXRT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
tsan_tests=(actor_test batch_planner_test scheduler_test engine_test engine_stress_test server_test)
cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan -j"$jobs" --output-on-failure \
  -R '^(actor|batch_planner|scheduler|engine|engine_stress|server)[./]' "$@"

echo "== libFuzzer targets (clang, ASan + UBSan) =="
RADIXRT_FUZZ_BUILD=build-asan bash scripts/fuzz.sh "${RADIXRT_FUZZ_SECONDS:-30}"
