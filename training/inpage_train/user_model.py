"""Sequence user model: a small transformer over history item vectors (+ recency position + event type)
-> user vector in item-vector space; trained for next-item prediction with full-softmax cross-entropy
over all catalog item vectors (item_vec = concat(text_vec, collab_vec or zeros)).

Collab dropout (history and catalog) keeps it working from text alone. Event types other than
purchase are SEMI-SYNTHETIC: the data has purchases only (see augment()).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

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
    """hist_vecs [B,L,item_dim] (left-padded, last slot = most recent), hist_types [B,L], hist_mask [B,L]
    -> user_vec [B,item_dim]; score(item) = user_vec · item_vec.

    prior_dims: trailing item-vector dims that are item *priors* (the popularity feature), not item content:
    the recency-mean skip path ignores them and the output starts at `prior_init` there, so the initial
    state is exactly "recency-weighted mean of history vectors + prior_init × popularity feature"."""

    def __init__(self, item_dim, d=128, layers=2, heads=2, max_history=50, n_types=4, drop=0.2,
                 prior_dims=0, prior_init=0.0):
        super().__init__()
        # per-event pooling logit from the transformer (zero at start): the user vector is a weighted mean of
        # the history's vectors whose weights the model learns from content, event type and recency
        self.pool = nn.Linear(d, 1)
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
        skip_mask = torch.ones(item_dim)
        if prior_dims:
            skip_mask[-prior_dims:] = 0
        self.register_buffer("skip_mask", skip_mask)
        # the transformer path learns a correction on top of the recency mean (+ prior): zero output at start
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        nn.init.zeros_(self.pool.weight)
        nn.init.zeros_(self.pool.bias)
        if prior_dims:
            with torch.no_grad():
                self.out.bias[-prior_dims:] = prior_init

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
        # weights ∝ decay^recency × exp(pool(x)) over the real events (at start: the recency-weighted mean)
        lw = rec.to(hist_vecs.dtype).unsqueeze(0) * F.logsigmoid(self.decay) + self.pool(self.ln(x)).squeeze(-1)
        lw = lw.masked_fill(hist_mask == 0, -1e4)
        w = torch.softmax(lw, dim=1) * maskf
        pooled = (hist_vecs * w.unsqueeze(-1)).sum(1) / w.sum(1, keepdim=True).clamp(min=1e-6)
        return self.out(h) + self.skip * pooled * self.skip_mask


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


def category_index(cat_keys):
    """(item -> category number, category number -> its items) for augment()."""
    kid = {k: i for i, k in enumerate(sorted(set(cat_keys)))}
    cat_of = {i: kid[k] for i, k in enumerate(cat_keys)}
    cat_items = {}
    for i, k in cat_of.items():
        cat_items.setdefault(k, []).append(i)
    return cat_of, {k: np.array(v) for k, v in cat_items.items()}


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


@dataclass
class Level:
    """Training examples whose public aggregates were built WITHOUT their targets: every shopper's training
    sequence cut by `cut` items (history = the first n-cut items, target = item n-cut+1), and the collab
    vectors, popularity feature and neighbour weights recomputed from the cut sequences alone. This mirrors
    valid/test exactly (their aggregates never saw the target) and removes the leak that made the model
    trust co-occurrence evidence that cannot exist for an unseen pair."""
    hists: list
    targets: np.ndarray
    item_vecs: np.ndarray        # [n_items, item_dim] (text ‖ collab ‖ prior) from the cut sequences
    knn: object                  # scipy.sparse [n_items, n_items] neighbour weights from the cut sequences
    cat_keys: list | None = None # this level's own catalogue categories (levels from different catalogues);
                                 # None: train()'s cat_keys


def train(model, levels, text_dim, cat_keys, knn_weight=0.5, knn_decay=0.8, epochs=10, batch=256, lr=1e-3,
          collab_drop_hist=0.25, collab_drop_cat=0.1, temp=0.05, seed=0, max_steps=None, log=print,
          augment_types=True, time_budget_s=None, hist_drop=0.1, eval_fn=None, eval_every=1, calib_steps=150,
          freeze_prior=0, pool_only=False):
    """Next-item prediction, full softmax over the catalogue with the score the browser computes:
    logit(i) = (user·item_i + knn_weight × Σ_p decay^p w(h_p → i)) / temp; the history's own items are
    masked (the browser and the metrics exclude them). The kNN term is a fixed input, so the transformer
    learns what co-occurrence misses instead of re-learning it. Model selection on valid (eval_fn) after
    every `eval_every` epochs, starting from the untrained state (step 0)."""
    from . import knn as K
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cat_of, cat_items = category_index(cat_keys)
    # levels may come from different catalogues (the general model): each then carries its own categories
    cat_idx = [category_index(lv.cat_keys) if lv.cat_keys is not None else (cat_of, cat_items) for lv in levels]
    ivs = [torch.from_numpy(lv.item_vecs) for lv in levels]
    D = ivs[0].shape[1]
    has_collab = D > text_dim
    # training-only calibration: the softmax temperature and the kNN term's weight are learned with the model,
    # so the transformer is not pushed to distort the user vector to fix the scale (the shipped kNN weight is
    # chosen on valid afterwards)
    log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temp)))
    knn_coef = nn.Parameter(torch.tensor(float(knn_weight)))
    calib = [log_scale, knn_coef]
    opt = torch.optim.AdamW([{"params": list(model.parameters())}, {"params": calib, "weight_decay": 0.0}],
                            lr=lr, weight_decay=0.01)
    def batch_loss(li, idx):
        lv, iv = levels[li], ivs[li]
        l_cat_of, l_cat_items = cat_idx[li]
        seqs, tys = [], []
        for i in idx:
            h = lv.hists[i]
            if augment_types:
                sq, ty = augment(h, rng, l_cat_items, l_cat_of)
            else:
                sq, ty = [int(x) for x in h], [0] * len(h)
            if hist_drop and len(sq) > 2:  # drop random older events (robustness to short/partial histories)
                keep = [j for j in range(len(sq)) if j == len(sq) - 1 or rng.random() > hist_drop]
                sq = [sq[j] for j in keep]; ty = [ty[j] for j in keep]
            seqs.append(sq); tys.append(ty)
        tg = torch.from_numpy(lv.targets[idx])
        ids, ty, m = pad_batch(seqs, tys, model.max_history)
        hv = iv[torch.from_numpy(ids)] * torch.from_numpy(m)[..., None]
        if has_collab and collab_drop_hist:
            drop = torch.from_numpy(rng.random(len(idx)) < collab_drop_hist)
            hv[drop, :, text_dim:] = 0
        cat = iv
        if has_collab and collab_drop_cat:
            cm = torch.from_numpy(rng.random(iv.shape[0]) < collab_drop_cat)
            cat = iv.clone(); cat[cm, text_dim:] = 0
        kn = torch.from_numpy(K.score([sq[-model.max_history:] for sq in seqs], lv.knn, knn_decay).astype(np.float32))
        u = model(hv, torch.from_numpy(ty), torch.from_numpy(m))
        logits = (u @ cat.T + knn_coef * kn) * log_scale.exp()
        hmask = torch.zeros_like(logits, dtype=torch.bool)
        for r, sq in enumerate(seqs):
            hmask[r, sq] = True
        hmask[torch.arange(len(idx)), tg] = False
        logits = logits.masked_fill(hmask, -1e4)
        return F.cross_entropy(logits, tg)

    if pool_only:
        # the transformer may only re-weight the history's events (no free direction added to the user vector)
        model.out.weight.requires_grad_(False); model.out.bias.requires_grad_(False)
    if freeze_prior and not pool_only:
        # the prior's weight stays the value chosen on valid: full-softmax cross-entropy alone would raise it
        # (popularity helps the middle of the ranking) at the cost of the top-10 the product shows
        def _zero_tail(g):
            g = g.clone(); g[-freeze_prior:] = 0; return g
        model.out.weight.register_hook(_zero_tail)
        model.out.bias.register_hook(_zero_tail)
    chunks = []
    for li, lv in enumerate(levels):
        n = len(lv.targets)
        chunks += [(li, s) for s in range(0, max(n - batch + 1, 1), batch)]
    steps_per_epoch = len(chunks)
    total = epochs * steps_per_epoch
    if max_steps:
        total = min(total, max_steps)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 2), pct_start=0.1)
    t0 = time.time()
    step, losses, history, best = 0, [], [], None
    if eval_fn is not None:
        v = eval_fn(model); history.append({"step": 0, "valid": v})
        best = (v, 0, {k: x.clone() for k, x in model.state_dict().items()})
        log(f"user step 0 valid {v:.4f}")
    # calibrate temperature and kNN weight on the untrained model first (a wrong scale makes the first
    # updates distort the user vector instead of learning anything)
    model.eval()
    cal = torch.optim.Adam(calib, lr=0.05)
    loss = torch.tensor(float("nan"))
    for _ in range(calib_steps):
        li = int(rng.integers(len(levels)))
        loss = batch_loss(li, rng.choice(len(levels[li].targets), min(batch, len(levels[li].targets)), replace=False))
        cal.zero_grad(); loss.backward(); cal.step()
    model.zero_grad(set_to_none=True)
    log(f"user calibration: temp {float(torch.exp(-log_scale.detach())):.4f} knn weight {float(knn_coef.detach()):.3f} loss {loss.item():.4f}")
    while step < total:
        order = rng.permutation(len(chunks))
        perms = [rng.permutation(len(lv.targets)) for lv in levels]
        model.train()
        for c in order:
            if step >= total:
                break
            li, s = chunks[c]
            loss = batch_loss(li, perms[li][s:s + batch])
            opt.zero_grad(); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step()
            losses.append(loss.item()); step += 1
            if step % steps_per_epoch == 0 or step == total:
                log(f"user step {step}/{total} loss {np.mean(losses[-steps_per_epoch:]):.4f} temp {float(torch.exp(-log_scale.detach())):.4f} "
                    f"knn {float(knn_coef.detach()):.3f} {time.time() - t0:.0f}s")
                if eval_fn is not None and (step % (eval_every * steps_per_epoch) == 0 or step == total):
                    v = eval_fn(model); model.train(); history.append({"step": step, "valid": v})
                    log(f"user step {step} valid {v:.4f}")
                    if v > best[0]:
                        best = (v, step, {k: x.clone() for k, x in model.state_dict().items()})
            if time_budget_s and time.time() - t0 > time_budget_s:
                log(f"user time budget reached at step {step}"); total = step; break
    model.eval()
    info = {"steps": step, "final_loss": float(np.mean(losses[-50:])) if losses else None, "seconds": time.time() - t0,
            "learned_temp": float(torch.exp(-log_scale.detach())), "learned_knn_coef": float(knn_coef.detach())}
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


def closed_form(model: UserModel) -> dict | None:
    """The user model as a formula, when training left the transformer without effect (pool-only with the pooling
    logits and the output projection at zero, as user_epochs=0 leaves them): user_vec = skip × recency-weighted
    mean of the history's vectors over dims [0, pooled) + bias, weights ∝ decay^recency. The browser then computes
    it in TypeScript, without onnxruntime (docs/model-contract.md, `user.closedForm`). None when any of those
    parameters is not zero (a trained model): the ONNX graph is the model."""
    with torch.no_grad():
        if model.pool.weight.abs().max() != 0 or model.out.weight.abs().max() != 0:
            return None
        pooled = int(model.skip_mask.sum().item())
        if not bool((model.skip_mask[:pooled] == 1).all()):
            return None
        bias = model.out.bias
        return {"kind": "recency-mean", "decay": float(torch.sigmoid(model.decay)), "skip": float(model.skip),
                "pooled": pooled, "bias": [[i, float(bias[i])] for i in range(len(bias)) if float(bias[i]) != 0.0]}
