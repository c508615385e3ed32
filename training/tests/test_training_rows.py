"""The user model's training rows never see their targets in the public aggregates (the leak version 1 had),
the kNN history rule matches the browser's, and the untrained user model is the recency mean + prior."""
import numpy as np
import scipy.sparse as sp
import torch

from inpage_train import data as D
from inpage_train import knn as K
from inpage_train import pipeline as P
from inpage_train import user_model as U


def tiny_dataset():
    seqs = [np.array(s, dtype=np.int64) for s in ([0, 1, 2, 3], [1, 2, 3], [0, 2, 3, 4], [4, 0, 1])]
    n = 5
    split = D.Split(np.arange(len(seqs)), seqs, np.zeros(len(seqs), dtype=np.int64))
    ds = D.Dataset(items=[{}] * n, texts=[""] * n, asins=[str(i) for i in range(n)], train=split, valid=split,
                   test=split, n_items=n, cat_keys=["a"] * n)
    return ds, seqs


def test_levels_exclude_their_targets_from_every_aggregate():
    ds, seqs = tiny_dataset()
    st = P.Settings(user_levels=2, knn_min_count=1, collab_dim=2, knn_top_n=None)
    text = np.zeros((ds.n_items, 3), dtype=np.float32)
    levels = P.leakfree_levels(ds, text, st)
    assert [len(lv.targets) for lv in levels] == [4, 4]
    for cut, lv in enumerate(levels, start=1):
        cut_seqs = [s[:-cut] for s in seqs]
        pop = np.zeros(ds.n_items)
        for h in cut_seqs:
            np.add.at(pop, h, 1)
        # the prior column is popularity over the cut sequences: the targets' own interactions are not counted
        np.testing.assert_allclose(lv.item_vecs[:, -1], np.log1p(pop) / st.prior_scale, rtol=1e-6)
        # neighbour weights come from the cut sequences alone, and differ from the full sequences' ones
        cu, cw = K.cooc(cut_seqs, ds.n_items, st.knn_gamma, 1.0)
        expect = K.weights(cu, cw, pop, st.knn_min_count, st.knn_alpha, st.knn_beta, st.knn_top_n)
        np.testing.assert_allclose(lv.knn.toarray(), expect, rtol=1e-6)
        fu, fw = K.cooc(seqs, ds.n_items, st.knn_gamma, 1.0)
        assert not np.allclose(lv.knn.toarray(), K.weights(fu, fw, pop, 1, st.knn_alpha, st.knn_beta, None))
        # e.g. row 0 of level 1: history [0, 1, 2] -> target 3; the pair (1, 3) exists only with the targets
        assert lv.knn.toarray()[1, 3] == 0 and lv.knn.toarray()[3, 1] == 0
    # and the first level's targets are each sequence's last item, history the rest
    assert levels[0].targets.tolist() == [3, 3, 4, 1]
    assert [h.tolist() for h in levels[0].hists] == [[0, 1, 2], [1, 2], [0, 2, 3], [4, 0]]


def test_knn_counts_a_repeated_item_once_at_its_latest_position():
    w = np.zeros((3, 3), dtype=np.float32)
    w[0, 2] = 1.0
    w[1, 2] = 10.0
    # history oldest first: 0, 1, 0 -> distinct most recent first: 0 (p=0), 1 (p=1)
    s = K.score([np.array([0, 1, 0])], w, 0.5)[0]
    assert s[2] == 1.0 + 0.5 * 10.0
    assert np.allclose(K.score([np.array([0, 1, 0])], sp.csr_matrix(w), 0.5), s)


def test_untrained_user_model_is_recency_mean_plus_prior():
    torch.manual_seed(0)
    m = U.UserModel(4, d=8, layers=1, heads=2, prior_dims=1, prior_init=0.3).eval()
    hv = torch.tensor([[[1.0, 0, 0, 5.0], [0, 1.0, 0, 7.0]]])
    out = m(hv, torch.zeros(1, 2, dtype=torch.int64), torch.ones(1, 2, dtype=torch.int64))[0]
    w = torch.tensor([0.5, 1.0]) / 1.5          # decay 0.5 per step back, most recent last
    expect = torch.tensor([w[0], w[1], 0.0, 0.3])  # the prior dim is not pooled: it carries the prior weight
    assert torch.allclose(out, expect, atol=1e-6)
