#!/usr/bin/env bash
# Multi-turn serving benchmark: conversations whose every turn extends the
# previous one, against `radixrt serve` with the cache on and off (or against
# --base-url of another running server).
#
#   bench/serve_multi_turn.sh [--model FILE.gguf] [--conversations 16] [--turns 4]
#       [--system-len 256] [--question-len 32] [--output-len 32] [--max-concurrency 8] [--port 8091]
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT # never leave a server behind
radixrt=build/apps/radixrt
model=""
base_url=""
port=8091
wl=(--conversations 16 --turns 4 --system-len 256 --question-len 32 --output-len 32 --max-concurrency 8)
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --base-url) base_url=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --radixrt) radixrt=$2; shift 2 ;;
    --conversations|--turns|--system-len|--question-len|--output-len|--max-concurrency|--vocab-size|--seed)
      extra+=("$1" "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -n "$base_url" ]; then
  exec "$radixrt" bench --base-url "$base_url" --workload multi-turn "${wl[@]}" "${extra[@]}" --no-progress
fi
if [ -z "$model" ]; then
  model=/tmp/radixrt-110m-f16.gguf
  [ -f "$model" ] || "$radixrt" model synth --preset 110m --type f16 --out "$model" >/dev/null
fi
vocab=$("$radixrt" model info "$model" | awk '/^vocabulary:/ {print $2}')
for mode in on off; do
  flags=()
  [ "$mode" = off ] && flags=(--no-cache)
  "$radixrt" serve --model "$model" --port "$port" --config configs/bench-shared-prefix.json "${flags[@]}" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "--- cache $mode"
  "$radixrt" bench --base-url "http://127.0.0.1:$port" --workload multi-turn "${wl[@]}" "${extra[@]}" --vocab-size "$vocab" --no-progress
  kill -INT "$pid"; wait "$pid"
done
