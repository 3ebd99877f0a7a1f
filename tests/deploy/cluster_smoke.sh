#!/usr/bin/env bash
# deploy/cluster.sh end to end: 3 replicas of the built-in model behind
# HAProxy. Requests sharing a prefix land on one replica (and hit its cache),
# different prefixes spread, X-Session-Id wins over the prompt, a replica
# killed with SIGKILL costs no request, SIGTERM stops the cluster with 0.
#   tests/deploy/cluster_smoke.sh RADIXRT_BINARY
set -u
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
port=${RADIXRT_CLUSTER_SMOKE_PORT:-18190}
dir=$(mktemp -d "${TMPDIR:-/tmp}/radixrt-cluster-smoke.XXXXXX")
cluster_pid=""

cleanup() {
  if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    kill -TERM "$cluster_pid" 2>/dev/null
    wait "$cluster_pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- cluster log"; cat "$dir/cluster.log" 2>/dev/null
  for f in "$dir"/state/r*.log "$dir"/state/haproxy.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
  done
  exit 1
}
# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] ||
  fail "haproxy is not installed (scripts/setup.sh installs it)"

"$root/deploy/cluster.sh" --replicas 3 --port "$port" --state-dir "$dir/state" --radixrt "$bin" \
  -- --set engine.kv_cache_bytes=16777216 >"$dir/cluster.log" 2>&1 &
cluster_pid=$!
ready() {
  kill -0 "$cluster_pid" 2>/dev/null || fail "cluster.sh exited during start-up"
  grep -q "cluster: ready" "$dir/cluster.log"
}
wait_for 45 ready || fail "the cluster was not ready within 45 s"

# post PROMPT [extra curl args]: prints "REPLICA CACHED_TOKENS", or fails.
post() {
  local prompt=$1; shift
  local body out status replica cached
  body=$(printf '{"prompt":"%s","max_tokens":2,"temperature":0}' "$prompt")
  out=$(curl -s -m 20 -D "$dir/headers" -w '\n%{http_code}' "$@" \
    -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/completions")
  status=$(tail -n 1 <<<"$out")
  [ "$status" = 200 ] || fail "status $status for prompt '${prompt:0:40}...': $out"
  replica=$(tr -d '\r' <"$dir/headers" | awk -F': ' 'tolower($1) == "x-replica" {print $2}')
  [ -n "$replica" ] || fail "no X-Replica header"
  cached=$(grep -o '"cached_tokens":[0-9]*' <<<"$out" | head -n 1 | cut -d: -f2)
  echo "$replica ${cached:-0}"
}

# 1. A shared prefix longer than the hashed bytes, then different questions.
shared="You are a careful assistant. Answer in one short sentence and cite nothing. The context follows. $(printf 'ctx%02d ' $(seq 1 40))"
first=""
hits=0
for q in 1 2 3 4 5 6; do
  read -r replica cached <<<"$(post "$shared Question $q: what is $q plus $q?")"
  [ -n "$first" ] || first=$replica
  [ "$replica" = "$first" ] || fail "shared-prefix request $q went to $replica, the first to $first"
  [ "$cached" -gt 0 ] && hits=$((hits + 1))
done
[ "$hits" -ge 4 ] || fail "only $hits of 6 shared-prefix requests reused cached tokens"
echo "shared prefix: 6 of 6 on $first, $hits reused its cache"

# 2. Different prefixes spread over the replicas.
declare -A seen=()
for p in $(seq 1 12); do
  read -r replica _ <<<"$(post "Topic $p: $(printf 'word%d ' $(seq $((p * 7)) $((p * 7 + 60))))")"
  seen[$replica]=1
done
[ "${#seen[@]}" -ge 2 ] || fail "12 different prefixes all went to ${!seen[*]}"
echo "different prefixes: spread over ${#seen[@]} replicas (${!seen[*]})"

# 3. X-Session-Id takes precedence over the prompt.
sess_first=""
for p in 1 2 3 4 5; do
  read -r replica _ <<<"$(post "Unrelated prompt number $p $(printf 'z%d ' $(seq $p 80))" -H 'X-Session-Id: user-42')"
  [ -n "$sess_first" ] || sess_first=$replica
  [ "$replica" = "$sess_first" ] || fail "session user-42 moved from $sess_first to $replica"
done
echo "X-Session-Id: 5 different prompts on $sess_first"

# 4. SIGKILL the shared prefix's replica; every later request still succeeds.
victim=$(awk -v r="$first" '$1 == r {print $3}' "$dir/state/replicas")
[ -n "$victim" ] || fail "no pid for $first in $dir/state/replicas"
kill -KILL "$victim"
declare -A after=()
for q in 1 2 3 4 5 6; do
  read -r replica _ <<<"$(post "$shared Question after the kill $q")"
  after[$replica]=1
  [ "$replica" != "$first" ] || fail "a request was answered by the killed replica $first"
done
echo "after SIGKILL of $first: 6 of 6 succeeded on ${!after[*]}"

# 5. SIGTERM: replicas drain, HAProxy stops, exit status 0.
kill -TERM "$cluster_pid"
stopped() { ! kill -0 "$cluster_pid" 2>/dev/null; }
wait_for 30 stopped || fail "cluster.sh still running 30 s after SIGTERM"
wait "$cluster_pid"; rc=$?
cluster_pid=""
[ "$rc" = 0 ] || fail "cluster.sh exited with $rc after SIGTERM"
grep -q "cluster: stopped" "$dir/cluster.log" || fail "no 'cluster: stopped' line"
echo "cluster smoke: ok"
