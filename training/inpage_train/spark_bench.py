"""Times the Spark aggregation (spark_pack.py, local mode) on a data folder and samples the memory of its whole
process tree (the JVM, and Python workers when encoding): `npm run bench:catalog -- --spark` runs it on the
generated store next to DuckDB's figures. A benchmark, never part of `npm test`.

    python training/inpage_train/spark_bench.py --data <dir> --model <model dir> [--master local[2]] [--driver-memory 3g]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def tree_usage(pid: int) -> tuple[float, float]:
    """Resident memory (MB) and CPU seconds so far of a process and all its descendants, from /proc (Linux).
    (getrusage cannot see the JVM: pyspark never reaps it.)"""
    kids: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(parts[1]), int(parts[21])
            cpu[int(d)] = int(parts[11]) + int(parts[12])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
        rss[int(d)] = pages
    total, ticks, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        ticks += cpu.get(p, 0)
        todo.extend(kids.get(p, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20, ticks / os.sysconf("SC_CLK_TCK")


def shuffle_by_stage(log_dir: Path) -> dict:
    """Shuffle bytes/records written and disk spill per stage, from Spark's event log (its task-end events)."""
    out: dict = {}
    for f in (p for p in log_dir.rglob("*") if p.is_file() and not p.name.startswith("appstatus")):
        for line in f.open(errors="replace"):
            try:
                e = json.loads(line)
            except ValueError:  # a compressed or partial file
                continue
            if e.get("Event") != "SparkListenerTaskEnd" or "Task Metrics" not in e:
                continue
            m = e["Task Metrics"]
            w = m.get("Shuffle Write Metrics", {})
            s = out.setdefault(e["Stage ID"], {"bytes": 0, "records": 0, "spill": 0})
            s["bytes"] += w.get("Shuffle Bytes Written", 0)
            s["records"] += w.get("Shuffle Records Written", 0)
            s["spill"] += m.get("Disk Bytes Spilled", 0)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="3g")
    ap.add_argument("--partitions", type=int, default=0)
    ap.add_argument("--log", help="keep Spark's stderr here")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inpage-spark-bench-") as tmp:
        cmd = [sys.executable, str(HERE / "spark_pack.py"), "--master", a.master, "--driver-memory", a.driver_memory,
               "--model", a.model, "--data", a.data, "--out", f"{tmp}/out", "--local-dir", f"{tmp}/spark",
               "--event-log", f"{tmp}/events"]
        os.makedirs(f"{tmp}/events")
        if a.partitions:
            cmd += ["--partitions", str(a.partitions)]
        t0 = time.time()
        err = open(a.log or f"{tmp}/stderr.log", "w+")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        peak, cpu = [0.0], [0.0]

        def sample():
            while p.poll() is None:
                m, c = tree_usage(p.pid)
                peak[0], cpu[0] = max(peak[0], m), max(cpu[0], c)
                time.sleep(0.5)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        out, _ = p.communicate()
        th.join()
        wall = time.time() - t0
        if p.returncode != 0:
            err.seek(0)
            tail = [l for l in err.read().splitlines() if not l.startswith(("\tat ", "\t... "))][-40:]
            raise SystemExit(f"spark_pack.py failed ({p.returncode}):\n" + "\n".join(tail))
        report = json.loads(out.strip().splitlines()[-1])
        parquet = sum(f.stat().st_size for f in Path(f"{tmp}/out").rglob("*.parquet"))
        stages = shuffle_by_stage(Path(f"{tmp}/events"))
        big = max(stages.values(), key=lambda v: v["bytes"], default={"bytes": 0, "records": 0})
        print(json.dumps({"cpu_s_sampled": round(cpu[0]), "shuffle_write_total_mb": round(sum(v["bytes"] for v in stages.values()) / 2**20),
                          "largest_stage_shuffle_write": {"mb": round(big["bytes"] / 2**20), "records": big["records"]},
                          "spill_disk_mb": round(sum(v["spill"] for v in stages.values()) / 2**20),"wall_s": round(wall, 1), "job_s": report["seconds"], "peak_tree_rss_mb": round(peak[0]),
                          "master": a.master, "driver_memory": a.driver_memory, "users": report["users"],
                          "events": report["events"], "output_parquet_mb": round(parquet / 2**20, 1)}))


if __name__ == "__main__":
    main()
