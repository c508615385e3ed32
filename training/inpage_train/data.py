"""Dataset loading (RecBole atomic files of amazon-scientific) and the item-text rule of the contract."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (REPO_ROOT / ".." / "shared" / "data" / "amazon-scientific").resolve()


def build_text(title, categories, brand) -> str:
    """Contract rule: parts = [title, categories.join(' '), brand] trimmed, empty/null dropped; '. ' joined + '.'"""
    cats = " ".join(categories or [])
    parts = []
    for p in (title, cats, brand):
        if p is None:
            continue
        p = str(p).strip()
        if p:
            parts.append(p)
    return ". ".join(parts) + "."


def category_key(categories) -> str:
    """categories[2] (root is [0]); a shorter path uses its last entry; no path -> ''."""
    if not categories:
        return ""
    return categories[2] if len(categories) > 2 else categories[-1]


@dataclass
class Split:
    users: np.ndarray            # [n]
    hists: list                  # list of int arrays (oldest first)
    targets: np.ndarray          # [n]


@dataclass
class Dataset:
    items: list                  # dicts from items.jsonl, index = item id
    texts: list
    asins: list
    train: Split                 # train.inter prefixes
    valid: Split
    test: Split
    n_items: int = 0
    cat_keys: list = field(default_factory=list)

    def train_histories(self):
        """Each user's items before the last two (the valid.inter histories)."""
        return self.valid.hists


def read_inter(path: Path, max_rows: int | None = None) -> Split:
    users, hists, targets = [], [], []
    with open(path) as f:
        header = f.readline()
        assert header.startswith("user_id"), header
        for line in f:
            u, h, t = line.rstrip("\n").split("\t")
            users.append(int(u))
            hists.append(np.array([int(x) for x in h.split()], dtype=np.int64))
            targets.append(int(t))
            if max_rows and len(users) >= max_rows:
                break
    return Split(np.array(users), hists, np.array(targets, dtype=np.int64))


def load(data_dir: str | os.PathLike | None = None, smoke: bool = False) -> Dataset:
    d = Path(data_dir) if data_dir else DEFAULT_DATA
    items = []
    with open(d / "items.jsonl") as f:
        for line in f:
            items.append(json.loads(line))
    items.sort(key=lambda r: r["item"])
    assert [r["item"] for r in items] == list(range(len(items)))
    texts = [build_text(r.get("title"), r.get("categories"), r.get("brand")) for r in items]
    asins = [r["asin"] for r in items]
    mr = 300 if smoke else None
    ds = Dataset(items=items, texts=texts, asins=asins,
                 train=read_inter(d / "train.inter", None if not smoke else 1200),
                 valid=read_inter(d / "valid.inter", mr),
                 test=read_inter(d / "test.inter", mr),
                 n_items=len(items))
    ds.cat_keys = [category_key(r.get("categories")) for r in items]
    return ds


def popularity(ds: Dataset) -> np.ndarray:
    """Interaction count in the training histories (valid.inter histories); targets never count."""
    pop = np.zeros(ds.n_items, dtype=np.float64)
    for h in ds.train_histories():
        np.add.at(pop, h, 1)
    return pop
