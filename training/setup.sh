#!/usr/bin/env bash
# Create training/.venv and install the pinned requirements. Idempotent: a stamp of requirements.txt's
# hash makes a second run return in well under a second.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
REQ=requirements.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "training/.venv up to date"; exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch first, from the local CPU wheel when present (any other torch spec pulls a multi-GB CUDA build)
FL=()
[ -d /opt/wheels ] && FL=(--find-links /opt/wheels)
.venv/bin/pip install -q "${FL[@]}" "torch==2.13.0"
.venv/bin/pip install -q "${FL[@]}" -r "$REQ"
echo "$want" > "$STAMP"
echo "training/.venv ready"
