#!/usr/bin/env bash
# Prefix affinity against round robin: deploy/cluster.sh (3 replicas behind
# HAProxy) and `radixrt bench --workload shared-prefix` through it, once
# with each balance; prints cached ratio, throughput and TTFT for both.
#
#   bench/serve_cluster.sh [--model FILE.gguf] [--replicas 3] [--port 8190]
#       [--groups 8] [--prompts-per-group 16] [--system-len 512] [--question-len 32]
#       [--output-len 32] [--max-concurrency 8] [--kv-cache-mb 256] [--threads N]
#       [--radixrt build/apps/radixrt] [--output-json FILE]
#
# Without --model it uses (and if needed writes) /tmp/radixrt-110m-f16.gguf,
# as bench/serve_shared_prefix.sh does. The cache hit ratio is the one from
# `usage` (cached / prompt tokens over all requests): bench's /metrics ratio
# would read whichever single replica HAProxy sends that GET to.
set -euo pipefail
cd "$(dirname "$0")/.."
radixrt=build/apps/radixrt
model=""
replicas=3
port=8190
kv_mb=256
threads=()
json=""
wl=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --kv-cache-mb) kv_mb=$2; shift 2 ;;
    --threads) threads=(--threads "$2"); shift 2 ;;
    --radixrt) radixrt=$2; shift 2 ;;
    --output-json) json=$2; shift 2 ;;
    --groups|--prompts-per-group|--system-len|--question-len|--output-len|--max-concurrency|--seed|--request-rate)
      wl+=("$1" "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$radixrt" ] || { echo "no radixrt binary at $radixrt (build first)" >&2; exit 1; }
json_args=()
[ -n "$json" ] && json_args=(--output-json "$json")
if [ -z "$model" ]; then
  model=/tmp/radixrt-110m-f16.gguf
  [ -f "$model" ] || "$radixrt" model synth --preset 110m --type f16 --out "$model" >/dev/null
fi
vocab=$("$radixrt" model info "$model" | awk '/^vocabulary:/ {print $2}')
tmp=$(mktemp -d "${TMPDIR:-/tmp}/radixrt-serve-cluster.XXXXXX")
cluster_pid=""
cleanup() {
  if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    kill -TERM "$cluster_pid"
    wait "$cluster_pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

run() { # balance
  local balance=$1
  deploy/cluster.sh --replicas "$replicas" --port "$port" --balance "$balance" --model "$model" \
    --radixrt "$radixrt" --state-dir "$tmp/$balance" -- --config configs/bench-shared-prefix.json \
    --kv-cache-mb "$kv_mb" "${threads[@]}" 2>"$tmp/$balance.log" &
  cluster_pid=$!
  until grep -q "cluster: ready" "$tmp/$balance.log"; do
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$tmp/$balance.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "--- $balance" >&2
  "$radixrt" bench --base-url "http://127.0.0.1:$port" --workload shared-prefix --vocab-size "$vocab" \
    "${wl[@]}" --no-progress "${json_args[@]}" | tee "$tmp/$balance.txt"
  kill -TERM "$cluster_pid"
  wait "$cluster_pid"
  cluster_pid=""
}

run affinity
run roundrobin
echo
printf "%-12s %12s %10s %14s %14s\n" balance "cached %" "req/s" "TTFT p50 ms" "TTFT mean ms"
for b in affinity roundrobin; do
  awk -v b="$b" '
    /^cache hit ratio:/ { c = $4 }
    /^throughput:/ { t = $2 }
    /^ *TTFT/ { m = $2; p = $3 }
    END { printf "%-12s %12s %10s %14s %14s\n", b, c, t, p, m }' "$tmp/$b.txt"
done
