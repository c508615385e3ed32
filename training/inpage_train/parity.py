"""Parity fixtures (e2e/fixtures/parity.json) generated from the shipped files (+ the fp32 ONNX of the run).

    python -m inpage_train.parity [--ship DIR] [--fp32 RUN_DIR] [--out FILE] [--data DIR]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import data as D
from . import export as X
from . import knn as K
from .encoder import load_tokenizer
from .user_model import EVENT_TYPES

N_ITEMS = 50


def _vecs(ship, ds, tok, max_tokens, enc_sess, item_ids, collab):
    enc = tok([ds.texts[i] for i in item_ids], truncation=True, max_length=max_tokens, padding=True,
              return_tensors="np")
    # One text per run, as the browser engine encodes: int8 dynamic quantization scales a whole batch.
    text = X.run_encoder(enc_sess, enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64), batch=1)
    return np.concatenate([text, collab[item_ids]], 1), text


def write_parity(ship: Path, out: Path, data_dir=None, fp32_dir: Path | None = None):
    ship = Path(ship)
    man = json.loads((ship / "manifest.json").read_text())
    fp32_dir = Path(fp32_dir) if fp32_dir else D.REPO_ROOT / "training" / "runs" / "final"
    ds = D.load(data_dir)
    tok = load_tokenizer(ship)
    mt = man["encoder"]["maxTokens"]
    a2i = {a: i for i, a in enumerate(ds.asins)}
    cj = json.loads((ship / "collab.json").read_text())
    cb = np.frombuffer((ship / "collab.bin").read_bytes(), dtype="<f4").reshape(len(cj["ids"]), cj["dims"])
    collab = np.zeros((ds.n_items, cj["dims"]), dtype=np.float32)
    for r, a in enumerate(cj["ids"]):
        collab[a2i[a]] = cb[r]
    nb = json.loads((ship / "neighbors.json").read_text())
    W = K.from_neighbors_json(nb, a2i, ds.n_items)
    knn_w = man["scoring"]["knn"]["weight"]; knn_d = man["scoring"]["knn"]["decay"]
    e8 = X.session(ship / "encoder.int8.onnx"); u8 = X.session(ship / "user.int8.onnx")
    e32 = X.session(fp32_dir / "encoder.fp32.onnx"); u32 = X.session(fp32_dir / "user.fp32.onnx")

    # items: spread over the catalogue, plus some with a null brand and long titles (truncation)
    rng = np.random.default_rng(7)
    pick = list(rng.choice(ds.n_items, N_ITEMS - 6, replace=False))
    pick += [i for i, r in enumerate(ds.items) if not r.get("brand")][:3]
    lens = [len(tok(t)["input_ids"]) for t in ds.texts]
    pick += list(np.argsort(lens)[-3:])
    pick = [int(i) for i in dict.fromkeys(pick)]
    iv8, t8 = _vecs(ship, ds, tok, mt, e8, pick, collab)
    _, t32 = _vecs(ship, ds, tok, mt, e32, pick, collab)
    items = []
    for j, i in enumerate(pick):
        r = ds.items[i]
        items.append({"id": r["asin"], "title": r.get("title"), "brand": r.get("brand"), "categories": r.get("categories"),
                      "text": ds.texts[i], "input_ids": tok(ds.texts[i], truncation=True, max_length=mt)["input_ids"],
                      "has_collab": bool(np.any(collab[i] != 0)),
                      "text_vec_fp32": [round(float(x), 6) for x in t32[j]],
                      "text_vec_int8": [round(float(x), 6) for x in t8[j]]})

    # histories: a few test histories (one with semi-synthetic browse events), candidates scored with int8
    rows = [0, 1, 2, 3]
    order = np.argsort([-len(h) for h in ds.test.hists])
    rows = [int(order[0]), int(order[len(order) // 3]), int(order[-1]), int(order[len(order) // 2])]
    hists = []
    for n, r in enumerate(rows):
        h = [int(x) for x in ds.test.hists[r]]
        types = [EVENT_TYPES["purchase"]] * len(h)
        if n == 3 and len(h) >= 2:
            types[-2] = EVENT_TYPES["view"]; types[0] = EVENT_TYPES["click"]; types[-1] = EVENT_TYPES["add_to_cart"]
        h = h[-man["user"]["maxHistory"]:]; types = types[-len(h):]
        hv8, _ = _vecs(ship, ds, tok, mt, e8, h, collab)
        hv32t = _vecs(ship, ds, tok, mt, e32, h, collab)[0]
        m = np.ones((1, len(h)), dtype=np.int64)
        ty = np.array([types], dtype=np.int64)
        uv8 = u8.run(["user_vec"], {"hist_vecs": hv8[None].astype(np.float32), "hist_types": ty, "hist_mask": m})[0][0]
        uv32 = u32.run(["user_vec"], {"hist_vecs": hv32t[None].astype(np.float32), "hist_types": ty, "hist_mask": m})[0][0]
        kn = K.score([np.array(h)], W, knn_d)[0]
        cand = list(np.argsort(-kn)[:8]) + list(rng.choice(ds.n_items, 8, replace=False)) + [int(ds.test.targets[r])]
        cand = [int(c) for c in dict.fromkeys(cand)]
        cv8, _ = _vecs(ship, ds, tok, mt, e8, cand, collab)
        dense = cv8 @ uv8
        scores = dense + knn_w * kn[cand]
        hists.append({"ids": [ds.asins[i] for i in h], "types": types,
                      "user_vec_fp32": [round(float(x), 6) for x in uv32],
                      "user_vec_int8": [round(float(x), 6) for x in uv8],
                      "candidates": [ds.asins[c] for c in cand],
                      "scores_int8": [round(float(x), 6) for x in scores],
                      "dense_int8": [round(float(x), 6) for x in dense],
                      "knn_term": [round(float(x), 6) for x in kn[cand]]})
    obj = {"model": man["name"], "maxTokens": mt, "knn": {"weight": knn_w, "decay": knn_d},
           "note": "history item vectors = concat(int8 text_vec, collab_vec or zeros); types in the 4th history are "
                   "semi-synthetic (the data has purchases only)",
           "items": items, "histories": hists}
    out = Path(out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(obj, indent=1))
    return obj


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--ship", default=str(D.REPO_ROOT / "public" / "models" / "inpage-sci-v1"))
    ap.add_argument("--fp32", default=None)
    ap.add_argument("--out", default=str(D.REPO_ROOT / "e2e" / "fixtures" / "parity.json"))
    ap.add_argument("--data", default=None)
    a = ap.parse_args()
    write_parity(Path(a.ship), Path(a.out), a.data, Path(a.fp32) if a.fp32 else None)
