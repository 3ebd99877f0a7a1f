#!/usr/bin/env bash
# The reproducible serving benchmark: `radixrt bench --workload shared-prefix`
# against `radixrt serve`, once with the radix cache on and once off, same
# requests; prints both rows and the ratios (throughput, TTFT p50).
#
#   bench/serve_shared_prefix.sh [--model FILE.gguf] [--groups 8] [--prompts-per-group 16]
#       [--system-len 512] [--question-len 32] [--output-len 32] [--max-concurrency 8]
#       [--port 8090] [--radixrt build/apps/radixrt] [--output-json FILE]
#   bench/serve_shared_prefix.sh --base-url http://HOST:PORT [same workload flags]
#       runs the same workload once against another OpenAI-compatible server
#       that is already running (for comparisons on the same machine).
#
# Without --model it uses (and if needed writes) /tmp/radixrt-110m-f16.gguf,
# made by `radixrt model synth --preset 110m --type f16`.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT # never leave a server behind
radixrt=build/apps/radixrt
model=""
base_url=""
port=8090
json=""
extra=()
wl=(--groups 8 --prompts-per-group 16 --system-len 512 --question-len 32 --output-len 32 --max-concurrency 8)
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --base-url) base_url=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --radixrt) radixrt=$2; shift 2 ;;
    --output-json) json=$2; shift 2 ;;
    --groups|--prompts-per-group|--system-len|--question-len|--output-len|--max-concurrency|--vocab-size|--seed|--endpoint|--request-rate)
      extra+=("$1" "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$radixrt" ] || { echo "no radixrt binary at $radixrt (build first)" >&2; exit 1; }
json_args=()
[ -n "$json" ] && json_args=(--output-json "$json")

run_bench() { # label, base url
  echo "--- $1" >&2
  "$radixrt" bench --base-url "$2" --workload shared-prefix "${wl[@]}" "${extra[@]}" --no-progress "${json_args[@]}" | tee /tmp/radixrt_bench_$$.txt
  awk '/^throughput:/ {print $2} /^ *TTFT/ {print $3}' /tmp/radixrt_bench_$$.txt > "/tmp/radixrt_bench_$$_$3"
}

if [ -n "$base_url" ]; then
  run_bench "external server $base_url" "$base_url" ext
  rm -f /tmp/radixrt_bench_$$*
  exit 0
fi

if [ -z "$model" ]; then
  model=/tmp/radixrt-110m-f16.gguf
  [ -f "$model" ] || "$radixrt" model synth --preset 110m --type f16 --out "$model" >/dev/null
fi
vocab=$("$radixrt" model info "$model" | awk '/^vocabulary:/ {print $2}')

serve_and_bench() { # label, extra serve flags...
  local label=$1; shift
  "$radixrt" serve --model "$model" --port "$port" --config configs/bench-shared-prefix.json "$@" 2>/tmp/radixrt_serve_$$.log &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  extra+=(--vocab-size "$vocab")
  run_bench "cache $label" "http://127.0.0.1:$port" "$label"
  kill -INT "$pid"; wait "$pid"
}

serve_and_bench on
serve_and_bench off --no-cache
read -r on_tput on_ttft <<<"$(tr '\n' ' ' < /tmp/radixrt_bench_$$_on)"
read -r off_tput off_ttft <<<"$(tr '\n' ' ' < /tmp/radixrt_bench_$$_off)"
echo
printf "%-10s %14s %14s\n" cache "req/s" "TTFT p50 ms"
printf "%-10s %14s %14s\n" on "$on_tput" "$on_ttft"
printf "%-10s %14s %14s\n" off "$off_tput" "$off_ttft"
awk -v a="$on_tput" -v b="$off_tput" -v c="$on_ttft" -v d="$off_ttft" \
  'BEGIN { printf "cache on / off: throughput x%.2f, TTFT p50 x%.2f (goal: >= 3 and <= 0.25)\n", a / b, c / d }'
rm -f /tmp/radixrt_bench_$$* /tmp/radixrt_serve_$$.log
