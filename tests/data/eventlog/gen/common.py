"""Shared helpers for the event-log fixture generators (run with a pyspark venv's python).

Each generator runs a tiny local Spark application that follows loadbuild's tagging convention
(docs/metrics.md): a warm-up tagged `loadbuild-warmup`, then measured executions tagged
`loadbuild-exec-<k>`. It copies the event log exactly as Spark wrote it into the fixture folder and
writes `driver.json` with the client-side timings, as the workload driver will.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from pyspark.sql import SparkSession

FIXTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def session(app, event_dir, master="local[2]", conf=None):
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", event_dir)
        .config("spark.eventLog.logStageExecutorMetrics", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def write_input(spark, path, rows=200_000, files=4):
    """A small Parquet table with a skewed key, so reads report `Input Metrics.Bytes Read`."""
    (
        spark.range(0, rows, 1, files)
        .selectExpr(
            "id",
            "CAST(pow(id % 1000, 2) % 97 AS INT) AS zone",
            "CAST(id % 13 AS DOUBLE) * 1.5 AS fare",
        )
        .write.mode("overwrite")
        .parquet(path)
    )


def tag_for(k):
    return "loadbuild-warmup" if k == 0 else f"loadbuild-exec-{k}"


def run_classic(spark, query, executions=2):
    """Warm-up plus `executions` measured runs of `query(spark)` -> iterator of rows.

    Tags every job with the job tag and the job group/description of the convention, and
    times each measured run on the client: wall time, rows, and time to the first row.
    """
    sc = spark.sparkContext
    timings = []
    for k in range(0, executions + 1):
        phase = "warmup" if k == 0 else "measure"
        sc.setJobGroup("loadbuild", f"loadbuild exec={k} phase={phase}")
        sc.addJobTag(tag_for(k))
        try:
            timings.append(timed(k, lambda: query(spark)))
        finally:
            sc.removeJobTag(tag_for(k))
            # clearJobGroup() exists only from Spark 4.0; unsetting the properties works on both.
            for key in ("spark.jobGroup.id", "spark.job.description"):
                sc.setLocalProperty(key, None)
    return [t for t in timings if t["execution"] > 0]


def timed(k, rows_of):
    start = time.perf_counter()
    first, rows = None, 0
    for _ in rows_of():
        if first is None:
            first = time.perf_counter() - start
        rows += 1
    wall = time.perf_counter() - start
    return {"execution": k, "wall_s": round(wall, 6), "rows": rows, "first_result_s": round(first or wall, 6)}


def publish(name, event_dir, timings):
    """Moves the single log Spark wrote in `event_dir` into tests/data/eventlog/<name>/."""
    (entry,) = [e for e in os.listdir(event_dir) if not e.startswith(".")]
    dest = os.path.join(FIXTURES, name)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    src = os.path.join(event_dir, entry)
    if os.path.isdir(src):
        # Keep Spark's files, drop Hadoop's `.crc` side files (not part of the log).
        shutil.copytree(src, os.path.join(dest, entry), ignore=shutil.ignore_patterns(".*.crc"))
    else:
        shutil.copy2(src, os.path.join(dest, entry))
    with open(os.path.join(dest, "driver.json"), "w") as f:
        json.dump({"executions": timings, "run_retries": 0}, f, indent=2)
        f.write("\n")
    print(f"wrote {dest}", file=sys.stderr)


def scratch():
    return tempfile.mkdtemp(prefix="loadbuild-eventlog-")
