#!/usr/bin/env bash
# One command: set up the venv, then run the full pipeline (train, choose on valid, export, quantize,
# evaluate test once, ship to public/models/inpage-sci-v1, write the card and e2e/fixtures/parity.json).
#   bash training/train.sh                 # full run (~see MODEL_CARD.md for timings)
#   bash training/train.sh --smoke         # tiny end-to-end run into a temp dir (~2 min)
#   bash training/train.sh --data DIR      # other data location (default ../shared/data/amazon-scientific)
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [[ " $* " == *" --smoke "* ]]; then
  tmp=$(mktemp -d)
  exec .venv/bin/python -m inpage_train.pipeline --ship "$tmp/ship" --runs "$tmp/runs" "$@"
fi
exec .venv/bin/python -m inpage_train.pipeline --name final "$@"
