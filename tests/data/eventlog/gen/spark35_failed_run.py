"""Spark 3.5 run that fails: the warm-up and execution 1 succeed, execution 2's job fails.

Execution 2 reads a row its UDF cannot handle; every attempt of that task raises (`local[2,2]`
allows 2), so the job fails and the driver stops, as the workload driver does: it writes
`result.json` with `status: failed` and the first lines of Spark's error (docs/runs.md) next to
`driver.json` (the timings of the executions that finished).
Run: /work/venvs/pyspark-3.5.7/bin/python tests/data/eventlog/gen/spark35_failed_run.py
"""
import json
import os

from pyspark.sql import functions as F
from pyspark.sql.types import LongType

import common

NAME = "spark35_failed_run"


@F.udf(LongType())
def strict(x):
    if x == 4242:
        raise ValueError(f"loadbuild injected failure: row {x} is not accepted")
    return x


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    spark = common.session("loadbuild-spark35-failed-run", events, master="local[2,2]")
    data = os.path.join(tmp, "trips")
    common.write_input(spark, data, rows=50_000)
    sc = spark.sparkContext
    timings, error = [], None
    for k in range(0, 3):
        sc.addJobTag(common.tag_for(k))
        try:
            df = spark.read.parquet(data)
            if k == 2:
                df = df.withColumn("id", strict("id"))
            query = df.groupBy("zone").agg({"fare": "sum", "id": "count"})
            timings.append(common.timed(k, query.toLocalIterator))
        except Exception as e:  # the driver's account of a failed run: the first lines of Spark's error
            error = "\n".join(str(e).strip().splitlines()[:3])
            break
        finally:
            sc.removeJobTag(common.tag_for(k))
    app_id = sc.applicationId
    spark.stop()
    assert error is not None, "execution 2 was meant to fail"
    measured = [t for t in timings if t["execution"] > 0]
    common.publish(NAME, events, measured)
    result = {
        "schema": 1,
        "cell": None,
        "op": "aggregate",
        "client": "airflow",
        "mode": "standalone",
        "spark_version": "3.5.7",
        "app_id": app_id,
        "connect_session_id": None,
        "status": "failed",
        "error": error,
        "repetitions": 2,
        "conf": {"spark.master": "local[2,2]"},
        "warmup": {k: v for k, v in timings[0].items() if k in ("wall_s", "rows")},
        "executions": measured,
        "write": None,
    }
    with open(os.path.join(common.FIXTURES, NAME, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
