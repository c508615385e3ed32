"""A tiny synthetic catalogue in the shared data's format, for pipeline tests that must not depend on the shared data."""
import json
from pathlib import Path

import numpy as np

WORDS = ("red blue green black white small large steel glass paper cotton wool digital classic "
         "pen lamp cup brush cream game card ball tape wire box mask soap gel kit").split()


def make_domain(root: Path, name: str, n_items: int, n_users: int, categories: bool, seed: int) -> Path:
    """A tiny catalogue in the shared data's format: items in groups of 5 bought in order, so co-occurrence and
    next-item have signal; every user's sequence is 6-8 items; train/valid/test as the README defines them."""
    rng = np.random.default_rng(seed)
    d = root / name
    d.mkdir(parents=True)
    with open(d / "items.jsonl", "w") as f:
        for i in range(n_items):
            title = " ".join(rng.choice(WORDS, 3)) + f" {name} {i % 7}"
            cats = [name.title(), f"{name} sub", f"{name} g{(i // 5) % 3}"] if categories else [name.title()]
            f.write(json.dumps({"item": i, "asin": f"{name[:2].upper()}{i:05d}", "title": title, "brand": None,
                                "categories": cats, "description": None}) + "\n")
    seqs = []
    for u in range(n_users):
        g = int(rng.integers(n_items // 5))
        s = [5 * g + j for j in range(5)]
        s += [int(x) for x in rng.choice(n_items, int(rng.integers(1, 4)), replace=False)]
        seqs.append(s)
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    with open(d / "train.inter", "w") as tr, open(d / "valid.inter", "w") as va, open(d / "test.inter", "w") as te:
        for f in (tr, va, te):
            f.write(head)
        for u, s in enumerate(seqs):
            for k in range(1, len(s) - 2):
                tr.write(f"{u}\t{' '.join(map(str, s[:k]))}\t{s[k]}\n")
            va.write(f"{u}\t{' '.join(map(str, s[:-2]))}\t{s[-2]}\n")
            te.write(f"{u}\t{' '.join(map(str, s[:-1]))}\t{s[-1]}\n")
    return d
