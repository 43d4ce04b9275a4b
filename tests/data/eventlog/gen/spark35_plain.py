"""Spark 3.5 default event log (one plain JSON-lines file): warm-up + 2 measured aggregations.

An untagged count runs first, so attribution has a job to leave out.
Run: /work/venvs/pyspark-3.5.7/bin/python tests/data/eventlog/gen/spark35_plain.py
"""
import os

import common


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    spark = common.session("loadbuild-spark35-plain", events)
    data = os.path.join(tmp, "trips")
    common.write_input(spark, data)
    spark.read.parquet(data).count()  # untagged: must not count towards any execution

    def query(s):
        df = s.read.parquet(data).groupBy("zone").agg({"fare": "sum", "id": "count"})
        return df.toLocalIterator()

    timings = common.run_classic(spark, query)
    spark.stop()
    common.publish("spark35_plain", events, timings)


if __name__ == "__main__":
    main()
