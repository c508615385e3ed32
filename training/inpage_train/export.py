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
