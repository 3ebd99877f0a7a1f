#!/usr/bin/env bash
# The chaos run of docs/RELIABILITY.md: disconnect storms (SSE and
# WebSocket), submit/cancel storms on a tiny KV pool, preemption
# equivalence, deep and garbage input, a soak, SIGTERM during streams, each
# against a fresh `radixrt serve` on loopback; one table at the end.
#   bench/chaos.sh [--radixrt PATH] [--quick] [--soak-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/chaos.py "$@"
