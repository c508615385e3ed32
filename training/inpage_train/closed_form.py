"""Declares a shipped model's user graph as its closed form, when it is one (`user.closedForm` in manifest.json,
docs/model-contract.md): probes the int8 graph, checks the formula on random histories within 1e-5, and with
--write adds it to the manifest. New models get it at export (general.user_closed_form); this is for a model
folder that was shipped before the field existed.

    training/.venv/bin/python -m inpage_train.closed_form public/models/inpage-general-v1 [--write]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import export as X

TOLERANCE = 1e-5


def check(model_dir: Path) -> tuple[dict, float]:
    man = json.loads((model_dir / "manifest.json").read_text())
    sess = X.session(model_dir / man["user"]["file"])
    cf = X.probe_closed_form(sess, man["dims"]["item"])
    return cf, X.closed_form_gap(sess, cf, man["dims"]["item"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--write", action="store_true", help="add user.closedForm to manifest.json when it holds")
    a = ap.parse_args(argv)
    cf, gap = check(a.model_dir)
    print(f"{a.model_dir}: {json.dumps(cf)}; largest gap to the graph over random histories {gap:.2e}")
    if gap > TOLERANCE:
        print(f"not a closed form (gap > {TOLERANCE}): the ONNX graph stays the model", file=sys.stderr)
        return 1
    if a.write:
        path = a.model_dir / "manifest.json"
        man = json.loads(path.read_text())
        man["user"]["closedForm"] = cf
        path.write_text(json.dumps(man, indent=2))  # as general_card.write_manifest writes it
        print(f"wrote user.closedForm to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
