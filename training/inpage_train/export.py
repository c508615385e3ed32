"""ONNX export (legacy TorchScript exporter, opset 17, dynamic batch/seq axes) and int8 dynamic quantization."""
from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
import torch

OPSET = 17
# CPU threads for torch and ONNX Runtime: OMP_NUM_THREADS when set (a shared machine), else 2; the CLIs'
# --threads sets it for both (torch.set_num_threads alone would leave ORT on its default of every core).
THREADS = int(os.environ.get("OMP_NUM_THREADS") or 2)


def set_threads(n):
    global THREADS
    THREADS = n
    torch.set_num_threads(n)


def export_encoder(model, path, max_tokens):
    model.eval()
    ids = torch.randint(1000, 2000, (2, 12), dtype=torch.int64)
    mask = torch.ones(2, 12, dtype=torch.int64); mask[1, 9:] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, mask), str(path), dynamo=False, opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=["text_vec"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "text_vec": {0: "batch"}}, do_constant_folding=True)
    onnx.checker.check_model(str(path))


def export_user(model, path, item_dim):
    model.eval()
    hv = torch.randn(2, 7, item_dim)
    ty = torch.zeros(2, 7, dtype=torch.int64)
    m = torch.ones(2, 7, dtype=torch.int64); m[1, :3] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (hv, ty, m), str(path), dynamo=False, opset_version=OPSET,
                          input_names=["hist_vecs", "hist_types", "hist_mask"], output_names=["user_vec"],
                          dynamic_axes={"hist_vecs": {0: "batch", 1: "L"}, "hist_types": {0: "batch", 1: "L"},
                                        "hist_mask": {0: "batch", 1: "L"}, "user_vec": {0: "batch"}},
                          do_constant_folding=True)
    onnx.checker.check_model(str(path))


def quantize(src, dst, per_channel=False, exclude_nodes=None, op_types=None):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     nodes_to_exclude=exclude_nodes or [], op_types_to_quantize=op_types)
    onnx.checker.check_model(str(dst))


def session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_encoder(sess, ids, mask, batch=128):
    """ids/mask padded numpy; batches sorted by length, each padded to its longest row (like the browser)."""
    n = len(ids)
    order = np.argsort(-mask.sum(1), kind="stable")
    out = None
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        T = int(mask[idx].sum(1).max())
        v = sess.run(["text_vec"], {"input_ids": ids[idx, :T], "attention_mask": mask[idx, :T]})[0]
        if out is None:
            out = np.zeros((n, v.shape[1]), dtype=np.float32)
        out[idx] = v
    return out


def run_user(sess, item_vecs, hists, max_history, batch=512, types=None):
    from .user_model import pad_batch
    out = []
    for s in range(0, len(hists), batch):
        hs = [list(h) for h in hists[s:s + batch]]
        ts = [[0] * len(h) for h in hs] if types is None else types[s:s + batch]
        ids, ty, m = pad_batch(hs, ts, max_history)
        hv = item_vecs[ids] * m[..., None]          # padding slots are zeros, like the browser
        out.append(sess.run(["user_vec"], {"hist_vecs": hv.astype(np.float32), "hist_types": ty, "hist_mask": m})[0])
    return np.concatenate(out)


def closed_form_user(cf: dict, hist_vecs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`user.closedForm` (user_model.closed_form) computed as the browser does: hist_vecs [B,L,D] left-padded,
    mask [B,L]. An empty history gives the bias alone (as the graph does)."""
    B, L, D = hist_vecs.shape
    rec = (L - 1 - np.arange(L)).astype(np.float64)
    w = np.where(mask > 0, cf["decay"] ** rec, 0.0)                     # [B,L]
    s = w.sum(1, keepdims=True)
    w = np.divide(w, s, out=np.zeros_like(w), where=s > 0)
    u = np.zeros((B, D))
    p = cf["pooled"]
    u[:, :p] = cf["skip"] * np.einsum("bl,bld->bd", w, hist_vecs[:, :, :p].astype(np.float64))
    for i, v in cf["bias"]:
        u[:, i] += v
    return u.astype(np.float32)


def closed_form_gap(sess, cf: dict, item_dim: int, seed=0, rows=64, max_len=50) -> float:
    """Largest |ONNX − closed form| over random histories of 0–max_len events, random event types and vectors
    like item vectors (unit text part, a prior in the last dims): how far the graph is from the formula."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for r in range(rows):
        L = int(rng.integers(1, max_len + 1))
        n = 0 if r == 0 else int(rng.integers(1, L + 1))
        hv = rng.standard_normal((1, L, item_dim)).astype(np.float32)
        hv /= np.linalg.norm(hv, axis=-1, keepdims=True)
        m = np.zeros((1, L), dtype=np.int64); m[0, L - n:] = 1
        hv *= m[..., None]
        ty = rng.integers(0, 4, (1, L)).astype(np.int64)
        got = sess.run(["user_vec"], {"hist_vecs": hv, "hist_types": ty, "hist_mask": m})[0]
        worst = max(worst, float(np.abs(got - closed_form_user(cf, hv, m)).max()))
    return worst


def probe_closed_form(sess, item_dim: int) -> dict:
    """Reads a candidate closed form off a user graph by probing it (for a shipped model whose torch weights are
    not at hand): an empty history gives the bias, one all-ones event the skip weight and the pooled dims, an
    older all-ones event before a zero one the recency decay. closed_form_gap() then says whether it holds."""
    def run(hv, m):
        ty = np.zeros(m.shape, dtype=np.int64)
        return sess.run(["user_vec"], {"hist_vecs": hv.astype(np.float32), "hist_types": ty, "hist_mask": m})[0][0].astype(np.float64)
    bias = run(np.zeros((1, 1, item_dim)), np.zeros((1, 1), dtype=np.int64))
    one = run(np.ones((1, 1, item_dim)), np.ones((1, 1), dtype=np.int64)) - bias
    skip = float(one[0])
    pooled = int(np.argmax(np.abs(one) < 1e-6)) if (np.abs(one) < 1e-6).any() else item_dim
    two = np.zeros((1, 2, item_dim)); two[0, 0] = 1
    w_old = (run(two, np.ones((1, 2), dtype=np.int64)) - bias)[0] / skip
    bias32 = bias.astype(np.float32)
    return {"kind": "recency-mean", "decay": round(float(w_old / (1 - w_old)), 6), "skip": round(skip, 6), "pooled": pooled,
            "bias": [[i, float(bias32[i])] for i in range(item_dim) if bias32[i] != 0]}
