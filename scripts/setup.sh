#!/usr/bin/env bash
# Installs everything radixrt needs from Debian (and the SDK suite's pinned
# npm packages). Idempotent: when everything is present it touches nothing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libtbb-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl ccache haproxy
  clang libclang-rt-14-dev python3 python3-jinja2
  chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm for the OpenAI SDK suite (tests/sdk): Debian's, unless a
# node and npm are already on PATH (a machine may carry its own Node.js,
# whose package conflicts with Debian's npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The SDK suite's npm packages, at the versions of its package-lock.json.
sdk="$(cd "$(dirname "$0")/.." && pwd)/tests/sdk"
if ! cmp -s "$sdk/package-lock.json" "$sdk/node_modules/.radixrt-installed-lock"; then
  echo "setup: npm ci in tests/sdk" >&2
  (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
    cp package-lock.json node_modules/.radixrt-installed-lock)
fi
