"""A catalog pack's aggregates (and optionally its text vectors) on Spark, for stores whose logs outgrow one machine.

    spark-submit training/inpage_train/spark_pack.py --model <model dir> --out <dir> \
        (--data <eval folder> | --events <table> --items <table>) [--encode] [--partitions N]

The same definitions as catalog/aggregate.ts (DuckDB) and training/inpage_train/knn.py (the model's own):
    pop(i)    = interactions of i
    cu(a, b)  = distinct shoppers whose history holds a and b within `window` positions
    cw(a → b) = Σ gamma^(d − 1) over pairs with b d positions after a, + back × the same with b before a
    w(a → b)  = cw / (max(pop a, 1)^alpha · max(pop b, 1)^beta), only where cu ≥ minCount (the k-shopper
                threshold), the topN strongest per a (ties: the smaller item key first)
    next(a → b) = steps a → b (b right after a, b ≠ a) / all steps from a, only where ≥ minCount distinct
                shoppers made the step, the NEXT_TOP_N likeliest per a (ties: the smaller item key first)
The settings are read from the model's manifest, as the Node builder reads them, and recorded with the output;
`npm run catalog -- --aggregates <out>` refuses the output if they differ from the model's.

Output (docs/catalog-pack.md, "Aggregates made elsewhere"):
    <out>/items/*.parquet       item STRING, pop DOUBLE[, text_vec ARRAY<FLOAT> (--encode)]
    <out>/neighbors/*.parquet   item STRING, neighbor STRING, weight DOUBLE, shoppers BIGINT, rank INT
    <out>/next/*.parquet        item STRING, next STRING, weight DOUBLE, shoppers BIGINT, rank INT
    <out>/inpage-aggregates.json  the settings, counts and model they were made with (written last)

Self-contained (no import from inpage_train) so that `spark-submit` ships this one file to a cluster; its
executors need numpy, pandas, pyarrow, onnxruntime and tokenizers (training/requirements.txt pins them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

AGGREGATES_FORMAT = "inpage-aggregates"
AGGREGATES_FORMAT_VERSION = 1
RECORD_FILE = "inpage-aggregates.json"
# src/model/manifest.ts: DEFAULT_PAIR_WINDOW and KNN_TRAINING_DEFAULTS (an older model's manifest carries only
# training settings). A drift here cannot build a pack: the Node CLI compares the recorded settings to its own.
DEFAULT_PAIR_WINDOW = 50
KNN_TRAINING_DEFAULTS = {"minCount": 2, "gamma": 0.8, "back": 1.0, "alpha": 0.3, "beta": 0.1, "topN": 50}
NEIGHBOR_KEYS = ("minCount", "gamma", "back", "alpha", "beta", "topN", "window")
# catalog/aggregate.ts NEXT_TOP_N: next items kept per item (the Node CLI checks the recorded value against its own).
NEXT_TOP_N = 20


class SparkPackError(Exception):
    """Bad input to the Spark job (a missing column, a manifest without the settings)."""


def pack_settings(manifest: dict) -> dict:
    """The neighbour settings of a catalog pack for this model (src/model/manifest.ts packSettings)."""
    agg = manifest.get("aggregates")
    if agg:
        s = {"window": DEFAULT_PAIR_WINDOW, **agg["knn"]}
    else:
        st = (manifest.get("training") or {}).get("settings") or {}
        num = lambda k, d: st[k] if isinstance(st.get(k), (int, float)) and not isinstance(st.get(k), bool) else d
        s = {
            "minCount": num("knn_min_count", KNN_TRAINING_DEFAULTS["minCount"]),
            "gamma": num("knn_gamma", KNN_TRAINING_DEFAULTS["gamma"]),
            "back": KNN_TRAINING_DEFAULTS["back"],  # pipeline.py builds the shipped lists with back = 1.0
            "alpha": num("knn_alpha", KNN_TRAINING_DEFAULTS["alpha"]),
            "beta": num("knn_beta", KNN_TRAINING_DEFAULTS["beta"]),
            "topN": num("knn_top_n", KNN_TRAINING_DEFAULTS["topN"]),
            "window": DEFAULT_PAIR_WINDOW,
        }
    for k in NEIGHBOR_KEYS:
        v = s.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v != v:
            raise SparkPackError(f"manifest: aggregate setting {k} is {v!r}, not a number")
    for k in ("minCount", "topN", "window"):
        if int(s[k]) != s[k] or s[k] < 1:
            raise SparkPackError(f"manifest: aggregate setting {k} must be a positive whole number, got {s[k]!r}")
        s[k] = int(s[k])
    return {k: s[k] for k in NEIGHBOR_KEYS}


def _lit(x) -> str:
    # Spark reads 0.8 as a DECIMAL; D makes it the DOUBLE that DuckDB and numpy use.
    return f"{int(x)}" if isinstance(x, int) else f"{float(x)!r}D"


def neighbor_sql(s: dict) -> dict:
    """Spark SQL over a view ev(u, pos, item): catalog/aggregate.ts's statements, QUALIFY as a sub-query.
    cu is counted as rows of a per-(x, y, u) group: the same number as count(DISTINCT u), without Spark's
    Expand of a distinct aggregate. The topN are ranked by w as a float32 (see wkey)."""
    g, b, a, be = _lit(float(s["gamma"])), _lit(float(s["back"])), _lit(float(s["alpha"])), _lit(float(s["beta"]))
    # Ties (ranked by the smaller item key) must not hang on the order Spark's partitions summed cw in: equal
    # weights can differ in their last bits. Ranked by w as a float32 (knn.py's own precision), they tie as they should.
    wkey = "CAST(w AS FLOAT)"
    return {
        "pop": "SELECT item, CAST(count(*) AS DOUBLE) AS pop FROM ev GROUP BY item",
        "pairs": f"""
            WITH fwd AS (
              SELECT a.item AS x, b.item AS y, a.u AS u, b.pos - a.pos AS d
              FROM ev a JOIN ev b ON a.u = b.u AND b.pos > a.pos AND b.pos - a.pos <= {int(s['window'])}
              WHERE a.item <> b.item
            ), both_ways AS (
              -- each pair once from the join, then in both directions (a UNION ALL of fwd would run the join twice)
              SELECT u, inline(array(named_struct('x', x, 'y', y, 'f', pow({g}, d - 1)),
                                     named_struct('x', y, 'y', x, 'f', {b} * pow({g}, d - 1)))) FROM fwd
            ), per_shopper AS (
              SELECT x, y, u, sum(f) AS f FROM both_ways GROUP BY x, y, u
            )
            SELECT x, y, count(*) AS cu, sum(f) AS cw FROM per_shopper GROUP BY x, y""",
        "weights": f"""
            SELECT x, y, cu, w, rank FROM (
              SELECT x, y, cu, w, row_number() OVER (PARTITION BY x ORDER BY {wkey} DESC, y) AS rank FROM (
                SELECT p.x, p.y, p.cu,
                       p.cw / (pow(greatest(coalesce(px.pop, 0D), 1D), {a}) * pow(greatest(coalesce(py.pop, 0D), 1D), {be})) AS w
                FROM pairs p LEFT JOIN pop px ON px.item = p.x LEFT JOIN pop py ON py.item = p.y
                WHERE p.cu >= {int(s['minCount'])}))
            WHERE rank <= {int(s['topN'])}""",
        # One step: b right after a. w = steps a → b / all steps from a: the same total for every b of an a, so
        # ties are exact and the float key of the neighbour lists is not needed.
        "next": f"""
            WITH steps AS (
              SELECT a.item AS x, b.item AS y, a.u AS u
              FROM ev a JOIN ev b ON a.u = b.u AND b.pos = a.pos + 1
              WHERE a.item <> b.item
            ), per_shopper AS (
              SELECT x, y, u, count(*) AS n FROM steps GROUP BY x, y, u
            ), pairs AS (
              SELECT x, y, count(*) AS cu, sum(n) AS n FROM per_shopper GROUP BY x, y
            ), out_of AS (
              SELECT x, sum(n) AS total FROM pairs GROUP BY x
            )
            SELECT x, y, cu, w, rank FROM (
              SELECT x, y, cu, w, row_number() OVER (PARTITION BY x ORDER BY w DESC, y) AS rank FROM (
                SELECT p.x, p.y, p.cu, CAST(p.n AS DOUBLE) / CAST(o.total AS DOUBLE) AS w
                FROM pairs p JOIN out_of o ON o.x = p.x
                WHERE p.cu >= {int(s['minCount'])}))
            WHERE rank <= {NEXT_TOP_N}""",
    }


def build_text(title, categories, brand) -> str:
    """The item text the encoder reads (src/ranking/text.ts itemText; inpage_train.data.build_text)."""
    parts = []
    for p in (title, " ".join(categories if categories is not None else []), brand):
        if p is None:
            continue
        p = str(p).strip()
        if p:
            parts.append(p)
    return ". ".join(parts) + "."


# One encoder per Python worker process, made at its first batch.
_ENCODER: dict = {}


def _encoder(onnx_path: str, tokenizer_path: str, threads: int):
    key = (onnx_path, tokenizer_path)
    if key not in _ENCODER:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        tok = Tokenizer.from_file(tokenizer_path)
        tok.no_truncation()  # cut below exactly as src/model/model.ts does: first maxTokens − 1 ids + the last
        tok.no_padding()
        _ENCODER.clear()
        _ENCODER[key] = (ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"]), tok)
    return _ENCODER[key]


def encode_texts(texts, onnx_path: str, tokenizer_path: str, max_tokens: int, output: str, threads: int = 1):
    """Text vectors, one text per encoder run: int8 dynamic quantization scales activations by the whole
    batch, so a batch would make a vector depend on its batch-mates (src/model/model.ts encode)."""
    import numpy as np

    sess, tok = _encoder(onnx_path, tokenizer_path, threads)
    out = []
    for t in texts:
        ids = tok.encode(t).ids
        if len(ids) > max_tokens:
            ids = ids[: max_tokens - 1] + ids[-1:]
        x = np.asarray([ids], dtype=np.int64)
        v = sess.run([output], {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0]
        out.append(np.asarray(v, dtype=np.float32))
    return out


def _read_table(spark, path: str):
    """Parquet (a file or a folder of them), JSON lines (.json/.jsonl) or CSV with a header."""
    p = path.rstrip("/")
    if p.endswith((".json", ".jsonl")):
        return spark.read.json(path)
    if p.endswith(".csv"):
        return spark.read.option("header", True).option("inferSchema", True).csv(path)
    return spark.read.parquet(path)


def _need(df, cols, what):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SparkPackError(f"{what}: column(s) {', '.join(missing)} missing (has {', '.join(df.columns)})")


def load_inputs(spark, args):
    """Registers the views ev(u, pos, item key) and items(key, id, title, brand, categories)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    if args.data:
        # eval's format: items.jsonl (key = its `item` index) and valid.inter (the training histories), as
        # catalog/aggregate.ts reads them.
        items = spark.read.json(f"{args.data.rstrip('/')}/items.jsonl")
        _need(items, ["item"], "items.jsonl")
        col = lambda c: F.col(c) if c in items.columns else F.lit(None)
        items = items.select(
            F.col("item").cast("int").alias("key"),
            F.coalesce(col("asin").cast("string"), F.col("item").cast("string")).alias("id"),
            F.coalesce(col("title").cast("string"), F.lit("")).alias("title"),
            col("brand").cast("string").alias("brand"),
            col("categories").alias("categories"),
        )
        schema = StructType([StructField(n, StringType()) for n in ("u", "h", "target")])
        hist = (spark.read.option("sep", "\t").option("header", True).option("quote", "\u0000")
                .schema(schema).csv(f"{args.data.rstrip('/')}/valid.inter"))
        hist.createOrReplaceTempView("hist")
        ev = spark.sql("""
            SELECT u, p.pos + 1 AS pos, CAST(p.col AS INT) AS item
            FROM (SELECT u, coalesce(h, '') AS h FROM hist) LATERAL VIEW posexplode(split(trim(h), ' ')) p AS pos, col
            WHERE trim(h) <> ''""")
    else:
        # A warehouse's tables: events(shopper, item, time), items(item, title, brand, categories). Each
        # shopper's events ordered by time (ties: by item) give the positions; events of unknown items are left out.
        events, it = _read_table(spark, args.events), _read_table(spark, args.items)
        _need(events, ["shopper", "item", "time"], "events")
        _need(it, ["item", "title"], "items")
        col = lambda c: F.col(c) if c in it.columns else F.lit(None)
        cats = col("categories")
        if dict(it.dtypes).get("categories") == "string":  # 'Root > Child' or 'Root|Child', as eval convert reads it
            cats = F.filter(F.transform(F.split(F.col("categories"), r"\s*[>|]\s*"), F.trim), lambda c: c != "")
        items = it.select(
            F.col("item").cast("string").alias("key"),
            F.col("item").cast("string").alias("id"),
            F.coalesce(F.col("title").cast("string"), F.lit("")).alias("title"),
            col("brand").cast("string").alias("brand"),
            cats.alias("categories"),
        )
        events.select(F.col("shopper").cast("string").alias("u"), F.col("item").cast("string").alias("item"),
                      F.col("time")).createOrReplaceTempView("events_in")
        items.createOrReplaceTempView("items_keys")
        ev = spark.sql("""
            SELECT u, row_number() OVER (PARTITION BY u ORDER BY time, item) AS pos, item
            FROM events_in e LEFT SEMI JOIN items_keys k ON e.item = k.key""")
    dup = items.groupBy("id").count().where("count > 1").limit(3).collect()
    if dup:
        raise SparkPackError(f"items: ids must be unique ({', '.join(repr(r['id']) for r in dup)} repeat)")
    items.createOrReplaceTempView("items")
    ev.createOrReplaceTempView("ev")
    return items, ev


def _write_text(spark, path: str, text: str):
    """A small file next to the Parquet, through Hadoop's file system (local, HDFS, S3, GCS alike)."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    fs = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out = fs.create(p, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def _delete(spark, path: str):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(p, False)


def run(spark, args) -> dict:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, FloatType

    t0 = time.time()
    with open(f"{args.model.rstrip('/')}/manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    s = pack_settings(manifest)
    out = args.out.rstrip("/")
    # A previous run's record must not vouch for the Parquet this run is about to replace.
    _delete(spark, f"{out}/{RECORD_FILE}")
    items, ev = load_inputs(spark, args)
    if args.partitions:
        # Exactly N: adaptive execution would merge the join's partitions by their input size, but the pair join
        # multiplies its input (a shopper's L events make L·(L−1) rows), and one task would get them all.
        spark.conf.set("spark.sql.shuffle.partitions", str(args.partitions))
        spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    ev = ev.persist()
    ev.createOrReplaceTempView("ev")
    counts = spark.sql("SELECT count(DISTINCT u) AS users, count(*) AS events FROM ev").collect()[0]
    q = neighbor_sql(s)
    spark.sql(q["pop"]).createOrReplaceTempView("pop")
    spark.sql(q["pairs"]).createOrReplaceTempView("pairs")
    spark.sql(q["weights"]).createOrReplaceTempView("nb")
    spark.sql("""
        SELECT ix.id AS item, iy.id AS neighbor, nb.w AS weight, nb.cu AS shoppers, CAST(nb.rank AS INT) AS rank
        FROM nb JOIN items ix ON ix.key = nb.x JOIN items iy ON iy.key = nb.y""").write.mode("overwrite").parquet(f"{out}/neighbors")
    spark.sql(q["next"]).createOrReplaceTempView("nx")
    spark.sql("""
        SELECT ix.id AS item, iy.id AS next, nx.w AS weight, nx.cu AS shoppers, CAST(nx.rank AS INT) AS rank
        FROM nx JOIN items ix ON ix.key = nx.x JOIN items iy ON iy.key = nx.y""").write.mode("overwrite").parquet(f"{out}/next")
    t_agg = time.time()

    table = spark.sql("SELECT i.id AS item, coalesce(p.pop, 0D) AS pop, i.title, i.brand, i.categories "
                      "FROM items i LEFT JOIN pop p ON p.item = i.key")
    encoded = 0
    if args.encode:
        enc = manifest["encoder"]
        model = args.model.rstrip("/")
        spark.sparkContext.addFile(f"{model}/{enc['file']}")
        spark.sparkContext.addFile(f"{model}/tokenizer.json")
        onnx_name, max_tokens, output, threads = enc["file"], int(enc["maxTokens"]), enc["output"], args.encoder_threads

        from pyspark import cloudpickle
        from pyspark.sql.functions import pandas_udf

        # The UDF's helpers travel with it (by value), so executors need this file on no path of theirs.
        cloudpickle.register_pickle_by_value(sys.modules[__name__])

        @pandas_udf(ArrayType(FloatType()))
        def text_vec(title, brand, categories):
            import pandas as pd
            from pyspark import SparkFiles

            texts = [build_text(t, list(c) if c is not None else None, b) for t, b, c in zip(title, brand, categories)]
            return pd.Series(encode_texts(texts, SparkFiles.get(onnx_name), SparkFiles.get("tokenizer.json"), max_tokens, output, threads))

        if args.encode_partitions:
            table = table.repartition(args.encode_partitions)
        table = table.withColumn("text_vec", text_vec("title", "brand", "categories"))
        table = table.select("item", "pop", "text_vec")
    else:
        table = table.select("item", "pop")
    table.write.mode("overwrite").parquet(f"{out}/items")
    if args.encode:
        encoded = spark.read.parquet(f"{out}/items").count()
    t_end = time.time()

    record = {
        "format": AGGREGATES_FORMAT,
        "formatVersion": AGGREGATES_FORMAT_VERSION,
        "engine": f"spark {spark.version}",
        "model": f"{manifest['name']}@{manifest['version']}",
        "source": args.source or (f"{args.data.rstrip('/').split('/')[-1]}/valid.inter (training histories)" if args.data else f"events table {args.events}"),
        "users": int(counts["users"]),
        "events": int(counts["events"]),
        "neighbors": s,
        "next": {"minCount": s["minCount"], "topN": NEXT_TOP_N},
        "textVectors": "float32" if args.encode else "none",
        "dims": {"text": int(manifest["dims"]["text"])},
    }
    # Written last: a reader that finds it knows the Parquet beside it is complete.
    _write_text(spark, f"{out}/{RECORD_FILE}", json.dumps(record, indent=1) + "\n")
    spark.catalog.clearCache()
    return {**record, "seconds": {"aggregate": round(t_agg - t0, 1), "encode_and_items": round(t_end - t_agg, 1), "total": round(t_end - t0, 1)}, "encoded": encoded}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model folder (manifest.json: the aggregate settings, the encoder)")
    p.add_argument("--out", required=True, help="output folder (local, hdfs://, s3a://, gs://)")
    p.add_argument("--data", help="eval's format: items.jsonl + valid.inter (the training histories)")
    p.add_argument("--events", help="events table (Parquet folder, .csv or .jsonl): shopper, item, time")
    p.add_argument("--items", help="items table (Parquet folder, .csv or .jsonl): item, title[, brand, categories]")
    p.add_argument("--encode", action="store_true", help="text vectors with the model's encoder, in Spark tasks")
    p.add_argument("--encoder-threads", type=int, default=1, help="onnxruntime threads per task (default 1: one task per core)")
    p.add_argument("--encode-partitions", type=int, default=0, help="spread the items over this many encoding tasks")
    p.add_argument("--partitions", type=int, default=0, help="spark.sql.shuffle.partitions for the pair join")
    p.add_argument("--source", help="what the aggregates were computed from (recorded; default from the inputs)")
    p.add_argument("--master", help="for a run without spark-submit, e.g. local[2]")
    p.add_argument("--driver-memory", help="with --master: the driver's heap (spark-submit's --driver-memory)")
    p.add_argument("--local-dir", help="with --master: Spark's scratch folder (shuffle and spill files)")
    p.add_argument("--event-log", help="with --master: write Spark's event log here (task metrics: shuffle bytes)")
    a = p.parse_args(argv)
    if bool(a.data) == bool(a.events or a.items):
        p.error("give --data, or --events and --items")
    if not a.data and not (a.events and a.items):
        p.error("--events and --items go together")
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from pyspark.sql import SparkSession

    # Python workers (the encoder UDF) run this interpreter, with its numpy/pyarrow/onnxruntime, unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = SparkSession.builder.appName("inpage-catalog-aggregates")
    if args.master:
        b = b.master(args.master).config("spark.ui.showConsoleProgress", "false")
        if args.driver_memory:
            b = b.config("spark.driver.memory", args.driver_memory)
        if args.local_dir:
            b = b.config("spark.local.dir", args.local_dir)
        if args.event_log:
            b = b.config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", args.event_log).config("spark.eventLog.compress", "false")
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        report = run(spark, args)
    finally:
        spark.stop()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
