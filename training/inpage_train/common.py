"""What both pipelines (pipeline.py: one catalogue; general.py: across catalogues) share: seeding, file hashes,
the run log, the shipped tokenizer, the settings both read. Here, below both, so that neither pipeline
imports the other (tests/test_imports.py keeps the package free of import cycles)."""
from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from . import encoder as E


@dataclass
class BaseSettings:
    """The settings both pipelines read, with the defaults they agree on. A setting whose default differs
    (prior_weights, knn_weights, knn_decays, user_epochs, user_levels) is declared by each pipeline's own class."""
    seed: int = 42
    max_tokens: int = 64
    prior_scale: float = 8.0         # popularity prior feature = log1p(pop) / prior_scale
    # encoder fine-tuning
    enc_batch: int = 256
    enc_lr: float = 3e-3
    enc_reg: float = 1e-5            # L2 pull of the projection toward the identity
    enc_hist_items: int = 5
    # kNN aggregates (knn.py's definition)
    knn_min_count: int = 2
    knn_gamma: float = 0.8
    knn_top_n: int = 50
    # user model
    user_d: int = 128
    user_layers: int = 2
    user_heads: int = 2
    user_batch: int = 256
    user_lr: float = 1e-3
    user_temp: float = 0.05          # start value; learned during training (calibrated first)
    user_pool_only: bool = True      # the transformer only re-weights history events (its free output path,
                                     # also trained, lost full-ranking NDCG on valid)
    max_history: int = 50
    quant_per_channel: bool = False
    smoke: bool = False


def seed_all(s):
    random.seed(s); np.random.seed(s); torch.manual_seed(s)


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class Log:
    def __init__(self, path):
        self.f = open(path, "a")

    def __call__(self, *a):
        s = f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}] " + " ".join(str(x) for x in a)
        print(s, flush=True)
        self.f.write(s + "\n"); self.f.flush()


def write_tokenizer(dst: Path, max_tokens):
    """Copy the base tokenizer. Only truncation/padding defaults change (vocab untouched): truncation to
    maxTokens, no fixed padding (the engine pads to the longest in the batch); model_max_length = maxTokens."""
    src = E.base_model_dir()
    tj = json.loads((src / "tokenizer.json").read_text())
    tj["truncation"] = {"direction": "Right", "max_length": max_tokens, "strategy": "LongestFirst", "stride": 0}
    tj["padding"] = None
    (dst / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False))
    tc = json.loads((src / "tokenizer_config.json").read_text())
    tc["model_max_length"] = max_tokens
    (dst / "tokenizer_config.json").write_text(json.dumps(tc, indent=2))
    shutil.copy(src / "config.json", dst / "config.json")
