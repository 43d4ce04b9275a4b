"""Spark 4.1 Connect: a local Spark Connect server and a client tagging its operations.

The client cannot set job groups; it calls `spark.addTag("loadbuild-exec-<k>")`, which the server
turns into an operation tag in the job's `spark.job.tags`. The server is started with
`spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer` and stopped with
SIGTERM so that Spark closes its event log.
Run: /work/venvs/pyspark-4.1.1/bin/python tests/data/eventlog/gen/spark41_connect.py
"""
import os
import signal
import socket
import subprocess
import sys
import time

import pyspark
from pyspark.sql import SparkSession

import common

PORT = 15099


def start_server(events, log):
    submit = os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit")
    confs = {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events,
        "spark.eventLog.logStageExecutorMetrics": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.connect.grpc.binding.port": str(PORT),
    }
    args = [submit, "--master", "local[2]", "--name", "loadbuild-spark41-connect"]
    for key, value in confs.items():
        args += ["--conf", f"{key}={value}"]
    args += ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


def wait_for_port(server, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"connect server exited with {server.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", PORT)) == 0:
                return
        time.sleep(1)
    sys.exit("connect server did not open its port")


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    data = os.path.join(tmp, "trips")
    with open(os.path.join(tmp, "server.log"), "w") as log:
        server = start_server(events, log)
        try:
            wait_for_port(server)
            spark = SparkSession.builder.remote(f"sc://127.0.0.1:{PORT}").getOrCreate()
            common.write_input(spark, data)
            timings = []
            for k in range(0, 3):
                spark.addTag(common.tag_for(k))
                try:
                    df = spark.read.parquet(data).groupBy("zone").agg({"fare": "sum"})
                    timings.append(common.timed(k, df.toLocalIterator))
                finally:
                    spark.removeTag(common.tag_for(k))
            spark.stop()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
    common.publish("spark41_connect", events, [t for t in timings if t["execution"] > 0])


if __name__ == "__main__":
    main()
