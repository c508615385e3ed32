#!/usr/bin/env bash
# Installs whatever this machine lacks for inpage, and nothing it already has:
# Debian's browsers (chromium for Playwright; firefox-esr, WebKitGTK's driver and Xvfb for the
# cross-engine suite), node_modules (npm ci), and with --python the training venv and a Java runtime (Spark).
# Called by `npm test` and `npm run demo` before they start, and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip   # onnxruntime-node's postinstall downloads CUDA files and fails offline
export PUPPETEER_SKIP_DOWNLOAD=1        # puppeteer drives Debian's firefox-esr; it must never fetch a browser

# Each Debian package only when the file it gives is missing.
missing=()
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] || missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null 2>&1 || missing+=(xvfb)
command -v xauth >/dev/null 2>&1 || missing+=(xauth)
# The Spark tests (training/tests/test_spark_pack.py, pyspark 4) need Java 17 or newer: Debian's JRE when there is none.
java_major=$( (java -version 2>&1 || true) | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
[ "${1:-}" != "--python" ] || [ "${java_major:-0}" -ge 17 ] || missing+=(default-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--python" ]; then
  bash training/setup.sh
fi
