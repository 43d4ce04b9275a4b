"""Spark 3.5 on a local standalone cluster (`local-cluster[2,1,1024]`) that loses an executor.

In measured execution 1, the first attempt of partition 0 SIGKILLs its own executor JVM (the
parent of the PySpark daemon that forked the Python worker), so the log holds a real
`SparkListenerExecutorRemoved` and `ExecutorLostFailure` tasks; the worker starts a new executor
and the job succeeds on retry.
Run: /work/venvs/pyspark-3.5.7/bin/python tests/data/eventlog/gen/spark35_executor_lost.py
"""
import os
import signal

from pyspark import TaskContext
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

import common

MARKER = "/tmp/loadbuild-executor-lost-done"


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@F.udf(LongType())
def kill_executor_once(x):
    ctx = TaskContext.get()
    if ctx.partitionId() == 0 and ctx.attemptNumber() == 0 and not os.path.exists(MARKER):
        open(MARKER, "w").close()
        daemon = os.getppid()
        os.kill(parent_of(daemon), signal.SIGKILL)
    return x


def main():
    if os.path.exists(MARKER):
        os.remove(MARKER)
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    conf = {"spark.task.maxFailures": "4", "spark.sql.adaptive.enabled": "false"}
    spark = common.session("loadbuild-spark35-executor-lost", events, "local-cluster[2,1,1024]", conf)
    data = os.path.join(tmp, "trips")
    common.write_input(spark, data, rows=50_000)
    runs = {"n": 0}

    def query(s):
        runs["n"] += 1
        df = s.read.parquet(data)
        if runs["n"] == 2:  # measured execution 1 (run 1 is the warm-up)
            df = df.where(kill_executor_once("id") >= 0)  # used, so not pruned
        return df.groupBy("zone").count().toLocalIterator()

    timings = common.run_classic(spark, query)
    spark.stop()
    common.publish("spark35_executor_lost", events, timings)


if __name__ == "__main__":
    main()
