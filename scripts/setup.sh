#!/usr/bin/env bash
# Installs whatever this machine lacks for inpage, and nothing it already has:
# Debian's chromium (for Playwright), node_modules (npm ci), and with --python the training venv.
# Called by `npm test` and `npm run demo` before they start, and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip   # onnxruntime-node's postinstall downloads CUDA files and fails offline

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Debian chromium"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--python" ]; then
  bash training/setup.sh
fi
