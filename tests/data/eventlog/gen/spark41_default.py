"""Spark 4.1 with default event-log settings: warm-up + 2 measured aggregations.

Spark 4 writes a rolling directory `eventlog_v2_<app>/events_1_<app>.zstd` by default
(`spark.eventLog.rolling.enabled` and zstd compression are on); nothing here overrides that.
Run: /work/venvs/pyspark-4.1.1/bin/python tests/data/eventlog/gen/spark41_default.py
"""
import os

import common


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    spark = common.session("loadbuild-spark41-default", events)
    data = os.path.join(tmp, "trips")
    common.write_input(spark, data)

    def query(s):
        df = s.read.parquet(data).groupBy("zone").agg({"fare": "avg", "id": "max"})
        return df.toLocalIterator()

    timings = common.run_classic(spark, query)
    spark.stop()
    common.publish("spark41_default", events, timings)


if __name__ == "__main__":
    main()
