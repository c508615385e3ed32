"""Sequence user model: a small transformer over history item vectors (+ recency position + event type)
-> user vector in item-vector space; trained for next-item prediction with full-softmax cross-entropy
over all catalog item vectors (item_vec = concat(text_vec, collab_vec or zeros)).

Collab dropout (history and catalog) keeps it working from text alone. Event types other than
purchase are SEMI-SYNTHETIC: the data has purchases only (see augment()).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EVENT_TYPES = {"purchase": 0, "add_to_cart": 1, "click": 2, "view": 3}


class Block(nn.Module):
    def __init__(self, d, heads, ff, drop):
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))
        self.drop = nn.Dropout(drop)

    def forward(self, x, add_mask):
        B, L, D = x.shape
        hd = D // self.h
        q, k, v = self.qkv(self.ln1(x)).reshape(B, L, 3, self.h, hd).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + add_mask  # [B,h,L,L]
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, L, D)
        x = x + self.drop(self.o(y))
        x = x + self.drop(self.ff(self.ln2(x)))
        return x


class UserModel(nn.Module):
    def __init__(self, item_dim, d=128, layers=2, heads=2, max_history=50, n_types=4, drop=0.2):
        super().__init__()
        self.inp = nn.Linear(item_dim, d)
        self.pos = nn.Embedding(max_history, d)     # recency position: 0 = most recent
        self.typ = nn.Embedding(n_types, d)
        nn.init.normal_(self.pos.weight, std=0.02)
        nn.init.normal_(self.typ.weight, std=0.02)
        self.blocks = nn.ModuleList([Block(d, heads, 2 * d, drop) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, item_dim)
        self.skip = nn.Parameter(torch.tensor(1.0))   # weight of a recency-pooled skip of the inputs
        self.decay = nn.Parameter(torch.tensor(0.0))  # logit of the skip's recency decay
        self.drop = nn.Dropout(drop)
        self.max_history = max_history
        # start as the recency-weighted mean of the history item vectors (a strong baseline); the transformer
        # path learns a correction on top of it
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, hist_vecs, hist_types, hist_mask):
        B, L, _ = hist_vecs.shape
        # recency index of each slot (left-padded: last slot = most recent)
        rec = (L - 1 - torch.arange(L, device=hist_vecs.device)).clamp(max=self.max_history - 1)
        maskf = hist_mask.to(hist_vecs.dtype)
        x = self.inp(hist_vecs) + self.pos(rec).unsqueeze(0) + self.typ(hist_types)
        x = self.drop(x) * maskf.unsqueeze(-1)
        add_mask = ((1.0 - maskf) * -1e4)[:, None, None, :]
        for b in self.blocks:
            x = b(x, add_mask)
        h = self.ln(x[:, -1])
        # recency-weighted mean of the raw history vectors (a strong text-only baseline), as a skip path
        g = torch.sigmoid(self.decay)
        w = torch.pow(g, rec.to(hist_vecs.dtype)).unsqueeze(0) * maskf
        pooled = (hist_vecs * w.unsqueeze(-1)).sum(1) / w.sum(1, keepdim=True).clamp(min=1e-6)
        return self.out(h) + self.skip * pooled


def pad_batch(seqs, types, max_history):
    L = min(max_history, max(len(s) for s in seqs))
    B = len(seqs)
    ids = np.zeros((B, L), dtype=np.int64)
    ty = np.zeros((B, L), dtype=np.int64)
    m = np.zeros((B, L), dtype=np.int64)
    for i, (s, t) in enumerate(zip(seqs, types)):
        s, t = s[-L:], t[-L:]
        ids[i, L - len(s):] = s
        ty[i, L - len(s):] = t
        m[i, L - len(s):] = 1
    return ids, ty, m


def augment(seq, rng, cat_items, cat_of, p_insert=0.2, p_cart=0.05):
    """SEMI-SYNTHETIC event types (the data has purchases only):
    - with prob p_insert, 1-2 browse events (view/click) of a random item from the category of a random
      history item are inserted at random positions (browsing noise the model should learn to discount);
    - each purchase is relabelled add_to_cart with prob p_cart (a cart is an intent as strong as a buy)."""
    seq = list(int(x) for x in seq)
    types = [EVENT_TYPES["purchase"]] * len(seq)
    for i in range(len(types)):
        if rng.random() < p_cart:
            types[i] = EVENT_TYPES["add_to_cart"]
    if rng.random() < p_insert:
        for _ in range(int(rng.integers(1, 3))):
            src = seq[int(rng.integers(len(seq)))]
            pool = cat_items[cat_of[src]]
            it = int(pool[int(rng.integers(len(pool)))])
            pos = int(rng.integers(0, len(seq) + 1))
            seq.insert(pos, it)
            types.insert(pos, EVENT_TYPES["view"] if rng.random() < 0.5 else EVENT_TYPES["click"])
    return seq, types


def train(model, item_vecs, hists, targets, text_dim, cat_keys, epochs=20, batch=256, lr=2e-3,
          collab_drop_hist=0.25, collab_drop_cat=0.1, temp=0.05, seed=0, max_steps=None, log=print,
          augment_types=True, time_budget_s=None, hist_drop=0.1, eval_fn=None, eval_every=2):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cat_of = {}
    cat_items = {}
    keys = sorted(set(cat_keys))
    kid = {k: i for i, k in enumerate(keys)}
    for i, k in enumerate(cat_keys):
        cat_of[i] = kid[k]
        cat_items.setdefault(kid[k], []).append(i)
    cat_items = {k: np.array(v) for k, v in cat_items.items()}
    iv = torch.from_numpy(item_vecs)
    D = iv.shape[1]
    has_collab = D > text_dim
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    n = len(targets)
    steps_per_epoch = max(1, n // batch)
    total = epochs * steps_per_epoch
    if max_steps:
        total = min(total, max_steps)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 2), pct_start=0.1)
    t0 = time.time()
    step = 0
    losses = []
    history = []
    best = None
    if eval_fn is not None:   # model selection on valid, starting with the untrained (recency-mean) state
        v = eval_fn(model); history.append({"step": 0, "valid": v})
        best = (v, 0, {k: x.clone() for k, x in model.state_dict().items()})
        log(f"user step 0 valid {v:.4f}")
    while step < total:
        perm = rng.permutation(n)
        model.train()
        for s in range(0, n - batch + 1 if n >= batch else 1, batch):
            if step >= total:
                break
            idx = perm[s:s + batch]
            seqs, tys = [], []
            for i in idx:
                h = hists[i]
                if augment_types:
                    sq, ty = augment(h, rng, cat_items, cat_of)
                else:
                    sq, ty = list(h), [0] * len(h)
                if hist_drop and len(sq) > 2:  # drop random older events (robustness to short/partial histories)
                    keep = [j for j in range(len(sq)) if j == len(sq) - 1 or rng.random() > hist_drop]
                    sq = [sq[j] for j in keep]; ty = [ty[j] for j in keep]
                seqs.append(sq); tys.append(ty)
            ids, ty, m = pad_batch(seqs, tys, model.max_history)
            hv = iv[torch.from_numpy(ids)]
            if has_collab and collab_drop_hist:
                drop = torch.from_numpy(rng.random(len(idx)) < collab_drop_hist)
                hv[drop, :, text_dim:] = 0
            cat = iv
            if has_collab and collab_drop_cat:
                cm = torch.from_numpy(rng.random(iv.shape[0]) < collab_drop_cat)
                cat = iv.clone(); cat[cm, text_dim:] = 0
            u = model(hv, torch.from_numpy(ty), torch.from_numpy(m))
            logits = (u @ cat.T) / temp
            loss = F.cross_entropy(logits, torch.from_numpy(targets[idx]))
            opt.zero_grad(); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step()
            losses.append(loss.item()); step += 1
            if step % steps_per_epoch == 0 or step == total:
                log(f"user step {step}/{total} loss {np.mean(losses[-steps_per_epoch:]):.4f} {time.time() - t0:.0f}s")
                if eval_fn is not None and (step % (eval_every * steps_per_epoch) == 0 or step == total):
                    v = eval_fn(model); model.train(); history.append({"step": step, "valid": v})
                    log(f"user step {step} valid {v:.4f}")
                    if v > best[0]:
                        best = (v, step, {k: x.clone() for k, x in model.state_dict().items()})
            if time_budget_s and time.time() - t0 > time_budget_s:
                log(f"user time budget reached at step {step}"); total = step; break
    model.eval()
    info = {"steps": step, "final_loss": float(np.mean(losses[-50:])) if losses else None, "seconds": time.time() - t0}
    if best is not None:
        model.load_state_dict(best[2])
        info.update({"selected_step": best[1], "selected_valid": best[0], "valid_history": history})
        log(f"user model: kept step {best[1]} (valid {best[0]:.4f})")
    return info


@torch.no_grad()
def user_vectors(model, item_vecs, hists, max_history=50, batch=512, types=None):
    model.eval()
    out = []
    iv = torch.from_numpy(item_vecs)
    for s in range(0, len(hists), batch):
        hs = [list(h) for h in hists[s:s + batch]]
        ts = [[0] * len(h) for h in hs] if types is None else types[s:s + batch]
        ids, ty, m = pad_batch(hs, ts, max_history)
        out.append(model(iv[torch.from_numpy(ids)], torch.from_numpy(ty), torch.from_numpy(m)).numpy())
    return np.concatenate(out)
