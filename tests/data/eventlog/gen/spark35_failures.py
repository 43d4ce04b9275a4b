"""Spark 3.5 job that fails and spills: warm-up + 2 measured executions, each with injected failures.

A Python UDF raises on the first attempt of even partitions (`local[2,4]` allows 4 attempts), and a
global window sort in one partition spills because `spark.shuffle.spill.numElementsForceSpillThreshold`
forces the sorter to spill every few thousand rows.
Run: /work/venvs/pyspark-3.5.7/bin/python tests/data/eventlog/gen/spark35_failures.py
"""
import os

from pyspark import TaskContext
from pyspark.sql import Window, functions as F
from pyspark.sql.types import LongType

import common


@F.udf(LongType())
def flaky(x):
    ctx = TaskContext.get()
    if ctx.attemptNumber() == 0 and ctx.partitionId() % 2 == 0:
        raise RuntimeError("loadbuild injected failure on first attempt")
    return x


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    conf = {
        "spark.shuffle.spill.numElementsForceSpillThreshold": "5000",
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.files.maxPartitionBytes": "1m",
    }
    spark = common.session("loadbuild-spark35-failures", events, master="local[2,4]", conf=conf)
    data = os.path.join(tmp, "trips")
    common.write_input(spark, data, rows=100_000)

    def query(s):
        ordered = Window.orderBy("fare", "id")
        df = (
            s.read.parquet(data)
            .withColumn("checked", flaky("id"))
            .withColumn("rn", F.row_number().over(ordered))
            .where("rn % 1000 = 0")
        )
        return df.toLocalIterator()

    timings = common.run_classic(spark, query)
    spark.stop()
    common.publish("spark35_failures", events, timings)


if __name__ == "__main__":
    main()
