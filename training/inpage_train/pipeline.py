"""End-to-end pipeline: data -> item-kNN + collab vectors -> encoder fine-tune -> user model ->
choose settings on valid -> ONNX export + int8 -> evaluate test ONCE -> ship files + manifest + card.

    python -m inpage_train.pipeline --data DIR --name MODEL [--version 1.0.0] [--force] [--smoke]

Writes <models-dir>/<MODEL>/ (default public/models/) and nothing beside it: an existing folder is refused
without --force; the e2e parity fixture is rewritten only when it is this model's (its "model" field), else the
fixture goes to the run folder. Name, version and the card's dataset description come from the flags and the data.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from . import data as D
from . import encoder as E
from . import export as X
from . import knn as K
from . import metrics as M
from . import user_model as U
from .card import write_card
from .common import BaseSettings, Log, seed_all, sha256, write_tokenizer
from .evaluate import evaluate_all, recency_mean
from .parity import write_parity

TRAINING_DIR = Path(__file__).resolve().parents[1]
REPO = TRAINING_DIR.parent
MODELS_DIR = REPO / "public" / "models"
PARITY_FIXTURE = REPO / "e2e" / "fixtures" / "parity.json"
SMOKE_NAME = "inpage-smoke"
# a model name is a folder name under public/models and part of the browser's cache key (name@version)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass
class Settings(BaseSettings):
    """One catalogue's model; the shared settings (seed, encoder batch/lr/reg, kNN aggregates, user model size,
    ...) are BaseSettings'."""
    prune_vocab: bool = True
    # encoder fine-tuning
    enc_objective: str = "head"      # the only objective ("seq"/"pair", contrastive top-layer tuning, lost on valid: removed)
    enc_epochs: float = 8
    # Read by nothing since "seq"/"pair" went; kept because the shipped manifest and card record every
    # setting (a rerun must reproduce them) and refresh() rebuilds Settings from a run's metrics.json.
    enc_frozen_layers: int = 4
    enc_max_steps: int = 300
    enc_pair_window: int = 1
    enc_proj_dim: int = 0
    enc_time_budget_s: int = 900
    # public collaborative signal
    knn_alpha: float = 0.3
    knn_beta: float = 0.1
    collab_dim: int = 64
    collab_scale: float = 0.25
    prior_weights: tuple = (0.0, 0.02, 0.05, 0.1)   # weight of log1p(pop) in the score, chosen on valid
    # user model
    user_epochs: int = 6
    user_eval_every: int = 1
    user_levels: int = 3             # leak-free training rows: sequences cut by 1..user_levels items
    collab_drop_hist: float = 0.25
    collab_drop_cat: float = 0.1
    # score
    knn_weights: tuple = (0.0, 0.25, 0.5, 1.0, 2.0)
    knn_decays: tuple = (0.6, 0.8, 0.9)
    baselines: bool = True


def collab_vectors(cu, min_count, dim, seed):
    """Public collaborative item vectors: truncated SVD of the degree-normalised co-occurrence matrix
    (distinct-user counts, pairs below min_count dropped). Items without any kept pair get no vector."""
    c = np.where(cu >= min_count, cu, 0).astype(np.float64)
    deg = c.sum(1)
    known = deg > 0
    dinv = np.where(known, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0)
    s = sp.csr_matrix(c * dinv[:, None] * dinv[None, :])
    k = min(dim, s.shape[0] - 2)
    from sklearn.utils.extmath import randomized_svd
    u, sv, _ = randomized_svd(s, n_components=k, n_iter=7, random_state=seed)
    v = u * np.sqrt(sv)[None, :]
    nrm = np.linalg.norm(v, axis=1, keepdims=True)
    v = np.where(nrm > 0, v / np.maximum(nrm, 1e-12), 0).astype(np.float32)
    v[~known] = 0
    if v.shape[1] < dim:
        v = np.pad(v, ((0, 0), (0, dim - v.shape[1])))
    return v, known


def prior_feature(pop, st):
    """The popularity prior, the public vector's last dim: log(1 + training interactions) / prior_scale."""
    return (np.log1p(pop) / st.prior_scale).astype(np.float32)


def public_vectors(hists, n_items, st, cooc=None):
    """What a store publishes from its order logs (aggregates over all shoppers, nothing per shopper):
    popularity, neighbour weights (pairs seen by < k shoppers dropped), and per-item public vectors =
    collab_scale × collaborative SVD vector ‖ popularity prior. Returns (pop, W dense, pub [n, collab_dim+1], known).
    cooc: K.cooc(hists, ...) when the caller already has it."""
    pop = np.zeros(n_items, dtype=np.float64)
    for h in hists:
        np.add.at(pop, h, 1)
    cu, cw = cooc if cooc is not None else K.cooc(hists, n_items, st.knn_gamma, 1.0)
    W = K.weights(cu, cw, pop, st.knn_min_count, st.knn_alpha, st.knn_beta, st.knn_top_n)
    collab, known = collab_vectors(cu, st.knn_min_count, st.collab_dim, st.seed)
    pub = np.concatenate([collab * st.collab_scale, prior_feature(pop, st)[:, None]], 1).astype(np.float32)
    return pop, W, pub, known | (pop > 0)


def leakfree_levels(ds, text, st):
    """Training rows for the user model whose public aggregates never saw their targets (see user_model.Level)."""
    seqs = ds.train_histories()
    levels = []
    for cut in range(1, st.user_levels + 1):
        cut_seqs = [s[:-cut] for s in seqs]
        _, W, pub, _ = public_vectors([h for h in cut_seqs if len(h)], ds.n_items, st)
        keep = [i for i, s in enumerate(seqs) if len(s) > cut]
        levels.append(U.Level([cut_seqs[i] for i in keep], np.array([seqs[i][-cut] for i in keep], dtype=np.int64),
                              np.concatenate([text, pub], 1).astype(np.float32), sp.csr_matrix(W)))
    return levels


def noisy_histories(hists, cat_keys, seed):
    """Valid histories with SEMI-SYNTHETIC browse events inserted (user_model.augment, fixed seed): the
    browser records views and clicks, the data has none; a user model must not be fooled by them."""
    rng = np.random.default_rng(seed)
    cat_of, cat_items = U.category_index(cat_keys)
    out = [U.augment(h, rng, cat_items, cat_of, p_insert=0.5, p_cart=0.0) for h in hists]
    return [np.array(h, dtype=np.int64) for h, _ in out], [t for _, t in out]


def describe_data(ds, data_dir, text=None):
    """What the card and manifest say about the training data: counted from the data itself; `text` (the
    --data-description flag) adds the source and terms, which the files cannot tell."""
    cats = sorted({k for k in ds.cat_keys if k})
    seqs = ds.test.hists
    info = {"folder": Path(data_dir).resolve().name, "users": int(len(ds.test.targets)), "items": int(ds.n_items),
            "interactions": int(sum(len(h) for h in seqs) + len(seqs)),
            "items_with_brand": sum(1 for r in ds.items if r.get("brand")),
            "items_with_description": sum(1 for r in ds.items if r.get("description")),
            "category_keys": len(cats)}
    parts = ["title"] + (["category path"] if len(cats) > 1 else []) + (["brand"] if info["items_with_brand"] else [])
    info["summary"] = (f"`{info['folder']}`: {info['users']:,} users, {info['items']:,} items, "
                       f"{info['interactions']:,} interactions (each user's sequence = test history + target); item text "
                       f"from {', '.join(parts)}; {len(cats)} category key{'s' if len(cats) != 1 else ''} "
                       f"({'category pages meaningful' if len(cats) > 1 else 'one category: a category page is the whole catalogue'})")
    info["description"] = text or ""
    return info


def model_folder(models_dir, name, force):
    """<models_dir>/<name>, refused when it holds files unless force (checked before any training)."""
    if not NAME_RE.match(name):
        raise SystemExit(f"--name {name!r}: use lower-case letters, digits, '.', '_' or '-' (it names a folder)")
    ship = Path(models_dir) / name
    if ship.exists() and any(ship.iterdir()) and not force:
        raise SystemExit(f"{ship} exists: refusing to overwrite a model without --force")
    return ship


def parity_target(arg, name, models_dir, run, smoke):
    """The e2e parity fixture belongs to one model (its "model" field): only a run of that model, shipped to
    public/models, rewrites it; every other run writes its fixture into its run folder."""
    if arg:
        return Path(arg)
    if not smoke and PARITY_FIXTURE.exists() and Path(models_dir).resolve() == MODELS_DIR.resolve() \
            and json.loads(PARITY_FIXTURE.read_text()).get("model") == name:
        return PARITY_FIXTURE
    return run / "parity.json"


def main(argv=None):
    """The stages in order; each writes its own timing entry. Settings are chosen on valid, test is scored once."""
    args = parse_args(argv)
    X.set_threads(args.threads)
    model_name, ship = check_target(args)
    st = settings_of(args)
    run, log = start_run(args, st, model_name, ship)
    timing, T = {}, time.time()
    ds, pop, data_info = load_data(args, log, timing)
    W, collab, known, nb, knn_report = public_signal(ds, pop, st, log, timing)
    tx = train_encoder(ds, st, run, log, timing)
    item_vecs = np.concatenate([tx.text, collab], 1).astype(np.float32)
    um, um_untrained, user_info, crit = train_user_model(ds, pop, tx.text, item_vecs, W, st, run, log, timing)
    grid, knn_w, knn_d = choose_knn_on_valid(crit, um, st, log, timing)
    onnx_files = export_onnx(tx.enc, um, item_vecs.shape[1], st, run, timing)
    size_md = size_tradeoff(tx.enc, tx.bert, st, run, tx.ids, tx.mask, log, tx.valid_fn, tx.shipped_valid) \
        if not st.smoke else ""
    ship_files(ship, run, ds, collab, known, nb, st)
    results = evaluate_shipped(ds, pop, ship, run, st, log, W, tx, um_untrained, knn_w, knn_d, timing)
    timing["total"] = time.time() - T
    out = {"model": {"name": model_name, "version": args.version}, "data": data_info, "settings": asdict(st),
           "timing_s": timing, "valid_grid": grid, "chosen": {"knn_weight": knn_w, "knn_decay": knn_d},
           "knn_min_count_report": knn_report, "encoder": tx.info, "user": user_info, "results": results}
    write_outputs(args, model_name, ship, run, st, out, tx.text.shape[1], item_vecs.shape[1], onnx_files, size_md, log)
    log(f"done in {time.time() - T:.0f}s -> {ship}")
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(D.DEFAULT_DATA))
    ap.add_argument("--name", default=None, help="model name: writes <models-dir>/<name>/ (required unless --smoke)")
    ap.add_argument("--version", default="1.0.0", help="model version (the browser caches per name@version)")
    ap.add_argument("--data-description", default=None,
                    help="the data's source and terms for the card (counts are taken from the data)")
    ap.add_argument("--models-dir", default=str(MODELS_DIR))
    ap.add_argument("--force", action="store_true", help="replace an existing <models-dir>/<name>/")
    ap.add_argument("--run-name", default=None, help="runs/<run-name>/ (default: the model name)")
    ap.add_argument("--runs", default=str(TRAINING_DIR / "runs"))
    ap.add_argument("--parity", default=None,
                    help="parity fixture (default: e2e/fixtures/parity.json when it is this model's, else <run>/parity.json)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--set", action="append", default=[], help="override a setting: key=value (JSON value)")
    ap.add_argument("--threads", type=int, default=X.THREADS, help="torch + ONNX Runtime threads (default OMP_NUM_THREADS or 2)")
    return ap.parse_args(argv)


def check_target(args):
    """(model name, its folder): refused before anything is written or trained."""
    if not args.name and not args.smoke:
        raise SystemExit("--name MODEL is required: the model is written to <models-dir>/MODEL/")
    if args.smoke and Path(args.models_dir).resolve() == MODELS_DIR.resolve():
        raise SystemExit("--smoke makes a throwaway model: give --models-dir (train.sh --smoke uses a temp folder)")
    model_name = args.name or SMOKE_NAME
    return model_name, model_folder(args.models_dir, model_name, args.force)


def settings_of(args):
    st = Settings()
    if args.smoke:
        st = Settings(enc_max_steps=1, enc_batch=8, enc_epochs=1, user_epochs=1, prior_weights=(0.0, 0.02), collab_dim=8, knn_weights=(0.0, 1.0), max_tokens=24,
                      knn_decays=(0.8,), smoke=True, max_history=50)
    if args.no_baselines:
        st.baselines = False
    for kv in args.set:
        k, v = kv.split("=", 1)
        assert hasattr(st, k), k
        val = json.loads(v)
        setattr(st, k, tuple(val) if isinstance(val, list) else val)
    if st.enc_objective != "head":
        raise SystemExit(f'enc_objective {st.enc_objective!r}: only "head" exists ("seq"/"pair" lost on valid and were removed)')
    return st


def start_run(args, st, model_name, ship):
    """The run folder (log, settings.json) and the model folder; seeds everything."""
    name = args.run_name or ("smoke" if args.smoke else model_name)
    run = Path(args.runs) / name
    run.mkdir(parents=True, exist_ok=True)
    ship.mkdir(parents=True, exist_ok=True)
    log = Log(run / "log.txt")
    log(f"run {name} settings {asdict(st)}")
    (run / "settings.json").write_text(json.dumps(asdict(st), indent=2))
    seed_all(st.seed)
    return run, log


def load_data(args, log, timing):
    t = time.time()
    ds = D.load(args.data, smoke=args.smoke)
    pop = D.popularity(ds)
    data_info = describe_data(ds, args.data, args.data_description)
    timing["data"] = time.time() - t
    log(f"data: {data_info['summary']}")
    log(f"data: {ds.n_items} items, train {len(ds.train.targets)} valid {len(ds.valid.targets)} test {len(ds.test.targets)}")
    return ds, pop, data_info


def public_signal(ds, pop, st, log, timing):
    """The public collaborative signal from train histories only: neighbour weights W (as shipped, rounded),
    collab ‖ prior vectors, which items have them, neighbors.json, and the min_count report on valid."""
    t = time.time()
    cu, cw = K.cooc(ds.train_histories(), ds.n_items, st.knn_gamma, 1.0)
    knn_report = {}
    for mc in sorted({1, st.knn_min_count}):
        w = K.weights(cu, cw, pop, mc, st.knn_alpha, st.knn_beta, st.knn_top_n)
        m, _ = M.evaluate(lambda hs, sl: K.score(hs, w, 0.8), ds.valid, ds.n_items)
        knn_report[f"k={mc}"] = {"valid": m, "pairs": int((w > 0).sum())}
        log(f"knn min_count={mc}: valid {m} pairs {(w > 0).sum()}")
    _, W, collab, known = public_vectors(ds.train_histories(), ds.n_items, st, cooc=(cu, cw))   # collab ‖ prior
    nb = K.to_neighbors_json(W, ds.asins, st.knn_min_count)
    W = K.from_neighbors_json(nb, {a: i for i, a in enumerate(ds.asins)}, ds.n_items)   # exactly what ships (rounded weights)
    timing["collab"] = time.time() - t
    log(f"collab: {known.sum()} items with vectors, dim {st.collab_dim}; {timing['collab']:.1f}s")
    return W, collab, known, nb, knn_report


@dataclass
class TextStage:
    """What the encoder stage hands on: the shipped encoder, its inputs, and the text vectors of each variant."""
    enc: object
    bert: object
    ids: np.ndarray
    mask: np.ndarray
    base_text: np.ndarray          # the base encoder's vectors
    ft_text: np.ndarray            # the fine-tuned encoder's vectors (a table row even when not shipped)
    text: np.ndarray               # the shipped encoder's vectors
    info: dict
    valid_fn: object               # text vectors -> valid text-only N@10
    shipped_valid: float           # valid_fn of the shipped encoder


def train_encoder(ds, st, run, log, timing):
    """Fine-tune a projection head on the catalogue's texts; ship it only if it beats the base encoder on valid."""
    t = time.time()
    tok = E.load_tokenizer()
    ids, mask = E.tokenize(tok, ds.texts, st.max_tokens)
    bert = E.load_bert()
    keep = np.unique(ids) if st.prune_vocab else None
    enc = E.TextEncoder(bert, keep_ids=keep, proj_dim=st.enc_proj_dim, max_tokens=st.max_tokens)
    base_text = E.encode(enc, ids, mask)
    timing["encode_base"] = time.time() - t

    # text-only recommender on valid (recency-weighted mean of history text vectors): the encoder's yardstick
    def text_valid(tv):
        uv = recency_mean(tv, ds.valid.hists, 0.5)
        return M.evaluate(lambda hs, sl: uv[sl] @ tv.T, ds.valid, ds.n_items)[0]["ndcg@10"]
    t = time.time()
    base_state = {k: v.clone() for k, v in enc.state_dict().items()}
    enc_info = E.finetune_head(enc, base_text, (ds.train.hists, ds.train.targets), epochs=st.enc_epochs,
                               batch=st.enc_batch, lr=st.enc_lr, reg=st.enc_reg, hist_items=st.enc_hist_items,
                               seed=st.seed, log=log, eval_fn=None if st.smoke else text_valid)
    timing["encoder_finetune"] = time.time() - t
    t = time.time()
    text = E.encode(enc, ids, mask)
    timing["encode_finetuned"] = time.time() - t
    ft_text = text
    torch.save(enc.state_dict(), run / "encoder_finetuned.pt")
    vb, vf = text_valid(base_text), text_valid(text)
    enc_info.update({"valid_ndcg_text_only_base": vb, "valid_ndcg_text_only_finetuned": vf})
    log(f"valid text-only N@10: base {vb:.4f} fine-tuned {vf:.4f}")
    if vf <= vb and not st.smoke:
        log("fine-tuning did not help on valid: shipping the base encoder weights")
        enc.proj = None            # finetune_head added it; the base state has none
        enc.load_state_dict(base_state); text = base_text; enc_info["selected"] = "base"
    else:
        enc_info["selected"] = "finetuned"
    torch.save(enc.state_dict(), run / "encoder.pt")
    return TextStage(enc, bert, ids, mask, base_text, ft_text, text, enc_info, text_valid,
                     vf if enc_info["selected"] != "base" else vb)


class ValidCriterion:
    """Criterion for every choice on valid: mean NDCG@10 over the full-ranking and category-page protocols, each
    on the real valid histories and on the same histories with semi-synthetic browse events (what the browser
    will see); kNN term at the given weight and decay (default: the current setting)."""

    def __init__(self, ds, pop, item_vecs, W, st):
        self.ds, self.pop, self.item_vecs, self.st = ds, pop, item_vecs, st
        noisy_h, self.noisy_types = noisy_histories(ds.valid.hists, ds.cat_keys, st.seed)
        self.noisy = D.Split(ds.valid.users, noisy_h, ds.valid.targets)
        self.W = sp.csr_matrix(W)
        self._knn = {}

    def knn(self, which, dec):
        if (which, dec) not in self._knn:
            hists = self.ds.valid.hists if which == "real" else self.noisy.hists
            self._knn[(which, dec)] = K.score(hists, self.W, dec)
        return self._knn[(which, dec)]

    def dense(self, model):
        iv = self.item_vecs
        return {which: U.user_vectors(model, iv, split.hists, self.st.max_history, types=types) @ iv.T
                for which, split, types in (("real", self.ds.valid, None), ("noisy", self.noisy, self.noisy_types))}

    def of_dense(self, dense, wt=0.5, dec=0.8):
        parts = {}
        for which, split in (("real", self.ds.valid), ("noisy", self.noisy)):
            sc = dense[which] + wt * self.knn(which, dec)
            fn = lambda hs, sl: sc[sl]
            parts[f"{which}_full"] = M.evaluate(fn, split, self.ds.n_items)[0]["ndcg@10"]
            parts[f"{which}_category"] = M.category_eval(fn, split, self.ds.cat_keys, self.pop)[0]["ndcg@10"]
        return float(np.mean(list(parts.values()))), parts

    def __call__(self, model, wt=0.5, dec=0.8, detail=False):
        v, parts = self.of_dense(self.dense(model), wt, dec)
        return (v, parts) if detail else v


def train_user_model(ds, pop, text, item_vecs, W, st, run, log, timing):
    """Prior weight chosen on valid (untrained model), then the user model trained on leak-free rows, selected
    on valid. Returns the trained and the untrained model, the training record, and the valid criterion."""
    t = time.time()
    seed_all(st.seed)
    um = U.UserModel(item_vecs.shape[1], st.user_d, st.user_layers, st.user_heads, st.max_history, prior_dims=1)
    crit = ValidCriterion(ds, pop, item_vecs, W, st)
    prior_grid = []
    for b in st.prior_weights:
        with torch.no_grad():
            um.out.bias[-1] = b * st.prior_scale
        v, parts = crit(um, detail=True)
        prior_grid.append({"weight": b, "criterion": v, **parts})
        log(f"prior weight {b}: criterion {v:.4f} {json.dumps({k: round(x, 4) for k, x in parts.items()})}")
    prior_w = max(prior_grid, key=lambda r: r["criterion"])["weight"]
    with torch.no_grad():
        um.out.bias[-1] = prior_w * st.prior_scale
    log(f"prior weight chosen on valid: {prior_w}")
    um_untrained = copy.deepcopy(um).eval()
    levels = leakfree_levels(ds, text, st) if not st.smoke else [
        U.Level(ds.train.hists, ds.train.targets, item_vecs, crit.W)]
    user_info = U.train(um, levels, text.shape[1], ds.cat_keys, knn_weight=0.5, knn_decay=0.8,
                        epochs=st.user_epochs, batch=min(st.user_batch, len(levels[0].targets)), lr=st.user_lr,
                        collab_drop_hist=st.collab_drop_hist, collab_drop_cat=st.collab_drop_cat,
                        temp=st.user_temp, seed=st.seed, log=log, eval_fn=None if st.smoke else crit,
                        eval_every=st.user_eval_every, freeze_prior=1, calib_steps=0 if st.smoke else 150,
                        pool_only=st.user_pool_only)
    user_info["prior_grid"] = prior_grid
    user_info["prior_weight"] = prior_w
    timing["user_train"] = time.time() - t
    torch.save(um.state_dict(), run / "user.pt")
    return um, um_untrained, user_info, crit


def choose_knn_on_valid(crit, um, st, log, timing):
    """kNN term weight and decay on valid (torch fp32), same criterion; ties go to the smaller weight."""
    t = time.time()
    grid = []
    dense_valid = crit.dense(um)
    for dec in st.knn_decays:
        for wt in st.knn_weights:
            v, parts = crit.of_dense(dense_valid, wt, dec)
            grid.append({"weight": wt, "decay": dec, "criterion": v, **parts})
    best = max(grid, key=lambda r: (r["criterion"], -r["weight"]))
    knn_only = max((r for r in grid if r["weight"] == 0), key=lambda r: r["criterion"])
    log(f"valid grid best: {best}; user-model only: {knn_only}")
    timing["choose_on_valid"] = time.time() - t
    return grid, best["weight"], best["decay"]


def export_onnx(enc, um, item_dim, st, run, timing):
    """fp32 ONNX of both models, then int8 dynamic quantization, in the run folder."""
    t = time.time()
    files = {"enc_fp32": run / "encoder.fp32.onnx", "enc_int8": run / "encoder.int8.onnx",
             "usr_fp32": run / "user.fp32.onnx", "usr_int8": run / "user.int8.onnx"}
    X.export_encoder(enc, files["enc_fp32"], st.max_tokens)
    X.export_user(um, files["usr_fp32"], item_dim)
    X.quantize(files["enc_fp32"], files["enc_int8"], per_channel=st.quant_per_channel)
    X.quantize(files["usr_fp32"], files["usr_int8"], per_channel=st.quant_per_channel)
    timing["export_quantize"] = time.time() - t
    return files


def ship_files(ship, run, ds, collab, known, nb, st):
    """The model folder: int8 models, tokenizer, collab vectors of the items that have them, neighbour lists
    (manifest and card come last, from the results)."""
    for f in ship.iterdir():
        if f.is_file():
            f.unlink()
    shutil.copy(run / "encoder.int8.onnx", ship / "encoder.int8.onnx")
    shutil.copy(run / "user.int8.onnx", ship / "user.int8.onnx")
    write_tokenizer(ship, st.max_tokens)
    ids_known = [i for i in range(ds.n_items) if known[i]]
    (ship / "collab.bin").write_bytes(collab[ids_known].astype("<f4").tobytes())
    (ship / "collab.json").write_text(json.dumps({"ids": [ds.asins[i] for i in ids_known], "dims": int(collab.shape[1]),
                                                  "minCount": st.knn_min_count, "layout": {
                                                      "collab": [0, st.collab_dim], "prior": [st.collab_dim, st.collab_dim + 1]},
                                                  "prior": f"log1p(training interactions) / {st.prior_scale}"}))
    (ship / "neighbors.json").write_text(json.dumps(nb, separators=(",", ":")))


def evaluate_shipped(ds, pop, ship, run, st, log, W, tx, um_untrained, knn_w, knn_d, timing):
    """Every row of the card's table from the shipped files (ONNX fp32 and int8); test scored once."""
    t = time.time()
    results = evaluate_all(ds, pop, ship, run, st, log, W_valid_knn=W, base_text=tx.base_text, ft_text=tx.ft_text,
                           untrained=um_untrained, noisy_fn=lambda hs: noisy_histories(hs, ds.cat_keys, st.seed + 1),
                           knn_weight=knn_w, knn_decay=knn_d, baselines=st.baselines)
    timing["evaluate"] = time.time() - t
    return results


def write_outputs(args, model_name, ship, run, st, out, text_dim, item_dim, onnx_files, size_md, log):
    """metrics.json (completes `out`), MODEL_CARD.md, manifest.json (written twice: the card lists the manifest's
    files, then the manifest hashes the card), and the parity fixture."""
    model, data_info, results = out["model"], out["data"], out["results"]
    knn_w, knn_d = out["chosen"]["knn_weight"], out["chosen"]["knn_decay"]
    manifest = write_manifest(ship, model, data_info, st, text_dim, item_dim, knn_w, knn_d, results)
    out["sizes"] = {f: (ship / f).stat().st_size for f in sorted(os.listdir(ship))}
    out["fp32_sizes"] = {p.name: p.stat().st_size for p in (onnx_files["enc_fp32"], onnx_files["usr_fp32"])}
    out["machine"] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version()}
    out["size_tradeoff_md"] = size_md
    (run / "metrics.json").write_text(json.dumps(out, indent=2))
    write_card(ship, out, manifest)
    write_manifest(ship, model, data_info, st, text_dim, item_dim, knn_w, knn_d, results)   # card hash included
    parity = parity_target(args.parity, model_name, args.models_dir, run, args.smoke)
    write_parity(ship, parity, args.data, fp32_dir=run)
    log(f"parity fixture -> {parity}")


def size_tradeoff(enc, bert, st, run, ids, mask, log, text_valid, shipped_valid):
    """Size against quality of the int8 encoder: the shipped one (vocabulary pruned to the catalogue's tokens),
    the full 30,522-token vocabulary, and fewer transformer layers (top layers dropped). Pruning changes no
    catalogue vector (every catalogue token is kept); only text with word pieces outside the catalogue (search
    queries) differs: they map to [UNK]. Quality = valid text-only N@10 of the fp32 module."""
    full = E.TextEncoder(bert, keep_ids=None, proj_dim=enc.proj.weight.shape[0] if enc.proj is not None else 0,
                         max_tokens=st.max_tokens)
    sd = {k: v for k, v in enc.state_dict().items() if not k.startswith("word.") and k != "remap"}
    full.load_state_dict(sd, strict=False)
    f32, i8 = run / "encoder_fullvocab.fp32.onnx", run / "encoder_fullvocab.int8.onnx"
    X.export_encoder(full, f32, st.max_tokens)
    X.quantize(f32, i8, per_channel=st.quant_per_channel)
    a = X.run_encoder(X.session(run / "encoder.int8.onnx"), ids[:256], mask[:256])
    b = X.run_encoder(X.session(i8), ids[:256], mask[:256])
    cos = float((a * b).sum(1).min())
    md = ["## Size / quality trade-off (encoder)\n",
          "| encoder | layers | vocab rows | fp32 bytes | int8 bytes | valid text-only N@10 |", "|---|---|---|---|---|---|",
          f"| pruned to catalogue tokens (shipped) | {len(enc.layers)} | {len(enc.keep_ids)} | "
          f"{(run / 'encoder.fp32.onnx').stat().st_size:,} | {(run / 'encoder.int8.onnx').stat().st_size:,} | {shipped_valid:.4f} |",
          f"| full vocabulary | {len(enc.layers)} | 30522 | {f32.stat().st_size:,} | {i8.stat().st_size:,} | {shipped_valid:.4f} (same vectors) |"]
    for n_layers in (4, 2):
        small = copy.deepcopy(enc)
        small.layers = small.layers[:n_layers]
        v = text_valid(E.encode(small, ids, mask))
        s32, s8 = run / f"encoder_{n_layers}l.fp32.onnx", run / f"encoder_{n_layers}l.int8.onnx"
        X.export_encoder(small, s32, st.max_tokens)
        X.quantize(s32, s8, per_channel=st.quant_per_channel)
        md.append(f"| pruned, top {len(enc.layers) - n_layers} layers dropped | {n_layers} | {len(enc.keep_ids)} | "
                  f"{s32.stat().st_size:,} | {s8.stat().st_size:,} | {v:.4f} |")
        log(f"size trade-off: {n_layers} layers int8 {s8.stat().st_size} valid text-only {v:.4f}")
    md.append(f"\nOn catalogue texts the pruned and full int8 encoders agree (min cosine {cos:.4f} over 256 items); "
              "only search-query word pieces absent from the catalogue differ (they become [UNK]). Fewer layers are cut "
              "from the trained encoder without retraining them (the projection stays): they save bytes but lose most "
              "of the text signal on valid, so the shipped encoder keeps all 6 layers.\n")
    log(f"size trade-off: pruned int8 {(run / 'encoder.int8.onnx').stat().st_size} vs full {i8.stat().st_size}, min cos {cos:.4f}")
    return "\n".join(md)


def write_manifest(ship, model, data_info, st, text_dim, item_dim, knn_w, knn_d, results):
    files = {}
    for f in sorted(os.listdir(ship)):
        if f == "manifest.json":
            continue
        files[f] = {"sha256": sha256(ship / f), "bytes": (ship / f).stat().st_size}
    full = results["test"]["int8"]["full"]
    cat = results["test"]["int8"]["category"]
    man = {
        "name": model["name"], "version": model["version"],
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": files,
        "dims": {"text": int(text_dim), "collab": int(item_dim - text_dim), "item": int(item_dim)},
        "encoder": {"file": "encoder.int8.onnx", "maxTokens": st.max_tokens, "inputs": ["input_ids", "attention_mask"],
                    "output": "text_vec"},
        "user": {"file": "user.int8.onnx", "maxHistory": st.max_history, "eventTypes": dict(U.EVENT_TYPES),
                 "output": "user_vec"},
        "collab": {"file": "collab.bin", "index": "collab.json"},
        "scoring": {"knn": {"file": "neighbors.json", "weight": knn_w, "decay": knn_d}},
        "training": {"data": data_info, "settings": asdict(st), "seed": st.seed},
        "metrics": {"test": {"full": {k: round(full[k], 4) for k in ("recall@10", "ndcg@10", "mrr@10")},
                             "category": {"ndcg@10": round(cat["ndcg@10"], 4),
                                          "server_ndcg@10": round(cat["server_ndcg@10"], 4)}}},
    }
    (ship / "manifest.json").write_text(json.dumps(man, indent=2))
    return man


def refresh(run_dir, ship):
    """Rewrite MODEL_CARD.md and manifest.json of a finished run from its metrics.json (no retraining)."""
    run_dir, ship = Path(run_dir), Path(ship)
    out = json.loads((run_dir / "metrics.json").read_text())
    st = Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in out["settings"].items()})
    old = json.loads((ship / "manifest.json").read_text())
    model = out.get("model") or {"name": old["name"], "version": old["version"]}
    args = (ship, model, out.get("data") or old["training"].get("data"), st, old["dims"]["text"], old["dims"]["item"],
            out["chosen"]["knn_weight"], out["chosen"]["knn_decay"], out["results"])
    man = write_manifest(*args)
    write_card(ship, out, man)
    return write_manifest(*args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--refresh":
        refresh(*sys.argv[2:])
    else:
        main()
