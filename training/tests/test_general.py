"""The general (catalog-independent, contract 3) pipeline: aggregates from a catalogue's own histories, the
next-item baseline, per-level categories in the user model, and one tiny leave-one-domain-out run end to end
(synthetic domains, so it does not depend on the shared data)."""
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import scipy.sparse as sp
import torch

from inpage_train import general as G
from inpage_train import knn as K
from inpage_train import user_model as U
from synthetic import make_domain

def test_cooc_parts_recombine_into_knn_cooc():
    hists = [np.array([0, 1, 2, 3]), np.array([2, 1, 4]), np.array([3, 0, 1, 1])]
    cu, cf, cb = G.cooc_parts(hists, 5, 0.7)
    for back in (0.0, 0.5, 1.0):
        eu, ew = K.cooc(hists, 5, 0.7, back)
        np.testing.assert_allclose(cu, eu)
        np.testing.assert_allclose(cf + back * cb, ew, rtol=1e-6)


def test_knn_weights_are_knn_py_from_these_histories_only():
    st = G.GSettings(knn_min_count=1, knn_top_n=2, knn_back=0.5)
    hists = [np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([0, 2, 3])]
    pop = G.popularity_of(hists, 4)
    assert pop.tolist() == [2, 2, 3, 2]
    W = G.knn_weights(hists, 4, st, 0.5, 0.5)
    cu, cw = K.cooc(hists, 4, st.knn_gamma, 0.5)
    np.testing.assert_allclose(W.toarray(), K.weights(cu, cw, pop, 1, 0.5, 0.5, 2), rtol=1e-6)
    assert (np.count_nonzero(W.toarray(), axis=1) <= 2).all()
    # the same through precomputed parts
    W2 = G.knn_weights(None, 4, st, 0.5, 0.5, pop=pop, parts=G.cooc_parts(hists, 4, st.knn_gamma))
    np.testing.assert_allclose(W2.toarray(), W.toarray(), rtol=1e-6)
    # the prior is log1p(pop) / priorScale
    np.testing.assert_allclose(G.item_vectors(np.zeros((4, 2), np.float32), pop, st)[:, -1], np.log1p(pop) / st.prior_scale)


def test_next_item_counts_transitions_from_the_last_item():
    train = [np.array([0, 1, 2]), np.array([0, 1, 3]), np.array([0, 2])]
    pop = G.popularity_of(train, 4)
    s = G.next_item_scores([np.array([3, 0]), np.array([2])], train, 4, pop)
    # after 0: 1 twice, 2 once; popularity only breaks ties (below one transition)
    assert s[0].argsort()[::-1][:2].tolist() == [1, 2]
    assert s[0, 1] >= 2 and s[0, 1] < 3 and s[0, 2] < 2
    # nothing ever follows 2: popularity order
    assert s[1].argmax() == int(np.argmax(pop))


def test_user_model_levels_from_catalogues_of_different_sizes_with_their_own_categories():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    levels = []
    for n, cats in ((7, ["a"] * 3 + ["b"] * 4), (11, ["x"] * 11)):
        iv = rng.standard_normal((n, 5)).astype(np.float32)
        hists = [rng.choice(n, 3, replace=False) for _ in range(8)]
        levels.append(U.Level(hists, rng.integers(0, n, 8), iv, sp.csr_matrix(np.eye(n, dtype=np.float32)), cat_keys=cats))
    m = U.UserModel(5, d=8, layers=1, heads=2, max_history=10, prior_dims=1)
    before = m.pool.weight.detach().clone()
    info = U.train(m, levels, 4, ["unused"], epochs=2, batch=4, calib_steps=1, freeze_prior=1, pool_only=True,
                   collab_drop_hist=0.0, collab_drop_cat=0.0, log=lambda *a: None)
    assert info["steps"] == 8
    assert not torch.equal(before, m.pool.weight.detach()), "the pooling weights were trained"


def test_lodo_run_end_to_end(tmp_path):
    root = tmp_path / "data"
    dirs = [make_domain(root, "alpha", 40, 60, True, 1), make_domain(root, "beta", 35, 60, False, 2),
            make_domain(root, "gamma", 30, 60, False, 3)]
    ship = tmp_path / "ship"
    args = sum((["--data", str(d)] for d in dirs), []) + [
        "--holdout", "gamma", "--smoke", "--runs", str(tmp_path / "runs"), "--ship", str(ship), "--name", "t"]
    out = G.main(args)
    assert out["train_domains"] == ["alpha", "beta"] and list(out["results"]) == ["gamma"]
    r = out["results"]["gamma"]
    for row in ("popularity", "next_item", "item_knn", "text_only", "inpage_int8"):
        assert 0.0 <= r[row]["full"]["ndcg@10"] <= 1.0
        assert "category" not in r[row]             # gamma has one root category
    assert r["ratio_full"] == pytest.approx(r["inpage_int8"]["full"]["ndcg@10"] / r["item_knn"]["full"]["ndcg@10"])
    # choices were made on the training domains only
    assert set(out["criterion_reference"]) == {"alpha", "beta"}
    assert "category" in out["criterion_reference"]["alpha"] and "category" not in out["criterion_reference"]["beta"]
    run = tmp_path / "runs" / "t"
    for f in ("metrics.json", "settings.json", "log.txt", "encoder.int8.onnx", "user.int8.onnx"):
        assert (run / f).is_file(), f
    # the shipped folder follows contract 3
    man = json.loads((ship / "manifest.json").read_text())
    assert man["dims"] == {"text": 384, "collab": 1, "item": 385}
    agg = man["aggregates"]
    assert agg["priorScale"] == 8.0 and set(agg["knn"]) == {"gamma", "back", "alpha", "beta", "minCount", "topN"}
    assert set(man["scoring"]["knn"]) == {"weight", "decay"}
    assert "collab" not in man
    assert not any(f.startswith(("collab", "neighbors")) for f in man["files"])
    for name, meta in man["files"].items():
        assert hashlib.sha256((ship / name).read_bytes()).hexdigest() == meta["sha256"], name
    # full vocabulary: the encoder's embedding table has every one of the tokenizer's 30,522 rows
    g = onnx.load(str(ship / "encoder.int8.onnx"))
    rows = [i.dims[0] for i in g.graph.initializer if len(i.dims) == 2 and i.dims[1] == 384]
    assert 30522 in rows
    # never overwrites a model folder without --force
    with pytest.raises(SystemExit):
        G.main(args)


def test_card_chooses_between_base_and_projection_on_valid_only():
    from inpage_train import general_card as C

    def run(enc_steps, valid, test_ratio):
        return {"holdout": "x", "encoder": {"steps": enc_steps}, "grid_trained": [{"criterion": valid - 0.1}, {"criterion": valid}],
                "results": {"x": {"ratio_full": test_ratio}}}
    base, proj = run(0, 1.05, 1.20), run(300, 1.07, 1.00)
    assert C.valid_criterion(proj) == 1.07
    assert C.chosen_on_valid(base, proj) is proj, "the higher valid criterion wins, whatever the test says"
    tie_base = run(0, 1.07, 1.0)
    assert C.chosen_on_valid(tie_base, run(300, 1.07, 1.3)) is tie_base, "a tie keeps the base encoder"
    assert C.chosen_on_valid(None, proj) is proj


def test_manifest_records_each_held_out_domains_figures_with_item_knn_on_both_protocols():
    from inpage_train import general_card as C

    full = {"recall@10": 0.141, "ndcg@10": 0.09861, "mrr@10": 0.0855}
    with_cat = {"inpage_int8": {"full": full, "category": {"ndcg@10": 0.22541, "server_ndcg@10": 0.2108}},
                "item_knn": {"full": {"ndcg@10": 0.08974}, "category": {"ndcg@10": 0.23201}},
                "ratio_full": 1.0988, "ratio_category": 0.97155}
    assert C.lodo_metrics(with_cat) == {
        "full": {"recall@10": 0.141, "ndcg@10": 0.0986, "mrr@10": 0.0855}, "itemKnnNdcg@10": 0.0897, "ratio": 1.099,
        "category": {"ndcg@10": 0.2254, "server_ndcg@10": 0.2108, "itemKnnNdcg@10": 0.232, "ratio": 0.972}}
    one_root = {"inpage_int8": {"full": full}, "item_knn": {"full": {"ndcg@10": 0.08974}}, "ratio_full": 1.0988}
    assert "category" not in C.lodo_metrics(one_root)
    # The shipped model's manifest carries them for every domain it was held out from, as its card states.
    man = json.loads((Path(__file__).resolve().parents[2] / "public/models/inpage-general-v1/manifest.json").read_text())
    lodo = man["metrics"]["leaveOneDomainOut"]
    assert set(lodo) == {"scientific", "beauty", "games"}
    assert all({"full", "itemKnnNdcg@10", "ratio"} <= set(v) for v in lodo.values())
    assert lodo["scientific"]["category"] == {"ndcg@10": 0.2254, "server_ndcg@10": 0.2108, "itemKnnNdcg@10": 0.232, "ratio": 0.972}


def test_closed_form_of_an_untrained_user_model_is_its_forward_and_none_once_trained():
    import torch
    from inpage_train import user_model as U
    from inpage_train import export as X
    torch.manual_seed(0)
    um = U.UserModel(9, d=16, layers=1, heads=2, max_history=50, prior_dims=1, prior_init=0.4).eval()
    with torch.no_grad():
        um.decay.fill_(0.3)
        um.skip.fill_(1.2)
    cf = U.closed_form(um)
    assert cf["pooled"] == 8 and cf["bias"] == [[8, pytest.approx(0.4)]]
    rng = np.random.default_rng(1)
    hv = rng.standard_normal((3, 6, 9)).astype(np.float32)
    m = np.ones((3, 6), dtype=np.int64); m[1, :4] = 0; m[2, :] = 0
    hv *= m[..., None]
    ty = rng.integers(0, 4, (3, 6))
    with torch.no_grad():
        want = um(torch.from_numpy(hv), torch.from_numpy(ty), torch.from_numpy(m)).numpy()
    assert np.abs(X.closed_form_user(cf, hv, m) - want).max() < 1e-5
    with torch.no_grad():
        um.pool.weight.normal_()
    assert U.closed_form(um) is None
