#!/usr/bin/env bash
# One command: set up the venv, then run the single-catalogue pipeline (train, choose on valid, export, quantize,
# evaluate test once, write public/models/<name>/ with its manifest and card). It writes nothing beside that folder:
# an existing one is refused without --force, and e2e/fixtures/parity.json is rewritten only by its own model.
#   npm run train -- --data ../shared/data/amazon-scientific --name my-store-v1 [--version 1.0.0] [--force]
#   npm run train -- --smoke [--data DIR]    # tiny end-to-end run into a temp dir (~2 min)
# Paths are relative to where it is called from (npm runs it from the repository root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/setup.sh"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
if [[ " $* " == *" --smoke "* ]]; then
  tmp=$(mktemp -d)
  exec "$here/.venv/bin/python" -m inpage_train.pipeline --models-dir "$tmp/models" --runs "$tmp/runs" "$@"
fi
exec "$here/.venv/bin/python" -m inpage_train.pipeline --runs "$here/runs" "$@"
