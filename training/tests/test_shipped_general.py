"""The shipped general model (contract 3): files match the manifest, the manifest has the contract's shape, the
encoder has its full vocabulary, the int8 ONNX fits the budget, and nothing per catalogue ships with it."""
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx

REPO = Path(__file__).resolve().parents[2]
SHIP = REPO / "public" / "models" / "inpage-general-v1"


def _manifest():
    p = SHIP / "manifest.json"
    assert p.is_file(), f"{p} missing: the general model is committed with the repository"
    return json.loads(p.read_text())


def test_files_match_manifest():
    man = _manifest()
    on_disk = {p.name for p in SHIP.iterdir() if p.is_file() and p.name != "manifest.json"}
    assert on_disk == set(man["files"])
    for name, meta in man["files"].items():
        b = (SHIP / name).read_bytes()
        assert len(b) == meta["bytes"] and hashlib.sha256(b).hexdigest() == meta["sha256"], name


def test_contract_3_manifest():
    man = _manifest()
    assert man["name"] == "inpage-general-v1" and man["contract"] == 3
    assert man["dims"] == {"text": 384, "collab": 1, "item": 385}
    agg = man["aggregates"]
    assert agg["priorScale"] > 0
    assert set(agg["knn"]) == {"gamma", "back", "alpha", "beta", "minCount", "topN"} and agg["knn"]["minCount"] >= 2
    assert set(man["scoring"]["knn"]) == {"weight", "decay"}
    assert "collab" not in man
    assert not any(f.startswith(("collab", "neighbors")) or ".fp32." in f for f in man["files"])
    assert sorted(man["training"]["domains"]) == ["beauty", "games", "scientific"]
    onnx_bytes = sum(v["bytes"] for k, v in man["files"].items() if k.endswith(".onnx"))
    assert onnx_bytes <= 25 * 1000 * 1000


def test_encoder_has_the_full_vocabulary_and_runs():
    g = onnx.load(str(SHIP / "encoder.int8.onnx"))
    vocab = len(json.loads((SHIP / "tokenizer.json").read_text())["model"]["vocab"])
    assert vocab == 30522
    assert any(len(i.dims) == 2 and i.dims[0] == vocab and i.dims[1] == 384 for i in g.graph.initializer)
    import onnxruntime as ort
    s = ort.InferenceSession(str(SHIP / "encoder.int8.onnx"), providers=["CPUExecutionProvider"])
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(SHIP / "tokenizer.json"))
    # words far from any one catalogue: none may become [UNK] (id 100) with the full vocabulary
    e = tok.encode("writing pens. mascara. zelda.")
    assert 100 not in e.ids
    v = s.run(["text_vec"], {"input_ids": np.array([e.ids], dtype=np.int64),
                             "attention_mask": np.array([e.attention_mask], dtype=np.int64)})[0]
    assert v.shape == (1, 384) and abs(float(np.linalg.norm(v)) - 1.0) < 1e-3


def test_user_closed_form_is_what_the_int8_graph_computes():
    """The browser computes `user.closedForm` in TypeScript instead of running user.int8.onnx: it must be the
    graph. The sci model's trained graph is not one (the check can fail)."""
    from inpage_train import closed_form as C
    declared = _manifest()["user"]["closedForm"]
    probed, gap = C.check(SHIP)
    assert gap <= C.TOLERANCE
    assert declared["kind"] == probed["kind"] and declared["pooled"] == probed["pooled"] == 384
    assert abs(declared["decay"] - probed["decay"]) < 1e-6 and abs(declared["skip"] - probed["skip"]) < 1e-6
    assert declared["bias"] == probed["bias"]
    sci = REPO / "public" / "models" / "inpage-sci-v1"
    assert "closedForm" not in json.loads((sci / "manifest.json").read_text())["user"]
    assert C.check(sci)[1] > 1e-3
