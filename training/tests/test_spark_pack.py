"""The Spark job (inpage_train/spark_pack.py) in local mode against the Node pack builder (catalog/, DuckDB and
onnxruntime-node): the same neighbour lists and popularity on amazon-scientific, text vectors within the int8
quantization's error, the warehouse (events table) input equal to the histories input. Needs Java (a Debian JRE,
installed by scripts/setup.sh --python) and node_modules (the Node CLI assembles the packs)."""
from __future__ import annotations

import base64
import json
import shutil
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from inpage_train import data as tdata
from inpage_train import spark_pack as sp

REPO = Path(__file__).resolve().parents[2]
SCI = REPO / "public" / "models" / "inpage-sci-v1"
GENERAL = REPO / "public" / "models" / "inpage-general-v1"
DATA = tdata.DEFAULT_DATA


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the encoder UDF's workers: this venv (onnxruntime, pyarrow)
    s = (SparkSession.builder.master("local[2]").appName("inpage-test")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "4").config("spark.default.parallelism", "2")
         .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
         .config("spark.driver.memory", "1g").getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def run_job(spark, *argv):
    return sp.run(spark, sp.parse_args(list(argv)))


def catalog_cli(*argv):
    r = subprocess.run(["node", "scripts/run-ts.mjs", "catalog/cli.ts", *argv], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def read_pack(d: Path):
    items = {}
    for f in (d / "shards").iterdir():
        items.update(json.loads(f.read_text().split("\n", 1)[1])["items"])
    return json.loads((d / "pack.json").read_text()), items


def dequantize(rec):
    return np.frombuffer(base64.b64decode(rec["t"]), dtype=np.int8).astype(np.float64) * rec["s"]


def subset(tmp: Path, n_items: int) -> Path:
    """The first n items of amazon-scientific and the training histories restricted to them (≥ 2 left)."""
    d = tmp / f"sci-{n_items}"
    d.mkdir()
    lines = (DATA / "items.jsonl").read_text().splitlines()
    (d / "items.jsonl").write_text("\n".join(l for l in lines if json.loads(l)["item"] < n_items) + "\n")
    out = []
    for i, line in enumerate((DATA / "valid.inter").read_text().splitlines()):
        if i == 0:
            out.append(line)
            continue
        u, h, t = line.split("\t")
        keep = [x for x in h.split() if int(x) < n_items]
        # The builder checks targets against items.jsonl too: a target outside the subset becomes the last kept item.
        if int(t) >= n_items:
            if len(keep) < 3:
                continue
            keep, t = keep[:-1], keep[-1]
        if len(keep) >= 2:
            out.append(f"{u}\t{' '.join(keep)}\t{t}")
    (d / "valid.inter").write_text("\n".join(out) + "\n")
    return d


def test_settings_text_and_sql_follow_the_node_definitions():
    assert sp.pack_settings(json.loads((SCI / "manifest.json").read_text())) == \
        {"minCount": 2, "gamma": 0.8, "back": 1.0, "alpha": 0.3, "beta": 0.1, "topN": 50, "window": 50}
    g = json.loads((GENERAL / "manifest.json").read_text())
    assert sp.pack_settings(g) == {**g["aggregates"]["knn"], "window": 50}
    with pytest.raises(sp.SparkPackError, match="topN"):
        sp.pack_settings({"aggregates": {"knn": {**g["aggregates"]["knn"], "topN": 0}}})
    with pytest.raises(sp.SparkPackError, match="alpha"):
        sp.pack_settings({"aggregates": {"knn": {**g["aggregates"]["knn"], "alpha": "0.5"}}})
    for args in [("Gloves", ["Lab", "Safety"], "Acme"), ("  Tape ", [], None), ("", None, "B"), ("x", ["", " "], " ")]:
        assert sp.build_text(*args) == tdata.build_text(*args)
    q = sp.neighbor_sql(sp.pack_settings(g))
    # Spark reads 0.8 as a DECIMAL: every fractional setting goes in as a DOUBLE literal.
    assert "pow(0.8D, d - 1)" in q["pairs"] and "p.cu >= 2" in q["weights"] and "rank <= 50" in q["weights"]
    assert "b.pos = a.pos + 1" in q["next"] and "p.cu >= 2" in q["next"] and f"rank <= {sp.NEXT_TOP_N}" in q["next"]


def test_neighbour_lists_and_popularity_equal_the_duckdb_pack(spark, tmp_path):
    out = tmp_path / "agg"
    rep = run_job(spark, "--model", str(SCI), "--data", str(DATA), "--out", str(out))
    assert (rep["users"], rep["events"]) == (8442, 42503)
    rows = pq.read_table(out / "neighbors").to_pylist()
    assert min(r["shoppers"] for r in rows) >= 2 and max(r["rank"] for r in rows) <= 50
    catalog_cli("--aggregates", str(out), "--model", str(SCI), "--out", str(tmp_path / "spark-pack"))
    catalog_cli("--data", str(DATA), "--text-vectors", "none", "--model", str(SCI), "--out", str(tmp_path / "duckdb-pack"))
    ms, spark_items = read_pack(tmp_path / "spark-pack")
    md, duck_items = read_pack(tmp_path / "duckdb-pack")
    assert ms["aggregates"] == md["aggregates"] and ms["items"] == md["items"] == 4385
    assert spark_items.keys() == duck_items.keys()
    differ = [k for k in duck_items if spark_items[k] != duck_items[k]]
    assert differ == []
    assert sum(1 for r in duck_items.values() if r.get("n")) > 2000
    # The next-item lists too (the same records, so the same `f`), and the threshold held in Spark's own rows.
    assert ms["aggregates"]["next"] == {"minCount": 2, "topN": sp.NEXT_TOP_N}
    steps = pq.read_table(out / "next").to_pylist()
    assert min(r["shoppers"] for r in steps) >= 2 and max(r["rank"] for r in steps) <= sp.NEXT_TOP_N
    assert sum(1 for r in duck_items.values() if r.get("f")) > 300


def test_text_vectors_equal_the_node_encoder_within_int8_error(spark, tmp_path):
    d = subset(tmp_path, 24)
    out = tmp_path / "agg"
    rep = run_job(spark, "--model", str(SCI), "--data", str(d), "--out", str(out), "--encode", "--encode-partitions", "2")
    assert rep["textVectors"] == "float32" and rep["encoded"] == 24
    vecs = {r["item"]: np.asarray(r["text_vec"], dtype=np.float64) for r in pq.read_table(out / "items").to_pylist()}
    catalog_cli("--aggregates", str(out), "--model", str(SCI), "--out", str(tmp_path / "spark-pack"))
    catalog_cli("--data", str(d), "--model", str(SCI), "--out", str(tmp_path / "node-pack"))
    _, spark_items = read_pack(tmp_path / "spark-pack")
    _, node_items = read_pack(tmp_path / "node-pack")
    assert spark_items.keys() == node_items.keys() == vecs.keys()
    worst = 0.0
    for k, rec in node_items.items():
        # Spark's float vector against the Node encoder's int8 one: within half a quantization step (+ float noise).
        err = np.abs(vecs[k] - dequantize(rec))
        assert (err <= rec["s"] / 2 + 1e-6).all(), (k, float(err.max()), rec["s"])
        worst = max(worst, float(err.max() / rec["s"]))
        # Both packs' int8 codes: at most one step apart, and the lists and popularity the same.
        qa = np.frombuffer(base64.b64decode(spark_items[k]["t"]), dtype=np.int8).astype(int)
        qb = np.frombuffer(base64.b64decode(rec["t"]), dtype=np.int8).astype(int)
        assert np.abs(qa - qb).max() <= 1
        assert {x: v for x, v in spark_items[k].items() if x not in "ts"} == {x: v for x, v in rec.items() if x not in "ts"}
    assert worst <= 0.5 + 1e-3


def test_events_table_gives_the_histories_lists_and_the_threshold_holds(spark, tmp_path):
    # Histories over items "i00".."i05" (ids sort as their indices, so ties break alike in both inputs).
    hists = [[0, 1, 2], [0, 1, 3], [1, 0], [4, 5], [2, 1, 0, 4], [3, 3, 1]]
    ids = [f"i{i:02d}" for i in range(7)]
    d = tmp_path / "hist"
    d.mkdir()
    (d / "items.jsonl").write_text("".join(json.dumps({"item": i, "asin": a, "title": f"T {a}", "brand": None, "categories": []}) + "\n" for i, a in enumerate(ids)))
    (d / "valid.inter").write_text("u\th\tt\n" + "".join(f"{u}\t{' '.join(map(str, h))}\t0\n" for u, h in enumerate(hists)))
    ev = [{"shopper": f"s{u}", "item": ids[x], "time": 100 - 10 * len(h) + 10 * p} for u, h in enumerate(hists) for p, x in enumerate(h)]
    ev.append({"shopper": "s0", "item": "not-in-items", "time": 95})  # left out: the catalog does not hold it
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ev))
    (tmp_path / "items.jsonl").write_text("".join(json.dumps({"item": a, "title": f"T {a}", "categories": "Root > Aisle"}) + "\n" for a in ids))
    a = run_job(spark, "--model", str(GENERAL), "--data", str(d), "--out", str(tmp_path / "a"))
    b = run_job(spark, "--model", str(GENERAL), "--events", str(tmp_path / "events.jsonl"), "--items", str(tmp_path / "items.jsonl"), "--out", str(tmp_path / "b"))
    assert (a["users"], a["events"]) == (b["users"], b["events"]) == (6, 17)
    key = lambda r: (r["item"], r["rank"])
    la = sorted(pq.read_table(tmp_path / "a" / "neighbors").to_pylist(), key=key)
    lb = sorted(pq.read_table(tmp_path / "b" / "neighbors").to_pylist(), key=key)
    assert la == lb and la
    # i04–i05 (one shopper) and i03–i00 (one shopper) stay below the k-shopper threshold of 2.
    pairs = {(r["item"], r["neighbor"]) for r in la}
    assert ("i04", "i05") not in pairs and ("i00", "i03") not in pairs and ("i00", "i01") in pairs
    assert all(r["shoppers"] >= 2 for r in la)
    pa = {r["item"]: r["pop"] for r in pq.read_table(tmp_path / "a" / "items").to_pylist()}
    pb = {r["item"]: r["pop"] for r in pq.read_table(tmp_path / "b" / "items").to_pylist()}
    assert pa == pb and pa["i06"] == 0 and pa["i01"] == 5


def test_bad_tables_are_refused_with_the_column_named(spark, tmp_path):
    (tmp_path / "events.jsonl").write_text(json.dumps({"shopper": "s", "item": "a", "when": 1}) + "\n")
    (tmp_path / "items.jsonl").write_text(json.dumps({"item": "a", "title": "A"}) + "\n" + json.dumps({"item": "a", "title": "B"}) + "\n")
    with pytest.raises(sp.SparkPackError, match="time"):
        run_job(spark, "--model", str(GENERAL), "--events", str(tmp_path / "events.jsonl"), "--items", str(tmp_path / "items.jsonl"), "--out", str(tmp_path / "o"))
    (tmp_path / "events.jsonl").write_text(json.dumps({"shopper": "s", "item": "a", "time": 1}) + "\n")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "inpage-aggregates.json").write_text("{}")  # an earlier run's: it must not survive a failed one
    with pytest.raises(sp.SparkPackError, match="unique"):
        run_job(spark, "--model", str(GENERAL), "--events", str(tmp_path / "events.jsonl"), "--items", str(tmp_path / "items.jsonl"), "--out", str(tmp_path / "o"))
    assert not (tmp_path / "o" / "inpage-aggregates.json").exists()
    with pytest.raises(SystemExit):
        sp.parse_args(["--model", "m", "--out", "o", "--data", "d", "--events", "e"])
