import math

import numpy as np
import pytest

from inpage_train import metrics as M
from inpage_train.data import build_text, category_key


def test_rank_ties_broken_by_item_id():
    s = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]])
    # target 2: one higher (item 1), one equal with a smaller id (item 0) -> rank 3
    assert M.ranks_from_scores(s, np.array([2]), exclude_history=False)[0] == 3
    # target 0: one higher -> rank 2 (equal items 2, 3 have larger ids)
    assert M.ranks_from_scores(s, np.array([0]), exclude_history=False)[0] == 2
    # target 3: higher 1, equal smaller ids 0 and 2 -> rank 4
    assert M.ranks_from_scores(s, np.array([3]), exclude_history=False)[0] == 4


def test_history_exclusion():
    s = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]])
    hist = [np.array([1, 0])]
    # items 0 and 1 are -inf: target 2 becomes rank 1
    assert M.ranks_from_scores(s, np.array([2]), hist, exclude_history=True)[0] == 1
    assert M.ranks_from_scores(s, np.array([2]), hist, exclude_history=False)[0] == 3
    # a target inside the history is a miss
    r = M.ranks_from_scores(s, np.array([1]), hist, exclude_history=True)[0]
    assert r > 10
    assert M.metrics_from_ranks(np.array([r]))["recall@10"] == 0


def test_metric_values_hand_computed():
    ranks = np.array([1, 3, 10, 11])
    m = M.metrics_from_ranks(ranks)
    assert m["recall@10"] == pytest.approx(3 / 4)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4) + 1 / math.log2(11)) / 4)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 10) / 4)


def test_evaluate_batches_and_category_protocol():
    from types import SimpleNamespace
    split = SimpleNamespace(hists=[np.array([0]), np.array([1])], targets=np.array([2, 3]))
    sc = np.array([[0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.2, 0.5]])
    m, r = M.evaluate(lambda hs, sl: sc[sl], split, 4, batch=1)
    assert list(r) == [1, 1]
    pop = np.array([5.0, 4.0, 3.0, 3.0])
    cats = ["a", "a", "a", "a"]
    cm, cs = M.category_eval(lambda hs, sl: sc[sl], split, cats, pop)
    # server order 0,1,2,3 -> after removing history: row0 [1,2,3] target 2 at 2; row1 [0,2,3] target 3 at 3
    assert cs["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / 2)
    assert cm["ndcg@10"] == pytest.approx(1.0)


def test_item_text_rule_and_category_key():
    assert build_text(" A ", ["X", "Y"], None) == "A. X Y."
    assert build_text("A", [], "") == "A."
    assert build_text("A", ["R", "S", "T", "U"], "B") == "A. R S T U. B."
    assert category_key(["R", "S", "T", "U"]) == "T"
    assert category_key(["R", "S"]) == "S"
    assert category_key([]) == ""
