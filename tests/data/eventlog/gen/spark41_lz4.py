"""Spark 4.1 with the event log compressed by lz4, a codec loadbuild's parser does not read.

Used by the History Server test: the server's `/logs` hands out this log, the parser refuses
it (`unsupported event log codec`), and the metrics come from the REST fields instead. No
`expected.json`: Python's standard library cannot read Spark's lz4 stream either; the REST path
is checked against the event-log path on the other fixtures.
Run: /work/venvs/pyspark-4.1.1/bin/python tests/data/eventlog/gen/spark41_lz4.py
"""
import os

import common


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    spark = common.session("loadbuild-spark41-lz4", events, conf={"spark.eventLog.compression.codec": "lz4"})
    data = os.path.join(tmp, "trips")
    common.write_input(spark, data)

    def query(s):
        df = s.read.parquet(data).groupBy("zone").agg({"fare": "avg", "id": "max"})
        return df.toLocalIterator()

    timings = common.run_classic(spark, query)
    spark.stop()
    common.publish("spark41_lz4", events, timings)


if __name__ == "__main__":
    main()
