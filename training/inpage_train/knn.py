"""Public item-to-item co-occurrence (item-kNN), an aggregate over all shoppers' training histories.

C_users[a, b] = number of distinct users whose training history holds both a and b (privacy count).
Pairs with C_users < min_count are dropped (k-anonymity-style threshold: a pair bought together by
fewer than k shoppers can reveal one basket).
Weight: w(a -> b) = Cw[a, b] / (pop[a]^alpha * pop[b]^beta), where Cw sums distance-decayed pair
weights (gamma^(|pos_a - pos_b| - 1)), forward pairs (b after a) weighted 1, backward pairs `back`.
Each item keeps its top_n neighbours (that is what neighbors.json ships).
"""
from __future__ import annotations

import json

import numpy as np
import scipy.sparse as sp


def cooc(histories, n_items, gamma=0.8, back=1.0):
    cu = np.zeros((n_items, n_items), dtype=np.float32)
    cw = np.zeros((n_items, n_items), dtype=np.float32)
    for h in histories:
        h = np.asarray(h)
        L = len(h)
        if L < 2:
            continue
        uniq = np.unique(h)
        cu[np.ix_(uniq, uniq)] += 1
        i, j = np.triu_indices(L, 1)          # i before j
        d = (j - i).astype(np.float32)
        w = gamma ** (d - 1)
        np.add.at(cw, (h[i], h[j]), w)         # forward a -> b
        np.add.at(cw, (h[j], h[i]), w * back)  # backward
    np.fill_diagonal(cu, 0)
    np.fill_diagonal(cw, 0)
    return cu, cw


def weights(cu, cw, pop, min_count=1, alpha=0.5, beta=0.5, top_n=None):
    p = np.maximum(pop, 1.0).astype(np.float32)
    w = cw / (p[:, None] ** alpha) / (p[None, :] ** beta)
    w[cu < min_count] = 0
    if top_n:
        # keep top_n per row
        idx = np.argpartition(-w, min(top_n, w.shape[1] - 1), axis=1)[:, :top_n]
        mask = np.zeros_like(w, dtype=bool)
        np.put_along_axis(mask, idx, True, axis=1)
        w = np.where(mask, w, 0)
    return w.astype(np.float32)


def recent_unique(h):
    """Distinct items, most recent first (the browser's `recentUnique`)."""
    seen, out = set(), []
    for it in reversed([int(x) for x in h]):
        if it not in seen:
            seen.add(it); out.append(it)
    return out


def hist_matrix(hists, n_items, decay):
    rows, cols, vals = [], [], []
    for r, h in enumerate(hists):
        for p_, it in enumerate(recent_unique(h)):      # p = 0 for the most recent distinct item
            rows.append(r); cols.append(it); vals.append(decay ** p_)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(hists), n_items), dtype=np.float32)


def score(hists, w, decay):
    """Σ_p decay^p w(h_p -> i) over the history's distinct items h_p, most recent first (like the browser's
    knnScores: a repeated item counts once, at its latest position). w: dense or scipy.sparse."""
    out = hist_matrix(hists, w.shape[0], decay) @ w
    return out.toarray() if sp.issparse(out) else np.asarray(out)


def to_neighbors_json(w, asins, min_count, digits=4):
    items = {}
    for a in range(w.shape[0]):
        nz = np.nonzero(w[a])[0]
        if len(nz) == 0:
            continue
        nz = nz[np.argsort(-w[a, nz], kind="stable")]
        items[asins[a]] = [[asins[b], float(f"{w[a, b]:.{digits}g}")] for b in nz]
    return {"minCount": int(min_count), "items": items}


def from_neighbors_json(obj, asin_to_id, n_items):
    w = np.zeros((n_items, n_items), dtype=np.float32)
    for a, lst in obj["items"].items():
        for b, v in lst:
            w[asin_to_id[a], asin_to_id[b]] = v
    return w
