"""All rows of the model card's table, computed by the same code in one run (test scored once)."""
from __future__ import annotations

import json
import time

import numpy as np

from . import export as X
from . import knn as K
from . import metrics as M
from .data import popularity
from .user_model import EVENT_TYPES, user_vectors


def recency_mean(vecs, hists, decay):
    out = np.zeros((len(hists), vecs.shape[1]), dtype=np.float32)
    for r, h in enumerate(hists):
        w = decay ** np.arange(len(h))[::-1]
        out[r] = (vecs[h] * w[:, None]).sum(0) / w.sum()
    return out


def both(name, fn, split, ds, pop, log, category=True):
    res = {}
    for excl in (True, False):
        m, _ = M.evaluate(fn, split, ds.n_items, exclude_history=excl)
        res["full" if excl else "full_with_history"] = m
    if category:
        cm, cs = M.category_eval(fn, split, ds.cat_keys, pop, exclude_history=True)
        res["category"] = {"ndcg@10": cm["ndcg@10"], "server_ndcg@10": cs["ndcg@10"],
                           "recall@10": cm["recall@10"], "server_recall@10": cs["recall@10"]}
    log(f"{name}: {json.dumps({k: {a: round(b, 4) for a, b in v.items()} for k, v in res.items()})}")
    return res


def load_shipped(ship, ds, st, which):
    """Item vectors exactly as the browser builds them: encoder ONNX on tokenized text + collab.bin."""
    from .encoder import load_tokenizer, tokenize
    tok = load_tokenizer(ship)
    ids, mask = tokenize(tok, ds.texts, st.max_tokens)
    enc = X.session(ship / "encoder.int8.onnx" if which == "int8" else which)
    text = X.run_encoder(enc, ids, mask)
    cj = json.loads((ship / "collab.json").read_text())
    cb = np.frombuffer((ship / "collab.bin").read_bytes(), dtype="<f4").reshape(len(cj["ids"]), cj["dims"])
    collab = np.zeros((ds.n_items, cj["dims"]), dtype=np.float32)
    a2i = {a: i for i, a in enumerate(ds.asins)}
    for r, a in enumerate(cj["ids"]):
        collab[a2i[a]] = cb[r]
    return np.concatenate([text, collab], 1).astype(np.float32), text


def event_type_influence(sess, item_vecs, hists, max_history, n=400, seed=0):
    """How much the most recent event moves the user vector, by its type, relative to a purchase:
    mean over n histories of |u(h, last as type) − u(h without last)| / |u(h, last as purchase) − u(h without last)|."""
    rng = np.random.default_rng(seed)
    rows = [r for r in rng.permutation(len(hists)) if len(hists[r]) >= 3][:n]
    ratios = {name: [] for name in EVENT_TYPES}
    for r in rows:
        h = hists[r]
        without = X.run_user(sess, item_vecs, [h[:-1]], max_history)[0]
        moved = np.linalg.norm(X.run_user(sess, item_vecs, [h], max_history)[0] - without)   # last event a purchase
        for name, tid in EVENT_TYPES.items():
            types = [[0] * len(h)]
            types[0][-1] = tid
            typed = X.run_user(sess, item_vecs, [h], max_history, types=types)[0]
            ratios[name].append(np.linalg.norm(typed - without) / max(moved, 1e-9))
    return {name: float(np.mean(v)) for name, v in ratios.items()}


def int8_extras(results, ds, pop, st, log, us, iv, kn, W, knn_weight, knn_decay, untrained, noisy_fn):
    """The shipped model on test histories with semi-synthetic browse events, the untrained user model beside it,
    and how much each event type moves the user vector (valid histories)."""
    ts = ds.test
    if noisy_fn is not None:
        nh, nt = noisy_fn(ts.hists)
        ns = type(ts)(ts.users, nh, ts.targets)
        kn_n = K.score(nh, W, knn_decay)
        dn = X.run_user(us, iv, nh, st.max_history, types=nt) @ iv.T
        results["test"]["int8_noisy"] = both("full int8, browse noise", lambda hs, sl: dn[sl] + knn_weight * kn_n[sl],
                                             ns, ds, pop, log)
        if untrained is not None:
            u0n = user_vectors(untrained, iv, nh, st.max_history, types=nt) @ iv.T
            results["test"]["untrained_noisy"] = both("untrained user model fp32, browse noise",
                                                      lambda hs, sl: u0n[sl] + knn_weight * kn_n[sl], ns, ds, pop, log)
    results["event_type_influence_valid"] = event_type_influence(us, iv, ds.valid.hists, st.max_history)
    log(f"event-type influence (valid histories, int8): {results['event_type_influence_valid']}")
    if untrained is not None:
        u0 = user_vectors(untrained, iv, ts.hists, st.max_history) @ iv.T
        results["test"]["untrained"] = both("untrained user model fp32 (recency mean + prior) + kNN",
                                            lambda hs, sl: u0[sl] + knn_weight * kn[sl], ts, ds, pop, log)


def evaluate_all(ds, pop, ship, run, st, log, W_valid_knn, base_text, ft_text, knn_weight, knn_decay,
                 baselines=True, knn_only_decay=0.8, untrained=None, noisy_fn=None):
    """untrained: the user model before training (torch), for the row that shows what training adds.
    noisy_fn(hists) -> (hists, types): the same histories with semi-synthetic browse events."""
    results = {"valid": {}, "test": {}}
    # text-only recency decay chosen on valid
    dec_choice = {}
    for nm, tv in (("base", base_text), ("ft", ft_text)):
        best = None
        for dec in (0.5, 0.8, 1.0):
            uv = recency_mean(tv, ds.valid.hists, dec)
            m, _ = M.evaluate(lambda hs, sl: uv[sl] @ tv.T, ds.valid, ds.n_items)
            if best is None or m["ndcg@10"] > best[1]:
                best = (dec, m["ndcg@10"])
        dec_choice[nm] = best[0]
    log(f"text-only recency decay chosen on valid: {dec_choice}")
    results["text_decay"] = dec_choice

    ts = ds.test
    W = W_valid_knn
    t = time.time()
    results["test"]["popularity"] = both("popularity", lambda hs, sl: np.tile(pop, (len(hs), 1)), ts, ds, pop, log)
    kn_test = K.score(ts.hists, W, knn_only_decay)
    results["test"]["item_knn"] = both("item-kNN", lambda hs, sl: kn_test[sl], ts, ds, pop, log)
    # server-side item-kNN without privacy threshold or neighbour cap (k=1): the price of the threshold on test
    cu, cw = K.cooc(ds.train_histories(), ds.n_items, st.knn_gamma, 1.0)
    W1 = K.weights(cu, cw, pop, 1, st.knn_alpha, st.knn_beta, None)
    kn1 = K.score(ts.hists, W1, knn_only_decay)
    results["test"]["item_knn_k1"] = both("item-kNN k=1 (no threshold)", lambda hs, sl: kn1[sl], ts, ds, pop, log)
    del W1, kn1, cu, cw
    if baselines:
        from .sasrec import train_sasrec
        t = time.time()
        sas = train_sasrec(ds, st.seed, log=log, smoke=st.smoke)
        results["sasrec_train_s"] = time.time() - t
        sc = sas.scores(ts.hists)
        results["test"]["sasrec"] = both("SASRec (item IDs)", lambda hs, sl: sc[sl], ts, ds, pop, log)
    for nm, tv, label in (("base", base_text, "base_encoder"), ("ft", ft_text, "finetuned_encoder")):
        uv = recency_mean(tv, ts.hists, dec_choice[nm])
        results["test"][label] = both(label, lambda hs, sl: uv[sl] @ tv.T, ts, ds, pop, log)
    kn = K.score(ts.hists, W, knn_decay)
    for which, enc_path, usr_path in (("fp32", run / "encoder.fp32.onnx", run / "user.fp32.onnx"),
                                      ("int8", ship / "encoder.int8.onnx", ship / "user.int8.onnx")):
        t = time.time()
        iv, _ = load_shipped(ship, ds, st, enc_path)
        us = X.session(usr_path)
        uv = X.run_user(us, iv, ts.hists, st.max_history)
        dense = uv @ iv.T
        results["test"][which] = both(f"full {which}", lambda hs, sl: dense[sl] + knn_weight * kn[sl], ts, ds, pop, log)
        results["test"][f"{which}_no_knn"] = both(f"user model only {which}", lambda hs, sl: dense[sl], ts, ds, pop,
                                                  log, category=False)
        # text-only (no collab vectors anywhere, no knn): new store / new items
        tdim = ft_text.shape[1]
        iv_t = iv.copy(); iv_t[:, tdim:] = 0
        uv_t = X.run_user(us, iv_t, ts.hists, st.max_history)
        dense_t = uv_t @ iv_t.T
        results["test"][f"{which}_text_only"] = both(f"text only {which}", lambda hs, sl: dense_t[sl], ts, ds, pop,
                                                     log, category=False)
        if which == "int8":
            int8_extras(results, ds, pop, st, log, us, iv, kn, W, knn_weight, knn_decay, untrained, noisy_fn)
        log(f"eval {which} {time.time() - t:.0f}s")
    f32 = results["test"]["fp32"]["full"]["ndcg@10"]
    i8 = results["test"]["int8"]["full"]["ndcg@10"]
    results["int8_rel_ndcg_loss"] = (f32 - i8) / max(f32, 1e-12)
    log(f"int8 relative NDCG@10 loss vs fp32: {100 * results['int8_rel_ndcg_loss']:.2f}%")
    # cost of the privacy threshold on test (knn alone, same decay)
    return results
