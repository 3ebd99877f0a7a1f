#!/usr/bin/env bash
# Prefix affinity against round robin: deploy/cluster.sh (3 replicas behind
# HAProxy) and `radixrt bench --workload shared-prefix` through it, once
# with each balance, and once through a single replica (the reference a
# cluster's cached ratio is held to); prints cached ratio, throughput, TTFT
# and how many requests each replica served. `hash-balance-factor` bounds
# each replica's share of the requests in flight (150: at most 150% of the
# mean), so with N replicas a replica's share of all requests stays near or
# under factor/N % (docs/deploy.md).
#
#   bench/serve_cluster.sh [--model FILE.gguf] [--replicas 3] [--port 8190]
#       [--groups 8] [--prompts-per-group 16] [--system-len 512] [--question-len 32]
#       [--output-len 32] [--max-concurrency 8] [--kv-cache-mb 256] [--threads N]
#       [--radixrt build/apps/radixrt] [--output-json FILE] [--balance-factor 150]
#       [--runs "single affinity roundrobin"]
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
factor=150
runs="single affinity roundrobin"
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
    --balance-factor) factor=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
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

run() { # name balance replicas
  local name=$1 balance=$2 n=$3
  deploy/cluster.sh --replicas "$n" --port "$port" --balance "$balance" --balance-factor "$factor" \
    --model "$model" \
    --radixrt "$radixrt" --state-dir "$tmp/$name" -- --config configs/bench-shared-prefix.json \
    --kv-cache-mb "$kv_mb" "${threads[@]}" 2>"$tmp/$name.log" &
  cluster_pid=$!
  until grep -q "cluster: ready" "$tmp/$name.log"; do
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$tmp/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "--- $name" >&2
  "$radixrt" bench --base-url "http://127.0.0.1:$port" --workload shared-prefix --vocab-size "$vocab" \
    "${wl[@]}" --no-progress "${json_args[@]}" | tee "$tmp/$name.txt"
  # Requests each replica answered, from its own /metrics (generation
  # endpoints only: HAProxy's health checks and the bench's GETs are not
  # the workload).
  local served=()
  while read -r rname rport _; do
    [ "$rname" = haproxy ] && continue
    served+=("$(curl -fs "http://127.0.0.1:$rport/metrics" |
      awk '/^radixrt_requests_total\{endpoint="\/(v1\/completions|v1\/chat\/completions|generate)"/ { n += $2 }
           END { print n + 0 }')")
  done <"$tmp/$name/replicas"
  echo "${served[*]}" >"$tmp/$name.served"
  kill -TERM "$cluster_pid"
  wait "$cluster_pid"
  cluster_pid=""
}

for r in $runs; do
  case "$r" in
    single) run single affinity 1 ;;
    affinity) run affinity affinity "$replicas" ;;
    roundrobin) run roundrobin roundrobin "$replicas" ;;
    *) echo "unknown run $r (single, affinity, roundrobin)" >&2; exit 2 ;;
  esac
done
echo
printf "%-12s %10s %8s %12s %13s  %s\n" run "cached %" "req/s" "TTFT p50 ms" "TTFT mean ms" \
  "requests per replica (largest share)"
for b in $runs; do
  awk -v b="$b" -v served="$(cat "$tmp/$b.served")" '
    /^cache hit ratio:/ { c = $4 }
    /^throughput:/ { t = $2 }
    /^ *TTFT/ { m = $2; p = $3 }
    END {
      k = split(served, s, " "); tot = 0; mx = 0
      for (i = 1; i <= k; i++) { tot += s[i]; if (s[i] > mx) mx = s[i] }
      printf "%-12s %10s %8s %12s %13s  %s (%.0f%%)\n", b, c, t, p, m, served, tot ? 100 * mx / tot : 0
    }' "$tmp/$b.txt"
done
