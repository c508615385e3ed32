"""The whole pipeline end to end on a tiny subset into a tmp dir (data, one step of each model, export,
quantize, manifest, card, parity).

The shared dataset is read in place: $INPAGE_DATA (the shared data folder, as for the TypeScript tests)
/amazon-scientific, else ../shared/data/amazon-scientific beside the repository. A missing dataset is a
failure with the path and the variable to set, never a skip (test/eval.test.ts fails the same way)."""
import json
import os
from pathlib import Path

from inpage_train import data as D


def dataset_dir() -> Path:
    root = os.environ.get("INPAGE_DATA")
    return Path(root) / "amazon-scientific" if root else D.DEFAULT_DATA


def test_smoke_pipeline(tmp_path):
    data = dataset_dir()
    assert (data / "items.jsonl").is_file(), (
        f"the shared dataset is missing: {data / 'items.jsonl'} not found; set INPAGE_DATA to the shared data "
        f"folder (the one holding amazon-scientific/)")
    from inpage_train.pipeline import main
    ship = tmp_path / "models" / "inpage-smoke"
    out = main(["--smoke", "--models-dir", str(tmp_path / "models"), "--runs", str(tmp_path / "runs"), "--data", str(data)])
    man = json.loads((ship / "manifest.json").read_text())
    for f in ("encoder.int8.onnx", "user.int8.onnx", "tokenizer.json", "collab.bin", "neighbors.json", "MODEL_CARD.md"):
        assert (ship / f).exists() and f in man["files"]
    assert (tmp_path / "runs" / "smoke" / "parity.json").exists()
    assert (tmp_path / "runs" / "smoke" / "metrics.json").exists()
    assert "int8" in out["results"]["test"]
