#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/; or in the
# already configured RADIXRT_FUZZ_BUILD, as scripts/test.sh does with its
# ASan build) and runs each for SECONDS (default 30) on its committed seed
# corpus, in a scratch copy so the repository is not changed. Fails on any crash, leak or
# sanitizer report. For a long local run: scripts/fuzz.sh 3600
# Prints executions and coverage per target (recorded in docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
jobs=${RADIXRT_JOBS:-2}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
build=${RADIXRT_FUZZ_BUILD:-build-fuzz}
if [[ "$build" == build-fuzz ]]; then
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRADIXRT_FUZZ=ON -DRADIXRT_SANITIZE=address,undefined -DRADIXRT_BUILD_TESTS=OFF \
    -DRADIXRT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi
targets=(fuzz_gguf fuzz_tokenizer fuzz_requests fuzz_chat_template fuzz_websocket fuzz_jinja fuzz_tool_calls)
cmake --build "$build" -j"$jobs" --target "${targets[@]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-20s %12s %10s %10s %8s\n' target executions "exec/s" coverage corpus
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/${t#fuzz_}
  mkdir -p "$work/$t"
  cp -r "$seeds"/. "$work/$t"/ 2>/dev/null || true
  if [[ $t == fuzz_jinja ]]; then
    # the real chat templates seed it, read in place (not copied into the repo)
    cp ../shared/testdata/templates/*.jinja "$work/$t"/ 2>/dev/null || true
  fi
  log="$work/$t.log"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build"/ "$work/$t" >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz: $t FAILED (the crashing input is above; artifacts in $build)" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  printf '%-20s %12s %10s %10s %8s\n' "$t" "$execs" "$rate" "$cov" "$corp"
done
echo "fuzz: ok"
