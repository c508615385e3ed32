"""The general (catalog-independent) model: contract 3 of docs/model-contract.md.

Trained across several catalogues ("domains"); reads only what means the same thing on every catalogue:
item vector = [text vector (the model's own encoder, full vocabulary) ‖ log1p(pop) / priorScale], and the
item-kNN term from the catalogue's own neighbour lists (knn.py). No SVD collaborative vectors (their basis
differs per store). Every aggregate (pop, neighbours) of a catalogue is computed from that catalogue's own
train histories, as a store's catalog pack does.

    python -m inpage_train.general --domains scientific,beauty,games --holdout beauty --name lodo-beauty
    python -m inpage_train.general --domains scientific,beauty,games --name general --ship public/models/inpage-general-v1
    python -m inpage_train.general --card --ship DIR --final RUN --lodo RUN [--lodo RUN ...]   # card + manifest

Settings are chosen on the TRAINING domains' valid splits only (a fixed random subset of `select_users` users per
domain); the held-out domain's valid is never read; each evaluated domain's test is scored once, at the end.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data as D
from . import encoder as E
from . import export as X
from . import knn as K
from . import metrics as M
from . import user_model as U
from .evaluate import recency_mean
from .common import BaseSettings, Log, seed_all, sha256, write_tokenizer
from .general_card import write_card_and_manifest, write_manifest

TRAINING_DIR = Path(__file__).resolve().parents[1]
REPO = TRAINING_DIR.parent
DEFAULT_ROOT = D.DEFAULT_DATA.parent
DOMAIN_DIRS = {"scientific": "amazon-scientific", "beauty": "amazon-beauty", "games": "amazon-games"}
MODEL_NAME = "inpage-general-v1"
MODEL_VERSION = "1.0.0"


@dataclass
class GSettings(BaseSettings):
    """The general model; the shared settings (seed, prior scale, encoder batch/lr/reg, kNN aggregates, user model
    size, ...) are BaseSettings'."""
    # kNN aggregates: (alpha, beta) chosen on the training domains' valid
    knn_back: float = 1.0
    knn_ab: tuple = ((0.3, 0.1), (0.5, 0.5))
    # encoder: a square projection on the frozen MiniLM's pooled output (identity = base encoder), trained
    # round-robin over the training domains, each with its own full-catalogue softmax; kept only if it wins on valid
    enc_steps: int = 0                 # 0: base encoder (no projection); the 2-core machine's budget
    enc_eval_every: int = 100
    # score
    prior_weights: tuple = (0.0, 0.02, 0.05)
    knn_weights: tuple = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    knn_decays: tuple = (0.6, 0.8)
    text_decays: tuple = (0.5, 0.8, 1.0)     # text-only baseline's recency decay
    # user model (pool-only, as in inpage-sci-v1 2.x)
    user_epochs: int = 1
    user_levels: int = 1
    user_calib_steps: int = 100
    select_users: int = 1500          # valid users per training domain used for every choice (fixed subset)


# ---------------------------------------------------------------- aggregates (what a catalog pack holds)

def popularity_of(hists, n_items):
    pop = np.zeros(n_items, dtype=np.float64)
    for h in hists:
        np.add.at(pop, np.asarray(h, dtype=np.int64), 1)
    return pop


def prior_of(pop, prior_scale):
    return (np.log1p(pop) / prior_scale).astype(np.float32)


def cooc_parts(hists, n_items, gamma):
    """(distinct-user counts, forward weights, backward weights): knn.cooc(h, n, gamma, back) is
    (cu, cf + back * cb), so any `back` can be tried without recounting."""
    cu, cf = K.cooc(hists, n_items, gamma, 0.0)
    _, cb = K.cooc([np.asarray(h)[::-1] for h in hists], n_items, gamma, 0.0)
    return cu, cf, cb


def knn_weights(hists, n_items, st, alpha, beta, pop=None, parts=None):
    """knn.py's neighbour weights from these histories only, as sparse CSR (top_n per row, pairs < minCount dropped)."""
    if pop is None:
        pop = popularity_of(hists, n_items)
    if parts is None:
        cu, cw = K.cooc(hists, n_items, st.knn_gamma, st.knn_back)
    else:
        cu, cf, cb = parts
        cw = cf + np.float32(st.knn_back) * cb
    W = K.weights(cu, cw, pop, st.knn_min_count, alpha, beta, st.knn_top_n)
    return sp.csr_matrix(W)


def next_item_scores(hists, train_hists, n_items, pop):
    """First-order transitions counted in the train histories: score(i) = #(last item -> i), popularity as a
    tie-break only (scaled below one transition)."""
    rows, cols = [], []
    for h in train_hists:
        h = np.asarray(h)
        rows.append(h[:-1]); cols.append(h[1:])
    r, c = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, int), np.zeros(0, int))
    T = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(n_items, n_items))
    last = np.array([int(h[-1]) for h in hists])
    tie = (pop / (pop.max() + 1.0) * 0.5).astype(np.float32)
    return T[last].toarray() + tie[None, :]


# ---------------------------------------------------------------- domains

@dataclass
class Domain:
    name: str
    path: str
    ds: D.Dataset
    base: np.ndarray                  # base encoder text vectors [n_items, 384] (full vocabulary)
    pop: np.ndarray = None
    sel: D.Split = None               # fixed valid subset for choices (training domains only)
    has_categories: bool = False
    parts: tuple = None               # cooc parts of the train histories (only while choosing)
    W: object = None
    text: np.ndarray = None           # the model encoder's fp32 text vectors

    @property
    def n(self):
        return self.ds.n_items


def texts_key(texts, max_tokens):
    h = hashlib.sha1(f"{max_tokens}\n".encode())
    for t in texts:
        h.update(t.encode()); h.update(b"\n")
    return h.hexdigest()[:16]


_BERT = {}


def base_text_vectors(texts, max_tokens, cache_dir, log):
    """The base MiniLM's vectors (full vocabulary, no projection), cached by the texts' hash."""
    key = texts_key(texts, max_tokens)
    p = Path(cache_dir) / f"text-base-{key}.npy"
    if p.exists():
        return np.load(p)
    t = time.time()
    if "enc" not in _BERT:
        _BERT["tok"] = E.load_tokenizer()
        _BERT["enc"] = E.TextEncoder(E.load_bert(), keep_ids=None, max_tokens=max_tokens)
    ids, mask = E.tokenize(_BERT["tok"], texts, max_tokens)
    v = E.encode(_BERT["enc"], ids, mask)
    p.parent.mkdir(parents=True, exist_ok=True)
    np.save(p, v)
    log(f"encoded {len(texts)} texts with the base encoder in {time.time() - t:.0f}s -> {p.name}")
    return v


def resolve_domains(args):
    out = []
    for path in args.data or []:
        name = Path(path).name.removeprefix("amazon-")
        out.append((name, str(Path(path))))
    if args.domains:
        for name in args.domains.split(","):
            name = name.strip()
            out.append((name, str(Path(args.data_root) / DOMAIN_DIRS.get(name, name))))
    names = [n for n, _ in out]
    assert len(set(names)) == len(names), f"domain given twice: {names}"
    return out


def load_domain(name, path, st, cache_dir, log, smoke=False):
    ds = D.load(path, smoke=smoke)
    base = base_text_vectors(ds.texts, st.max_tokens, cache_dir, log)
    d = Domain(name, path, ds, base)
    d.pop = popularity_of(ds.train_histories(), ds.n_items)
    d.has_categories = len(set(ds.cat_keys)) > 1
    rng = np.random.default_rng(st.seed)
    n = len(ds.valid.targets)
    idx = np.sort(rng.choice(n, min(n, st.select_users), replace=False))
    d.sel = D.Split(ds.valid.users[idx], [ds.valid.hists[i] for i in idx], ds.valid.targets[idx])
    log(f"domain {name}: {ds.n_items} items, train rows {len(ds.train.targets)}, valid {n} (choices on {len(idx)}), "
        f"test {len(ds.test.targets)}, categories {'yes' if d.has_categories else 'no (one root)'}")
    return d


# ---------------------------------------------------------------- the valid criterion (training domains only)

def protocols(d, split, fn):
    """{protocol: N@10} for one domain: full ranking (history excluded) and, where the domain has categories,
    category pages."""
    out = {"full": M.evaluate(fn, split, d.n)[0]["ndcg@10"]}
    if d.has_categories:
        out["category"] = M.category_eval(fn, split, d.ds.cat_keys, d.pop)[0]["ndcg@10"]
    return out


class Criterion:
    """Mean over training domains of the mean over protocols of N@10 / N@10 of the reference item-kNN (default
    weights, decay 0.8) on the same rows: 'how far above item-kNN', the target's own unit, comparable across
    domains of very different difficulty."""

    def __init__(self, doms, st, log):
        self.doms, self.st = doms, st
        self.ref = {}
        for d in doms:
            W = knn_weights(None, d.n, st, 0.3, 0.1, pop=d.pop, parts=d.parts)
            kn = K.score(d.sel.hists, W, 0.8)
            self.ref[d.name] = protocols(d, d.sel, lambda hs, sl: kn[sl])
            log(f"criterion reference (item-kNN alpha 0.3 beta 0.1 decay 0.8) {d.name}: {self.ref[d.name]}")

    def __call__(self, fns, detail=False):
        per = {}
        for d in self.doms:
            p = protocols(d, d.sel, fns[d.name])
            per[d.name] = {k: v / max(self.ref[d.name][k], 1e-9) for k, v in p.items()}
            per[d.name]["raw"] = p
        v = float(np.mean([np.mean([x for k, x in r.items() if k != "raw"]) for r in per.values()]))
        return (v, per) if detail else v


# ---------------------------------------------------------------- encoder projection across domains

def finetune_projection(doms, st, log, eval_fn):
    """A square projection P on the frozen encoder's (normalised) pooled output, identity at start; next-item
    full-catalogue softmax per domain (anchor = recency mean of the last items), domains round-robin, L2 pull
    toward the identity. Selection (incl. the identity) by eval_fn(P) on the training domains' valid."""
    torch.manual_seed(st.seed)
    rng = np.random.default_rng(st.seed)
    H = doms[0].base.shape[1]
    eye = torch.eye(H)
    P = nn.Parameter(eye.clone())
    log_scale = nn.Parameter(torch.tensor(np.log(20.0), dtype=torch.float32))
    bases = [torch.from_numpy(d.base) for d in doms]

    def loss_of(di, idx):
        d = doms[di]
        v = F.normalize(bases[di] @ P.T, dim=-1)
        hs = [d.ds.train.hists[i] for i in idx]
        a = E._anchors(v, hs, st.enc_hist_items, 0.5)
        logits = (a @ v.T) * log_scale.exp()
        tg = d.ds.train.targets[idx]
        for r, h in enumerate(hs):
            h = np.asarray(h)
            logits[r, torch.from_numpy(h[h != tg[r]])] = -1e4
        return F.cross_entropy(logits, torch.from_numpy(tg))

    def sample(di):
        n = len(doms[di].ds.train.targets)
        return rng.choice(n, min(st.enc_batch, n), replace=False)

    cal = torch.optim.Adam([log_scale], lr=0.05)
    for s in range(30 if not st.smoke else 1):
        di = s % len(doms)
        loss = loss_of(di, sample(di)); cal.zero_grad(); loss.backward(); cal.step()
    P.grad = None
    opt = torch.optim.Adam([P, log_scale], lr=st.enc_lr)
    t0 = time.time()
    v0 = eval_fn(P.detach())
    hist = [{"step": 0, "valid": v0}]
    best = (v0, 0, P.detach().clone())
    log(f"enc projection step 0 (identity) valid {v0:.4f}")
    losses = []
    for step in range(1, st.enc_steps + 1):
        di = step % len(doms)
        loss = loss_of(di, sample(di)) + st.enc_reg * ((P - eye) ** 2).sum()
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
        if step % st.enc_eval_every == 0 or step == st.enc_steps:
            v = eval_fn(P.detach())
            hist.append({"step": step, "valid": v})
            log(f"enc projection step {step} loss {np.mean(losses[-st.enc_eval_every:]):.4f} valid {v:.4f} {time.time() - t0:.0f}s")
            if v > best[0]:
                best = (v, step, P.detach().clone())
    info = {"steps": st.enc_steps, "seconds": time.time() - t0, "valid_history": hist, "selected_step": best[1],
            "selected_valid": best[0], "temp": float(torch.exp(-log_scale.detach()))}
    log(f"enc projection: kept step {best[1]} (valid {best[0]:.4f})")
    return (None if best[1] == 0 else best[2].numpy()), info


def project(base, P):
    if P is None:
        return base.astype(np.float32)
    v = base @ P.T
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def item_vectors(text, pop, st):
    return np.concatenate([text, prior_of(pop, st.prior_scale)[:, None]], 1).astype(np.float32)


# ---------------------------------------------------------------- main

def apply_overrides(st, sets):
    for kv in sets:
        k, v = kv.split("=", 1)
        assert hasattr(st, k), k
        val = json.loads(v)
        setattr(st, k, tuple(tuple(x) if isinstance(x, list) else x for x in val) if isinstance(val, list) else val)
    return st


def main(argv=None):
    """The stages in order; each writes its own timing entry. Every choice is made on the training domains' valid
    subsets; each evaluated domain's test is scored once, at the end."""
    args = parse_args(argv)
    if args.card:
        return write_card(args)
    X.set_threads(args.threads)
    st = settings_of(args)
    r = start_run(args, st)
    log, timing, T = r.log, {}, time.time()
    doms, tr = load_domains(r, st, timing)
    crit = criterion_reference(tr, st, log, timing)
    P, enc_info = encoder_projection(doms, tr, crit, st, r.run, log, timing)
    ch = choose_untrained(tr, crit, st, log, timing)
    um, um_untrained, user_info, mcrit = train_user_model(doms, tr, crit, ch, st, r.run, log, timing)
    grid, knn_w, knn_d = choose_knn_on_valid(um, mcrit, st, log, timing)
    onnx_files = export_onnx(P, um, tr[0].text.shape[1], st, r.run, r.cache, log, timing)
    user_info["closed_form"] = user_closed_form(um, onnx_files["usr_int8"], tr[0].text.shape[1] + 1, log)
    results = evaluate_test(doms, r, st, ch, knn_w, knn_d, um_untrained, onnx_files, log, timing)
    timing["total"] = time.time() - T
    out = {"name": r.name, "model": {"name": args.model_name, "version": args.model_version},
           "train_domains": r.train_names, "holdout": args.holdout, "settings": asdict(st),
           "domains": {n: {"path": doms[n].path, "items": doms[n].n, "users": int(len(doms[n].ds.test.targets)),
                           "categories": doms[n].has_categories} for n in r.names},
           "chosen": {"alpha": ch.alpha, "beta": ch.beta, "prior_weight": ch.prior_w, "knn_weight": knn_w, "knn_decay": knn_d,
                      "knn_only_decay": ch.knn_only_decay, "text_decay": ch.text_decay,
                      "encoder": "projection" if P is not None else "base"},
           "criterion_reference": crit.ref, "grid_untrained": [g for g in ch.grid if "per_domain" not in g] +
           [{k: v for k, v in g.items() if k != "per_domain"} for g in ch.grid if "per_domain" in g],
           "best_untrained": ch.best, "grid_trained": grid, "text_grid": ch.text_grid, "encoder": enc_info, "user": user_info,
           "results": results, "timing_s": timing,
           "onnx_bytes": {p.name: p.stat().st_size for p in onnx_files.values()},
           "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version()}}
    write_outputs(r, st, out, onnx_files)
    log(f"done in {time.time() - T:.0f}s")
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default=str(DEFAULT_ROOT))
    ap.add_argument("--domains", default=None, help="comma-separated names under --data-root (scientific,beauty,games)")
    ap.add_argument("--data", action="append", default=[], help="a domain's folder (repeatable)")
    ap.add_argument("--holdout", default=None, help="domain trained without, scored on its test (leave-one-domain-out)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--model-name", default=MODEL_NAME)
    ap.add_argument("--model-version", default=MODEL_VERSION)
    ap.add_argument("--runs", default=str(TRAINING_DIR / "runs"))
    ap.add_argument("--cache", default=None, help="text-vector cache (default <runs>/cache)")
    ap.add_argument("--ship", default=None, help="write the shipped model folder here (refuses an existing one without --force)")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--threads", type=int, default=X.THREADS, help="torch + ONNX Runtime threads (default OMP_NUM_THREADS or 2)")
    ap.add_argument("--card", action="store_true", help="only write MODEL_CARD.md + manifest from --final and --lodo runs")
    ap.add_argument("--final", default=None)
    ap.add_argument("--lodo", action="append", default=[])
    ap.add_argument("--notes", default=None, help="markdown appended to the card's 'What fell short'")
    ap.add_argument("--lodo-before", action="append", default=[],
                    help="the same leave-one-domain-out run without the projection (the card's before/after columns)")
    ap.add_argument("--final-other", default=None, help="the all-domains run with the other encoder (valid comparison)")
    ap.add_argument("--ts-eval", default=None, help="folder of `npm run eval` results of this model on amazon-scientific")
    ap.add_argument("--sci-v1", default=str(REPO / "public" / "models" / "inpage-sci-v1"),
                    help="inpage-sci-v1's folder: its test numbers are the in-domain reference")
    return ap.parse_args(argv)


def write_card(args):
    """--card: MODEL_CARD.md + manifest.json from finished runs (no training)."""
    return write_card_and_manifest(Path(args.ship), Path(args.final), [Path(p) for p in args.lodo],
                                   Path(args.notes) if args.notes else None,
                                   before_runs=[Path(p) for p in args.lodo_before],
                                   ts_eval=Path(args.ts_eval) if args.ts_eval else None,
                                   sci_v1=Path(args.sci_v1) if args.sci_v1 else None,
                                   final_other=Path(args.final_other) if args.final_other else None)


def settings_of(args):
    st = GSettings()
    if args.smoke:
        st = GSettings(enc_steps=2, enc_eval_every=1, enc_batch=16, user_epochs=1, user_batch=16, user_levels=1,
                       user_calib_steps=2, prior_weights=(0.0, 0.05), knn_weights=(0.0, 1.0), knn_decays=(0.8,),
                       text_decays=(0.8,), select_users=200, max_tokens=24, smoke=True)
    return apply_overrides(st, args.set)


@dataclass
class Run:
    """Where a run reads and writes: its domains, run folder, model folder (or None), cache and log."""
    doms_spec: list
    names: list
    train_names: list
    holdout: str
    name: str
    run: Path
    ship: Path
    cache: Path
    log: Log


def start_run(args, st):
    """Domains resolved and checked, run folder (log, settings.json), model folder refused without --force
    before any training; seeds everything."""
    doms_spec = resolve_domains(args)
    assert doms_spec, "no domain: give --domains or --data"
    names = [n for n, _ in doms_spec]
    if args.holdout:
        assert args.holdout in names, f"--holdout {args.holdout} is not among {names}"
    train_names = [n for n in names if n != args.holdout]
    assert train_names, "nothing left to train on"
    name = args.name or (f"lodo-{args.holdout}" if args.holdout else "general")
    run = Path(args.runs) / name
    run.mkdir(parents=True, exist_ok=True)
    ship = Path(args.ship) if args.ship else None
    if ship is not None and ship.exists() and any(ship.iterdir()) and not args.force:
        raise SystemExit(f"{ship} exists: refusing to overwrite another model without --force")
    cache = Path(args.cache) if args.cache else Path(args.runs) / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    log = Log(run / "log.txt")
    (run / "settings.json").write_text(json.dumps({"settings": asdict(st), "domains": dict(doms_spec),
                                                   "train_domains": train_names, "holdout": args.holdout,
                                                   "model": {"name": args.model_name, "version": args.model_version}}, indent=2))
    log(f"run {name}: train on {train_names}, holdout {args.holdout}; settings {asdict(st)}")
    seed_all(st.seed)
    return Run(doms_spec, names, train_names, args.holdout, name, run, ship, cache, log)


def load_domains(r, st, timing):
    """Every domain (base text vectors from the cache); returns all of them by name and the training ones."""
    t = time.time()
    doms = {n: load_domain(n, p, st, r.cache, r.log, smoke=st.smoke) for n, p in r.doms_spec}
    timing["data_and_text"] = time.time() - t
    return doms, [doms[n] for n in r.train_names]


def criterion_reference(tr, st, log, timing):
    """The valid criterion's item-kNN reference, on the training domains' valid subsets only."""
    t = time.time()
    for d in tr:
        d.parts = cooc_parts(d.ds.train_histories(), d.n, st.knn_gamma)
    crit = Criterion(tr, st, log)
    timing["criterion_reference"] = time.time() - t
    return crit


def encoder_projection(doms, tr, crit, st, run, log, timing):
    """The projection (or none: the base encoder) and every domain's text vectors through it."""
    t = time.time()

    def text_crit(P):
        fns = {}
        for d in tr:
            v = project(d.base, None if P is None else P.numpy() if torch.is_tensor(P) else P)
            uv = recency_mean(v, d.sel.hists, 0.5)
            fns[d.name] = (lambda uv, v: (lambda hs, sl: uv[sl] @ v.T))(uv, v)
        return crit(fns)

    if st.enc_steps > 0:
        P, enc_info = finetune_projection(tr, st, log, text_crit)
    else:
        P, enc_info = None, {"steps": 0, "selected_step": 0, "note": "enc_steps=0: base encoder, no projection"}
        log("encoder: base MiniLM, no projection (enc_steps=0)")
    np.save(run / "projection.npy", P if P is not None else np.eye(tr[0].base.shape[1], dtype=np.float32))
    for d in doms.values():
        d.text = project(d.base, P)
    timing["encoder_projection"] = time.time() - t
    return P, enc_info


@dataclass
class UntrainedChoice:
    """What is chosen on valid with the untrained user model (recency mean 0.5)."""
    grid: list
    best: dict
    alpha: float
    beta: float
    prior_w: float
    knn_only_decay: float
    text_grid: dict
    text_decay: float


def choose_untrained(tr, crit, st, log, timing):
    """(alpha, beta), prior weight, kNN weight/decay with the untrained user model (recency mean 0.5), the
    item-kNN baseline's decay and the text-only baseline's decay; then each training domain's neighbour weights."""
    t = time.time()
    grid0 = []
    uv0 = {d.name: recency_mean(d.text, d.sel.hists, 0.5) for d in tr}
    for a, b in st.knn_ab:
        Ws = {d.name: knn_weights(None, d.n, st, a, b, pop=d.pop, parts=d.parts) for d in tr}
        kns = {(d.name, dec): K.score(d.sel.hists, Ws[d.name], dec) for d in tr for dec in st.knn_decays}
        dense = {d.name: uv0[d.name] @ d.text.T for d in tr}
        for dec in st.knn_decays:
            v, per = crit({d.name: (lambda kn: (lambda hs, sl: kn[sl]))(kns[(d.name, dec)]) for d in tr}, detail=True)
            grid0.append({"alpha": a, "beta": b, "decay": dec, "knn_only": True, "criterion": v})
            for pw in st.prior_weights:
                for wt in [w for w in st.knn_weights if w > 0]:   # weight 0 = no kNN term: tried after training
                    fns = {d.name: (lambda dn, kn, lp: (lambda hs, sl: dn[sl] + pw * lp[None, :] + wt * kn[sl]))(
                        dense[d.name], kns[(d.name, dec)], np.log1p(d.pop).astype(np.float32)) for d in tr}
                    v, per = crit(fns, detail=True)
                    grid0.append({"alpha": a, "beta": b, "decay": dec, "prior_weight": pw, "knn_weight": wt,
                                  "criterion": v, "per_domain": per})
        log(f"grid alpha {a} beta {b}: best so far {max((g for g in grid0 if not g.get('knn_only')), key=lambda g: g['criterion'])['criterion']:.4f}")
        del kns
    best0 = max((g for g in grid0 if not g.get("knn_only")), key=lambda g: (g["criterion"], -g["knn_weight"]))
    alpha, beta, prior_w = best0["alpha"], best0["beta"], best0["prior_weight"]
    knn_only = max((g for g in grid0 if g.get("knn_only") and g["alpha"] == alpha and g["beta"] == beta),
                   key=lambda g: g["criterion"])
    knn_only_decay = knn_only["decay"]
    log(f"chosen on valid (untrained user model): alpha {alpha} beta {beta} prior weight {prior_w} "
        f"knn weight {best0['knn_weight']} decay {best0['decay']} criterion {best0['criterion']:.4f}; "
        f"item-kNN alone: decay {knn_only_decay} criterion {knn_only['criterion']:.4f}")
    # text-only baseline decay
    text_grid = {}
    for dec in st.text_decays:
        fns = {}
        for d in tr:
            uv = recency_mean(d.text, d.sel.hists, dec)
            fns[d.name] = (lambda uv, v: (lambda hs, sl: uv[sl] @ v.T))(uv, d.text)
        text_grid[dec] = crit(fns)
    text_decay = max(text_grid, key=text_grid.get)
    log(f"text-only decay chosen on valid: {text_decay} ({text_grid})")
    for d in tr:
        d.W = knn_weights(None, d.n, st, alpha, beta, pop=d.pop, parts=d.parts)
    timing["choose_untrained"] = time.time() - t
    return UntrainedChoice(grid0, best0, alpha, beta, prior_w, knn_only_decay, text_grid, text_decay)


def leakfree_levels(tr, alpha, beta, st, log):
    """The user model's training rows per training domain: sequences cut by 1..user_levels items, with
    aggregates (pop, neighbours) from the cut sequences only, so no row's target is in its own aggregates."""
    levels = []
    for d in tr if st.user_epochs > 0 else []:   # user_epochs=0: the untrained user model (recency mean + prior)
        d.parts = None
        seqs = d.ds.train_histories()
        for cut in range(1, st.user_levels + 1):
            cs = [s[:-cut] for s in seqs]
            keep = [i for i, s in enumerate(seqs) if len(s) > cut]
            pop_c = popularity_of([h for h in cs if len(h)], d.n)
            W_c = knn_weights([h for h in cs if len(h)], d.n, st, alpha, beta, pop=pop_c)
            levels.append(U.Level([cs[i] for i in keep], np.array([seqs[i][-cut] for i in keep], dtype=np.int64),
                                  item_vectors(d.text, pop_c, st), W_c, cat_keys=d.ds.cat_keys))
        log(f"levels {d.name}: {st.user_levels} x ~{len(seqs)} rows")
    return levels


class ModelCriterion:
    """The valid criterion of a user model plus the kNN term (default: the weight and decay chosen untrained);
    kNN scores cached per (domain, decay)."""

    def __init__(self, crit, tr, ivs, st, knn_weight, knn_decay):
        self.crit, self.tr, self.ivs, self.st = crit, tr, ivs, st
        self.knn_weight, self.knn_decay = knn_weight, knn_decay
        self._kn = {}

    def kn(self, d, dec):
        if (d.name, dec) not in self._kn:
            self._kn[(d.name, dec)] = K.score(d.sel.hists, d.W, dec)
        return self._kn[(d.name, dec)]

    def dense(self, model):
        return {d.name: U.user_vectors(model, self.ivs[d.name], d.sel.hists, self.st.max_history) @ self.ivs[d.name].T
                for d in self.tr}

    def __call__(self, model, wt=None, dec=None, dense=None, detail=False):
        wt = self.knn_weight if wt is None else wt
        dec = self.knn_decay if dec is None else dec
        dense = dense or self.dense(model)
        fns = {d.name: (lambda dn, kn: (lambda hs, sl: dn[sl] + wt * kn[sl]))(dense[d.name], self.kn(d, dec))
               for d in self.tr}
        return self.crit(fns, detail=detail)


def train_user_model(doms, tr, crit, ch, st, run, log, timing):
    """The user model trained on the training domains' leak-free rows, selected on valid (user_epochs=0: left
    untrained). Returns the trained and the untrained model, the training record and the model criterion."""
    t = time.time()
    levels = leakfree_levels(tr, ch.alpha, ch.beta, st, log)
    timing["levels"] = time.time() - t
    t = time.time()
    seed_all(st.seed)
    text_dim = tr[0].text.shape[1]
    item_dim = text_dim + 1
    ivs = {d.name: item_vectors(d.text, d.pop, st) for d in doms.values()}
    um = U.UserModel(item_dim, st.user_d, st.user_layers, st.user_heads, st.max_history, prior_dims=1,
                     prior_init=ch.prior_w * st.prior_scale)
    um_untrained = copy.deepcopy(um).eval()
    mcrit = ModelCriterion(crit, tr, ivs, st, ch.best["knn_weight"], ch.best["decay"])
    if st.user_epochs > 0:
        user_info = U.train(um, levels, text_dim, tr[0].ds.cat_keys, knn_weight=max(ch.best["knn_weight"], 0.25),
                            knn_decay=ch.best["decay"], epochs=st.user_epochs, batch=st.user_batch, lr=st.user_lr,
                            collab_drop_hist=0.0, collab_drop_cat=0.0, temp=st.user_temp, seed=st.seed, log=log,
                            eval_fn=mcrit, eval_every=1, calib_steps=st.user_calib_steps, freeze_prior=1,
                            pool_only=st.user_pool_only)
    else:
        for d in tr:
            d.parts = None
        v0 = mcrit(um)
        user_info = {"steps": 0, "selected_step": 0, "selected_valid": v0,
                     "note": "user_epochs=0: untrained user model (recency-weighted mean of text vectors + prior weight)"}
        log(f"user model: not trained (user_epochs=0), valid {v0:.4f}")
    del levels
    torch.save(um.state_dict(), run / "user.pt")
    timing["user_train"] = time.time() - t
    return um, um_untrained, user_info, mcrit


def choose_knn_on_valid(um, mcrit, st, log, timing):
    """The kNN term's weight and decay with the trained user model; ties go to the smaller weight."""
    t = time.time()
    dense = mcrit.dense(um)
    grid = []
    for dec in st.knn_decays:
        for wt in st.knn_weights:
            v, per = mcrit(um, wt, dec, dense=dense, detail=True)
            grid.append({"weight": wt, "decay": dec, "criterion": v, "per_domain": per})
    best = max(grid, key=lambda r: (r["criterion"], -r["weight"]))
    knn_w, knn_d = best["weight"], best["decay"]
    log(f"kNN term chosen on valid (trained user model): weight {knn_w} decay {knn_d} criterion {best['criterion']:.4f}")
    timing["choose_trained"] = time.time() - t
    return grid, knn_w, knn_d


def export_onnx(P, um, text_dim, st, run, cache, log, timing):
    """Full-vocabulary encoder (+ projection) and user model, fp32 -> int8, in the run folder."""
    t = time.time()
    bert = E.load_bert()
    enc = E.TextEncoder(bert, keep_ids=None, max_tokens=st.max_tokens)
    if P is not None:
        enc.proj = nn.Linear(text_dim, text_dim, bias=False)
        with torch.no_grad():
            enc.proj.weight.copy_(torch.from_numpy(P))
    enc.eval()
    files = {"enc_fp32": run / "encoder.fp32.onnx", "enc_int8": run / "encoder.int8.onnx",
             "usr_fp32": run / "user.fp32.onnx", "usr_int8": run / "user.int8.onnx"}
    # the exported encoder depends only on the projection, max_tokens and quantization: cached across runs
    ekey = hashlib.sha1((P if P is not None else np.zeros(0, np.float32)).tobytes()
                        + f"{st.max_tokens} {st.quant_per_channel}".encode()).hexdigest()[:16]
    c32, c8 = cache / f"encoder-{ekey}.fp32.onnx", cache / f"encoder-{ekey}.int8.onnx"
    if not c8.exists():   # written under a per-process name, then renamed: parallel runs never read a half file
        t32, t8 = cache / f"tmp-{os.getpid()}.fp32.onnx", cache / f"tmp-{os.getpid()}.int8.onnx"
        X.export_encoder(enc, t32, st.max_tokens)
        X.quantize(t32, t8, per_channel=st.quant_per_channel)
        os.replace(t32, c32); os.replace(t8, c8)
    else:
        log(f"encoder ONNX from the cache ({c8.name})")
    shutil.copy(c32, files["enc_fp32"]); shutil.copy(c8, files["enc_int8"])
    X.export_user(um, files["usr_fp32"], text_dim + 1)
    X.quantize(files["usr_fp32"], files["usr_int8"], per_channel=st.quant_per_channel)
    timing["export_quantize"] = time.time() - t
    return files


def user_closed_form(um, usr_int8, item_dim, log):
    """The user model's closed form (user_model.closed_form), kept only if the int8 graph computes it within 1e-5:
    the browser then needs no onnxruntime for a category page with a pack."""
    cf = U.closed_form(um)
    if cf is None:
        return None
    gap = X.closed_form_gap(X.session(usr_int8), cf, item_dim)
    log(f"user model closed form {cf['kind']} decay {cf['decay']:.4f}: largest gap to the int8 graph {gap:.2e}")
    return cf if gap <= 1e-5 else None


def evaluate_test(doms, r, st, ch, knn_w, knn_d, um_untrained, onnx_files, log, timing):
    """Test scored once: the held-out domain (leave-one-domain-out) or every training domain (in-domain)."""
    t = time.time()
    eval_names = [r.holdout] if r.holdout else r.train_names
    tok = E.load_tokenizer()
    results = {}
    for n in eval_names:
        results[n] = evaluate_domain(doms[n], st, ch.alpha, ch.beta, ch.knn_only_decay, ch.text_decay, knn_w, knn_d,
                                     um_untrained, onnx_files["enc_int8"], X.session(onnx_files["usr_int8"]), tok,
                                     r.cache, log, held_out=(n == r.holdout))
    timing["evaluate"] = time.time() - t
    return results


def write_outputs(r, st, out, onnx_files):
    """metrics.json; with --ship, the model folder (int8 models, tokenizer, manifest)."""
    (r.run / "metrics.json").write_text(json.dumps(out, indent=2))
    r.log(f"results: {json.dumps(summary(out['results']))}")
    if r.ship is not None:
        if r.ship.exists():
            shutil.rmtree(r.ship)
        r.ship.mkdir(parents=True)
        shutil.copy(onnx_files["enc_int8"], r.ship / "encoder.int8.onnx")
        shutil.copy(onnx_files["usr_int8"], r.ship / "user.int8.onnx")
        write_tokenizer(r.ship, st.max_tokens)
        write_manifest(r.ship, out)
        r.log(f"shipped -> {r.ship}")


def evaluate_domain(d, st, alpha, beta, knn_only_decay, text_decay, knn_w, knn_d, um_untrained, enc_path, usr_sess,
                    tok, cache, log, held_out):
    """Every row of the per-domain table on d's TEST split, aggregates from d's train histories only."""
    t0 = time.time()
    ts = d.ds.test
    hist_tr = d.ds.train_histories()
    pop = popularity_of(hist_tr, d.n)
    W = knn_weights(hist_tr, d.n, st, alpha, beta, pop=pop)
    res = {"held_out": held_out, "test_users": int(len(ts.targets)), "items": int(d.n),
           "knn_pairs": int(W.nnz), "aggregates_from": "this domain's train histories (valid.inter histories)"}

    def rows(label, fn):
        m = M.evaluate(fn, ts, d.n)[0]
        r = {"full": m}
        if d.has_categories:
            cm, cs = M.category_eval(fn, ts, d.ds.cat_keys, pop)
            r["category"] = {"ndcg@10": cm["ndcg@10"], "recall@10": cm["recall@10"], "server_ndcg@10": cs["ndcg@10"],
                             "server_recall@10": cs["recall@10"]}
        res[label] = r
        log(f"[{d.name} test] {label}: full N@10 {m['ndcg@10']:.4f} R@10 {m['recall@10']:.4f}"
            + (f"; category N@10 {r['category']['ndcg@10']:.4f} (server {r['category']['server_ndcg@10']:.4f})"
               if "category" in r else ""))

    rows("popularity", lambda hs, sl: np.tile(pop, (len(hs), 1)))
    rows("next_item", lambda hs, sl: next_item_scores(hs, hist_tr, d.n, pop))
    rows("item_knn", lambda hs, sl: K.score(hs, W, knn_only_decay))
    rows("text_only", lambda hs, sl: recency_mean(d.text, hs, text_decay) @ d.text.T)
    # the untrained user model (recency mean + prior) with the chosen kNN term, fp32 text vectors
    iv32 = item_vectors(d.text, pop, st)
    u0 = U.user_vectors(um_untrained, iv32, ts.hists, st.max_history)
    rows("untrained_user_fp32", lambda hs, sl: u0[sl] @ iv32.T + knn_w * K.score(hs, W, knn_d))
    # the shipped path: int8 encoder on the tokenized texts, int8 user model, kNN term
    ckey = sha256(enc_path)[:16] + "-" + texts_key(d.ds.texts, st.max_tokens)
    cp = Path(cache) / f"text-int8-{ckey}.npy"
    if cp.exists():
        text8 = np.load(cp)
        log(f"[{d.name}] int8 text vectors from the cache ({cp.name}: same encoder file sha256, same texts)")
    else:
        ids, mask = E.tokenize(tok, d.ds.texts, st.max_tokens)
        text8 = X.run_encoder(X.session(enc_path), ids, mask)
        tmp = Path(cache) / f"tmp-{os.getpid()}.npy"
        np.save(tmp, text8); os.replace(tmp, cp)
    res["int8_text_min_cos_vs_fp32"] = float((text8 * d.text).sum(1).min())
    iv8 = item_vectors(text8, pop, st)
    uv8 = X.run_user(usr_sess, iv8, ts.hists, st.max_history)
    rows("inpage_int8", lambda hs, sl: uv8[sl] @ iv8.T + knn_w * K.score(hs, W, knn_d))
    rows("inpage_int8_no_knn", lambda hs, sl: uv8[sl] @ iv8.T)
    kn = res["item_knn"]["full"]["ndcg@10"]
    res["ratio_full"] = res["inpage_int8"]["full"]["ndcg@10"] / max(kn, 1e-12)
    if d.has_categories:
        res["ratio_category"] = res["inpage_int8"]["category"]["ndcg@10"] / max(res["item_knn"]["category"]["ndcg@10"], 1e-12)
    res["seconds"] = time.time() - t0
    log(f"[{d.name} test] inpage / item-kNN: full {res['ratio_full']:.3f}"
        + (f", category {res['ratio_category']:.3f}" if "ratio_category" in res else "") + f" ({res['seconds']:.0f}s)")
    return res


def summary(results):
    out = {}
    for n, r in results.items():
        out[n] = {k: round(v["full"]["ndcg@10"], 4) for k, v in r.items() if isinstance(v, dict) and "full" in v}
        out[n]["ratio_full"] = round(r["ratio_full"], 3)
        if "ratio_category" in r:
            out[n]["ratio_category"] = round(r["ratio_category"], 3)
    return out


if __name__ == "__main__":
    main()
