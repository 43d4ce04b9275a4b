"""Spark 4.1 rolling event log forced to roll: several `events_<N>_<app>.zstd` files.

`spark.eventLog.rolling.maxFileSize` may not go below 2 MiB (of uncompressed events) in 4.1.1, so
each execution runs enough small tasks (a 600-partition range) to fill more than one file.
Run: /work/venvs/pyspark-4.1.1/bin/python tests/data/eventlog/gen/spark41_rolling.py
"""
import os

import common


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    conf = {
        "spark.eventLog.rolling.enabled": "true",
        "spark.eventLog.rolling.maxFileSize": "2m",
        "spark.sql.adaptive.enabled": "false",
    }
    spark = common.session("loadbuild-spark41-rolling", events, conf=conf)

    def query(s):
        df = s.range(0, 600_000, 1, 600).selectExpr("id % 50 AS k", "id").groupBy("k").count()
        return df.toLocalIterator()

    timings = common.run_classic(spark, query)
    spark.stop()
    common.publish("spark41_rolling", events, timings)


if __name__ == "__main__":
    main()
