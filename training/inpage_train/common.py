"""What both pipelines (pipeline.py: one catalogue; general.py: across catalogues) share: seeding, file hashes,
the run log, the shipped tokenizer. Here, below both, so that neither pipeline
imports the other (tests/test_imports.py keeps the package free of import cycles)."""
from __future__ import annotations

import hashlib
import json
import random
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from . import encoder as E


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
