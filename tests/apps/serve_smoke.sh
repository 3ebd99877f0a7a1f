#!/usr/bin/env bash
# `radixrt serve` with no arguments starts on the built-in model, answers
# /health within a few seconds, and exits 0 on SIGINT.
set -u
bin=$1
port=${RADIXRT_SMOKE_PORT:-8080}
"$bin" serve >"${TMPDIR:-/tmp}/radixrt_serve_smoke.$$" 2>&1 &
pid=$!
ok=0
for _ in $(seq 1 50); do
  if curl -fs "http://127.0.0.1:$port/health" | grep -q '"status":"ok"'; then ok=1; break; fi
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"; rc=$?
cat "${TMPDIR:-/tmp}/radixrt_serve_smoke.$$"; rm -f "${TMPDIR:-/tmp}/radixrt_serve_smoke.$$"
if [ "$ok" != 1 ]; then echo "FAIL: no healthy answer on port $port within 5 s"; exit 1; fi
if [ "$rc" != 0 ]; then echo "FAIL: exit code $rc after SIGINT"; exit 1; fi
echo "serve smoke: ok"
