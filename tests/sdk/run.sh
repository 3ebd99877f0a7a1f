#!/usr/bin/env bash
# The OpenAI Node SDK suite (openai.test.mjs) against `radixrt serve` on the
# built-in model, on a free loopback port.
#   tests/sdk/run.sh RADIXRT_BINARY
# Needs node and the pinned packages (scripts/setup.sh runs `npm ci` here).
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/node_modules/openai" ] || { echo "FAIL: run scripts/setup.sh (npm ci in tests/sdk)"; exit 1; }
log=$(mktemp "${TMPDIR:-/tmp}/radixrt-sdk.XXXXXX")
"$bin" serve --port 0 --host 127.0.0.1 >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"; }
trap cleanup EXIT
port=""
end=$((SECONDS + 60))
while [ -z "$port" ] || ! curl -fs -o /dev/null "http://127.0.0.1:$port/health"; do
  kill -0 "$pid" 2>/dev/null || { echo "FAIL: radixrt serve exited: $(cat "$log")"; exit 1; }
  [ $SECONDS -lt $end ] || { echo "FAIL: radixrt serve not healthy within 60 s: $(cat "$log")"; exit 1; }
  port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$log" | head -n 1)
  sleep 0.1
done
RADIXRT_BASE_URL="http://127.0.0.1:$port/v1" node --test --test-reporter=spec "$here/openai.test.mjs"
rc=$?
[ "$rc" = 0 ] && echo "sdk suite: ok"
exit "$rc"
