"""Spark 4.1 Connect, one server shared by two client sessions, as on the local backend.

Two clients run at the same time against one Spark Connect server, each with its own session,
and both tag their work `loadbuild-warmup` / `loadbuild-exec-<k>`: only the session id embedded
in `SparkConnect_SessionTag_User_<u>_Session_<uuid>_Tag_<tag>` tells their jobs apart. The server
writes one plain JSON-lines log (`spark.eventLog.compress=false`, rolling off), which is copied
while the server still runs, cut at its last complete line, exactly as the local run rule does
(docs/runs.md); the fixture is that `.inprogress` copy. `sessions.json` holds each client's
session id and timings. The server is stopped by its PID afterwards.
Run: /work/venvs/pyspark-4.1.1/bin/python tests/data/eventlog/gen/spark41_connect_shared.py
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pyspark
from pyspark.sql import SparkSession

import common

PORT = 15098
NAME = "spark41_connect_shared"


def start_server(events, log):
    submit = os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit")
    confs = {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events,
        "spark.eventLog.compress": "false",
        "spark.eventLog.rolling.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.connect.grpc.binding.port": str(PORT),
    }
    args = [submit, "--master", "local[2]", "--name", "loadbuild-spark41-connect-shared"]
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


def client(data, query, results, slot):
    """One cell's session: warm-up plus two measured executions, all tagged."""
    spark = SparkSession.builder.remote(f"sc://127.0.0.1:{PORT}").create()
    timings = []
    for k in range(0, 3):
        spark.addTag(common.tag_for(k))
        try:
            timings.append(common.timed(k, query(spark, data).toLocalIterator))
        finally:
            spark.removeTag(common.tag_for(k))
    results[slot] = {"connect_session_id": spark.session_id, "executions": [t for t in timings if t["execution"] > 0], "run_retries": 0}
    spark.stop()


def aggregate(spark, data):
    return spark.read.parquet(data).groupBy("zone").agg({"fare": "sum"})


def window(spark, data):
    return spark.read.parquet(data).selectExpr("zone", "fare", "rank() OVER (PARTITION BY zone ORDER BY fare, id) AS r").where("r <= 2")


def copy_in_progress(events, dest):
    """Copies the running server's log, cut at its last complete line (what the run rule does)."""
    (entry,) = [e for e in os.listdir(events) if not e.startswith(".")]
    assert entry.endswith(".inprogress"), f"the server still runs, its log is in progress: {entry}"
    with open(os.path.join(events, entry), "rb") as f:
        data = f.read()
    with open(os.path.join(dest, entry), "wb") as f:
        f.write(data[: data.rindex(b"\n") + 1])


def main():
    tmp = common.scratch()
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    data = os.path.join(tmp, "trips")
    dest = os.path.join(common.FIXTURES, NAME)
    with open(os.path.join(tmp, "server.log"), "w") as log:
        server = start_server(events, log)
        try:
            wait_for_port(server)
            setup = SparkSession.builder.remote(f"sc://127.0.0.1:{PORT}").create()
            common.write_input(setup, data)  # untagged: no session's metrics may count it
            setup.stop()
            results = [None, None]
            threads = [
                threading.Thread(target=client, args=(data, aggregate, results, 0)),
                threading.Thread(target=client, args=(data, window, results, 1)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if None in results:
                sys.exit("a client failed")
            time.sleep(2)  # let the server flush the last job's end events
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            copy_in_progress(events, dest)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
    with open(os.path.join(dest, "sessions.json"), "w") as f:
        json.dump({"sessions": results}, f, indent=2)
        f.write("\n")
    print(f"wrote {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
