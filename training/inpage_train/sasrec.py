"""Server-side baseline: SASRec on item IDs (2 layers, 64 dims, causal, full-softmax CE), CPU, same split.
Trained on the training histories (valid.inter histories, every position predicts the next item)."""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SASRec(nn.Module):
    def __init__(self, n_items, d=64, layers=2, heads=2, max_len=50, drop=0.3):
        super().__init__()
        self.item = nn.Embedding(n_items + 1, d, padding_idx=0)   # 0 = padding, item i -> i + 1
        self.pos = nn.Embedding(max_len, d)
        layer = nn.TransformerEncoderLayer(d, heads, 2 * d, drop, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(d)
        self.drop = nn.Dropout(drop)
        self.max_len = max_len
        for mod in self.modules():       # RecBole-style init
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, std=0.02)
            if isinstance(mod, nn.Linear) and mod.bias is not None:
                nn.init.zeros_(mod.bias)

    def forward(self, seq):  # seq [B, L] left-padded, values item+1
        B, L = seq.shape
        x = self.item(seq) + self.pos(torch.arange(L))[None]
        x = self.drop(x)
        # causal + key padding, every position may always attend to itself (no all-masked rows -> no NaN)
        blocked = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)[None] | (seq == 0)[:, None, :]
        blocked = blocked & ~torch.eye(L, dtype=torch.bool)[None]
        heads = self.enc.layers[0].self_attn.num_heads
        mask = torch.zeros(B, L, L).masked_fill(blocked, float("-inf")).repeat_interleave(heads, 0)
        h = self.enc(x, mask=mask)
        return self.ln(h)

    def logits(self, h):
        return h @ self.item.weight[1:].T


def _pad(seqs, L):
    out = np.zeros((len(seqs), L), dtype=np.int64)
    for i, s in enumerate(seqs):
        s = s[-L:]
        out[i, L - len(s):] = np.asarray(s) + 1
    return out


class Trained:
    def __init__(self, model):
        self.m = model

    @torch.no_grad()
    def scores(self, hists, batch=512):
        self.m.eval()
        out = []
        for s in range(0, len(hists), batch):
            seq = torch.from_numpy(_pad(hists[s:s + batch], self.m.max_len))
            h = self.m(seq)[:, -1]
            out.append(self.m.logits(h).numpy())
        return np.concatenate(out)


def train_sasrec(ds, seed=0, epochs=30, batch=128, lr=2e-3, log=print, smoke=False, time_budget_s=480):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    m = SASRec(ds.n_items)
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    # training sequences = each user's items before the last two (the valid.inter histories)
    seqs = [np.asarray(h) for h in ds.train_histories() if len(h) >= 2]
    if smoke:
        epochs = 1; seqs = seqs[:batch]
    t0 = time.time()
    for ep in range(epochs):
        m.train()
        perm = rng.permutation(len(seqs))
        tot = 0.0
        for s in range(0, len(perm), batch):
            bs = [seqs[i] for i in perm[s:s + batch]]
            inp = torch.from_numpy(_pad([b[:-1] for b in bs], m.max_len))
            tgt = torch.from_numpy(_pad([b[1:] for b in bs], m.max_len)) - 1   # -1 = padding
            h = m(inp)
            valid = tgt >= 0
            loss = F.cross_entropy(m.logits(h[valid]), tgt[valid])
            opt.zero_grad(); loss.backward(); opt.step()
            tot += loss.item()
            if smoke:
                break
        log(f"sasrec epoch {ep + 1}/{epochs} loss {tot / max(1, len(perm) // batch):.3f} {time.time() - t0:.0f}s")
        if time.time() - t0 > time_budget_s:
            log("sasrec time budget reached"); break
    return Trained(m)
