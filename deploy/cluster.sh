#!/usr/bin/env bash
# Runs N `radixrt serve` replicas behind HAProxy with prefix affinity, in the
# foreground, on one host (docs/deploy.md).
#
#   deploy/cluster.sh --replicas N --port P [--model FILE] [--bind ADDR]
#       [--balance affinity|roundrobin] [--hash-bytes 256] [--balance-factor 150]
#       [--drain-grace-ms 1500]
#       [--state-dir DIR] [--radixrt PATH] [-- extra radixrt serve args]
#
# Replicas listen on ephemeral loopback ports; HAProxy listens on ADDR:P
# (default 127.0.0.1) with deploy/haproxy.cfg.in rendered into DIR
# (default: a fresh temporary directory). DIR/replicas lists one replica a
# line: "name port pid"; DIR/haproxy-stats.sock serves HAProxy's live view of
# them (curl --unix-socket DIR/haproxy-stats.sock 'http://haproxy/;csv'). The script prints "cluster: ready" once every
# replica and HAProxy answer /health.
#
# SIGINT/SIGTERM: every replica gets SIGTERM (its /health turns 503 at once,
# it keeps serving for the drain grace while HAProxy takes it out, then it
# finishes running requests and exits), then HAProxy stops. Exit status 0
# when HAProxy and every replica still running at that point stopped
# cleanly; non-zero when a part fails to start or HAProxy dies.
#
# radixrt: --radixrt, else `radixrt` on PATH, else build/apps/radixrt next to
# this script's repository. Nothing is installed at run time.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
replicas=""
port=""
model=""
bind=127.0.0.1
balance=affinity
hash_bytes=256
balance_factor=150
grace_ms=1500
state_dir=""
radixrt=""
serve_extra=()
start_timeout=${RADIXRT_CLUSTER_START_TIMEOUT:-60}

die() {
  echo "cluster: $*" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas=${2:-}; shift 2 ;;
    --port) port=${2:-}; shift 2 ;;
    --model) model=${2:-}; shift 2 ;;
    --bind) bind=${2:-}; shift 2 ;;
    --balance) balance=${2:-}; shift 2 ;;
    --hash-bytes) hash_bytes=${2:-}; shift 2 ;;
    --balance-factor) balance_factor=${2:-}; shift 2 ;;
    --drain-grace-ms) grace_ms=${2:-}; shift 2 ;;
    --state-dir) state_dir=${2:-}; shift 2 ;;
    --radixrt) radixrt=${2:-}; shift 2 ;;
    --) shift; serve_extra=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$replicas" =~ ^[1-9][0-9]*$ ]] || die "--replicas N is required (N >= 1)"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port P is required (1-65535)"
[[ "$hash_bytes" =~ ^[1-9][0-9]*$ ]] || die "--hash-bytes must be a positive integer"
[[ "$grace_ms" =~ ^[0-9]+$ ]] || die "--drain-grace-ms must be an integer"
# HAProxy's hash-balance-factor: 0 (no bound) or above 100.
[[ "$balance_factor" =~ ^[0-9]+$ ]] && { [ "$balance_factor" -eq 0 ] || [ "$balance_factor" -gt 100 ]; } ||
  die "--balance-factor is 0 (no bound) or a percentage above 100"
case "$balance" in
  affinity) balance_line='hash var(txn.affinity_key)' ;;
  roundrobin) balance_line='roundrobin' ;;
  *) die "--balance is affinity or roundrobin" ;;
esac
if [ -z "$radixrt" ]; then
  if command -v radixrt >/dev/null 2>&1; then
    radixrt=$(command -v radixrt)
  else
    radixrt="$here/../build/apps/radixrt"
  fi
fi
[ -x "$radixrt" ] || die "no radixrt binary (looked on PATH and at $radixrt; build it or pass --radixrt)"
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$haproxy" ] || die "haproxy is not installed (scripts/setup.sh installs it)"
[ -n "$state_dir" ] || state_dir=$(mktemp -d "${TMPDIR:-/tmp}/radixrt-cluster.XXXXXX")
mkdir -p "$state_dir" || die "cannot create $state_dir"
state_dir=$(cd "$state_dir" && pwd)
stats_socket="$state_dir/haproxy-stats.sock"
# A Unix socket path holds at most 107 bytes.
[ "${#stats_socket}" -le 107 ] || die "--state-dir is too long for HAProxy's stats socket ($stats_socket)"
: >"$state_dir/replicas"

pids=()        # replica pids, in order r1..rN
ports=()
haproxy_pid=""
stopping=0

log() { echo "cluster: $*" >&2; }
alive() { kill -0 "$1" 2>/dev/null; }

# Waits for each replica (drain grace + drain timeout + a margin), then HAProxy.
stop_all() {
  local rc=0 pid status i
  for pid in "${pids[@]}"; do
    alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    wait "$pid"; status=$?
    if [ "$status" -ne 0 ]; then
      if [ -n "${was_dead[$i]:-}" ]; then
        log "replica r$((i + 1)) had already exited"
      else
        log "replica r$((i + 1)) exited with status $status"; rc=1
      fi
    fi
  done
  if [ -n "$haproxy_pid" ] && alive "$haproxy_pid"; then
    kill -USR1 "$haproxy_pid" 2>/dev/null # soft stop: finish open connections, then exit
    wait "$haproxy_pid"; status=$?
    [ "$status" -eq 0 ] || { log "haproxy exited with status $status"; rc=1; }
  fi
  return $rc
}

fail() {
  log "$*"
  stop_all
  exit 1
}

on_signal() {
  [ "$stopping" = 1 ] && return
  stopping=1
  log "stopping: replicas drain first (grace ${grace_ms} ms), HAProxy last"
  stop_all
  local rc=$?
  [ "$rc" -eq 0 ] && log "stopped"
  exit "$rc"
}
trap on_signal INT TERM

# Replicas: ephemeral ports, each read back from its "listening on" line.
# setsid keeps a terminal's Ctrl-C from reaching them before the script
# decides the order.
serve_args=(serve --host 127.0.0.1 --port 0 --set "server.drain_grace_ms=$grace_ms")
[ -n "$model" ] && serve_args+=(--model "$model")
for i in $(seq 1 "$replicas"); do
  setsid "$radixrt" "${serve_args[@]}" "${serve_extra[@]}" >"$state_dir/r$i.log" 2>&1 &
  pids+=($!)
done
was_dead=()
deadline=$((SECONDS + start_timeout))
for i in $(seq 1 "$replicas"); do
  p=""
  while [ -z "$p" ]; do
    alive "${pids[$((i - 1))]}" || fail "replica r$i did not start: $(tail -n 3 "$state_dir/r$i.log")"
    [ $SECONDS -lt $deadline ] || fail "replica r$i did not report its port within ${start_timeout} s"
    p=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$state_dir/r$i.log" | head -n 1)
    [ -n "$p" ] || sleep 0.05
  done
  ports+=("$p")
  echo "r$i $p ${pids[$((i - 1))]}" >>"$state_dir/replicas"
done
for i in $(seq 1 "$replicas"); do
  until curl -fs -o /dev/null "http://127.0.0.1:${ports[$((i - 1))]}/health"; do
    alive "${pids[$((i - 1))]}" || fail "replica r$i died while loading: $(tail -n 3 "$state_dir/r$i.log")"
    [ $SECONDS -lt $deadline ] || fail "replica r$i not healthy within ${start_timeout} s"
    sleep 0.1
  done
done

# HAProxy, from the template.
servers="$state_dir/servers"
: >"$servers"
for i in $(seq 1 "$replicas"); do
  echo "    server r$i 127.0.0.1:${ports[$((i - 1))]} check" >>"$servers"
done
sed -e "s|@PORT@|$port|g; s|@BIND@|$bind|g; s|@BALANCE@|$balance_line|g; s|@HASH_BYTES@|$hash_bytes|g; s|@BALANCE_FACTOR@|$balance_factor|g; s|@STATS_SOCKET@|$stats_socket|g" \
  -e "/^@SERVERS@\$/{r $servers" -e 'd}' "$here/haproxy.cfg.in" >"$state_dir/haproxy.cfg"
"$haproxy" -c -f "$state_dir/haproxy.cfg" >"$state_dir/haproxy.log" 2>&1 ||
  fail "haproxy refused the configuration: $(cat "$state_dir/haproxy.log")"
setsid "$haproxy" -db -f "$state_dir/haproxy.cfg" >>"$state_dir/haproxy.log" 2>&1 &
haproxy_pid=$!
case "$bind" in '*' | 0.0.0.0 | '') check_host=127.0.0.1 ;; *) check_host=$bind ;; esac
until curl -fs -o /dev/null "http://$check_host:$port/health"; do
  alive "$haproxy_pid" || fail "haproxy did not start: $(tail -n 3 "$state_dir/haproxy.log")"
  [ $SECONDS -lt $deadline ] || fail "no healthy answer through haproxy on port $port within ${start_timeout} s"
  sleep 0.1
done
echo "haproxy $port $haproxy_pid" >>"$state_dir/replicas"
log "ready: $replicas replicas (${ports[*]}) behind http://$bind:$port ($balance); state in $state_dir"

# Foreground: a replica that dies is logged (HAProxy's health check takes it
# out); HAProxy dying ends the cluster with an error.
while true; do
  wait -n
  [ "$stopping" = 1 ] && continue
  alive "$haproxy_pid" || fail "haproxy died: $(tail -n 3 "$state_dir/haproxy.log")"
  for i in "${!pids[@]}"; do
    if [ -z "${was_dead[$i]:-}" ] && ! alive "${pids[$i]}"; then
      was_dead[$i]=1
      log "replica r$((i + 1)) exited (HAProxy takes it out of rotation)"
    fi
  done
done
