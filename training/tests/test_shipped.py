"""The committed model files match the manifest; the manifest and the parity fixtures have the contract's shape."""
import hashlib
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIP = REPO / "public" / "models" / "inpage-sci-v1"
PARITY = REPO / "e2e" / "fixtures" / "parity.json"


def _manifest():
    p = SHIP / "manifest.json"
    assert p.is_file(), f"{p} missing: the model is committed with the repository"
    return json.loads(p.read_text())


def _parity():
    assert PARITY.is_file(), f"{PARITY} missing: the parity fixture is committed with the repository"
    return json.loads(PARITY.read_text())


def test_files_match_manifest():
    man = _manifest()
    on_disk = {p.name for p in SHIP.iterdir() if p.is_file() and p.name != "manifest.json"}
    assert on_disk == set(man["files"]), "every shipped file is listed, and only those"
    for name, meta in man["files"].items():
        b = (SHIP / name).read_bytes()
        assert len(b) == meta["bytes"], name
        assert hashlib.sha256(b).hexdigest() == meta["sha256"], name


def test_manifest_contract_fields():
    man = _manifest()
    assert man["name"] == "inpage-sci-v1"
    d = man["dims"]
    assert d["item"] == d["text"] + d["collab"]
    assert man["encoder"]["inputs"] == ["input_ids", "attention_mask"] and man["encoder"]["output"] == "text_vec"
    assert man["user"]["output"] == "user_vec" and man["user"]["eventTypes"]["purchase"] == 0
    for f in ("encoder.int8.onnx", "user.int8.onnx", "tokenizer.json", "tokenizer_config.json", "config.json",
              "MODEL_CARD.md"):
        assert f in man["files"]
    assert not any(".fp32." in f for f in man["files"]), "fp32 files are not shipped"
    onnx_bytes = sum(v["bytes"] for k, v in man["files"].items() if k.endswith(".onnx"))
    assert onnx_bytes <= 25 * 1024 * 1024
    # contract 2: the catalogue's collaborative vectors and neighbour lists ship with the model
    assert man["collab"] == {"file": "collab.bin", "index": "collab.json"}
    cj = json.loads((SHIP / man["collab"]["index"]).read_text())
    assert cj["dims"] == d["collab"] and cj["layout"]["prior"] == [d["collab"] - 1, d["collab"]]
    assert (SHIP / man["collab"]["file"]).stat().st_size == 4 * len(cj["ids"]) * cj["dims"]
    knn = man["scoring"]["knn"]
    assert knn["file"] == "neighbors.json" and knn["weight"] >= 0 and 0 < knn["decay"] <= 1
    nb = json.loads((SHIP / knn["file"]).read_text())
    assert nb["minCount"] >= 1 and isinstance(nb["items"], dict) and nb["items"]
    full = man["metrics"]["test"]["full"]
    assert set(full) == {"recall@10", "ndcg@10", "mrr@10"}
    assert set(man["metrics"]["test"]["category"]) == {"ndcg@10", "server_ndcg@10"}


def test_parity_fixture_shape():
    man = _manifest()
    p = _parity()
    assert p["model"] == man["name"]
    assert 40 <= len(p["items"]) <= 60
    for it in p["items"]:
        for k in ("id", "title", "brand", "categories", "text", "input_ids", "text_vec_fp32", "text_vec_int8"):
            assert k in it
        assert len(it["text_vec_fp32"]) == len(it["text_vec_int8"]) == man["dims"]["text"]
        assert 2 <= len(it["input_ids"]) <= man["encoder"]["maxTokens"]
    assert len(p["histories"]) >= 3
    for h in p["histories"]:
        assert len(h["ids"]) == len(h["types"]) <= man["user"]["maxHistory"]
        assert len(h["user_vec_fp32"]) == len(h["user_vec_int8"]) == man["dims"]["item"]
        assert len(h["candidates"]) == len(h["scores_int8"]) > 0


def test_parity_text_rule_and_tokenizer():
    """The fixture's text follows the contract rule and the shipped tokenizer reproduces its input_ids."""
    man = _manifest()
    p = _parity()
    from inpage_train.data import build_text
    from inpage_train.encoder import load_tokenizer
    tok = load_tokenizer(SHIP)
    for it in p["items"]:
        assert build_text(it["title"], it["categories"], it["brand"]) == it["text"]
        assert tok(it["text"], truncation=True, max_length=man["encoder"]["maxTokens"])["input_ids"] == it["input_ids"]
