"""Metrics exactly as defined in shared/data/README.md.

rank = 1 + #(score > s_t) + #(score == s_t and id < t); history excluded -> history scores = -inf,
a target inside the history is a miss.
"""
from __future__ import annotations

import numpy as np


def ranks_from_scores(scores: np.ndarray, targets: np.ndarray, hists=None, exclude_history=True):
    """scores: [n, n_items] float; returns int ranks [n] (np.inf-like big value for misses)."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    if np.isnan(scores).any():
        raise ValueError("NaN in scores")
    n, m = scores.shape
    miss = np.zeros(n, dtype=bool)
    if exclude_history and hists is not None:
        for r, h in enumerate(hists):
            if len(h):
                scores[r, h] = -np.inf
                if targets[r] in set(h.tolist()):
                    miss[r] = True
    st = scores[np.arange(n), targets][:, None]
    ids = np.arange(m)[None, :]
    higher = (scores > st).sum(1)
    ties = ((scores == st) & (ids < targets[:, None])).sum(1)
    ranks = (1 + higher + ties).astype(np.int64)
    ranks[miss] = 10 ** 9          # a miss whatever the catalogue size
    return ranks


def metrics_from_ranks(ranks: np.ndarray, k: int = 10) -> dict:
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = ranks <= k
    return {
        f"recall@{k}": float(hit.mean()),
        f"ndcg@{k}": float(np.where(hit, 1.0 / np.log2(ranks + 1), 0.0).mean()),
        f"mrr@{k}": float(np.where(hit, 1.0 / ranks, 0.0).mean()),
    }


def evaluate(score_fn, split, n_items, exclude_history=True, batch=512, k=10):
    """score_fn(hists: list, rows: slice) -> [b, n_items] scores."""
    ranks = []
    n = len(split.targets)
    for s in range(0, n, batch):
        hs = split.hists[s:s + batch]
        sc = score_fn(hs, slice(s, min(n, s + batch)))
        ranks.append(ranks_from_scores(sc, split.targets[s:s + batch], hs, exclude_history))
    r = np.concatenate(ranks)
    return metrics_from_ranks(r, k), r


def category_pages(cat_keys, pop, page_size=100):
    """key -> item ids of that category page, ordered by popularity desc, ties by id asc."""
    by = {}
    for i, c in enumerate(cat_keys):
        by.setdefault(c, []).append(i)
    pages = {}
    for c, ids in by.items():
        ids = sorted(ids, key=lambda i: (-pop[i], i))
        pages[c] = np.array(ids[:page_size], dtype=np.int64)
    return pages


def category_eval(score_fn, split, cat_keys, pop, exclude_history=True, batch=512, k=10):
    """Category-page protocol: the server sends the target's category page (top-100 by popularity);
    server order = popularity (ties by id); the model reranks the page. Target not on the page = miss.
    Returns (model metrics, server metrics)."""
    pages = category_pages(cat_keys, pop)
    n = len(split.targets)
    rm, rs = [], []
    for s in range(0, n, batch):
        hs = split.hists[s:s + batch]
        sc = score_fn(hs, slice(s, min(n, s + batch)))
        for j, h in enumerate(hs):
            t = int(split.targets[s + j])
            page = pages[cat_keys[t]]
            hset = set(h.tolist()) if exclude_history else set()
            if t not in set(page.tolist()) or t in hset:
                rm.append(10 ** 6); rs.append(10 ** 6); continue
            keep = np.array([i for i in page if i not in hset], dtype=np.int64)
            # server: popularity order (page order); model: scores, ties by id
            rs.append(int(np.where(keep == t)[0][0]) + 1)
            v = sc[j, keep]
            vt = sc[j, t]
            rm.append(1 + int((v > vt).sum()) + int(((v == vt) & (keep < t)).sum()))
    return metrics_from_ranks(np.array(rm), k), metrics_from_ranks(np.array(rs), k)
