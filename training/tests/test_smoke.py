"""The whole pipeline end to end on a tiny subset into a tmp dir (data, one step of each model, export,
quantize, manifest, card, parity)."""
import json
import os
from pathlib import Path

import pytest

from inpage_train import data as D


@pytest.mark.skipif(not (D.DEFAULT_DATA / "items.jsonl").exists() and not os.environ.get("INPAGE_DATA"),
                    reason="shared data not present")
def test_smoke_pipeline(tmp_path):
    from inpage_train.pipeline import main
    ship = tmp_path / "ship"
    out = main(["--smoke", "--ship", str(ship), "--runs", str(tmp_path / "runs"),
                "--data", os.environ.get("INPAGE_DATA", str(D.DEFAULT_DATA))])
    man = json.loads((ship / "manifest.json").read_text())
    for f in ("encoder.int8.onnx", "user.int8.onnx", "tokenizer.json", "collab.bin", "neighbors.json", "MODEL_CARD.md"):
        assert (ship / f).exists() and f in man["files"]
    assert (tmp_path / "runs" / "smoke" / "parity.json").exists()
    assert (tmp_path / "runs" / "smoke" / "metrics.json").exists()
    assert "int8" in out["results"]["test"]
