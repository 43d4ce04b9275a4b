#!/usr/bin/env python3
"""loadbuild's workload driver: one Spark application per matrix cell, on any backend.

It registers the dataset's `trips` and `zones` views, runs one SQL file once as a warm-up and then
N measured times in the same application, tags every execution's jobs as docs/metrics.md says,
and writes OUT/result.json exactly as docs/runs.md says, plus the application's event log in
OUT/eventlog/. Classic PySpark (`--master`, run directly or under spark-submit) and Spark Connect
(`--remote`) share every step except the session, the tagging and where the event log comes from.
A Spark failure is written down as `status: failed` with Spark's error and exits 1: the numbers
in result.json are only ever what was measured. See rules/workloads/README.md.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback

RESULT_SCHEMA = 1
OPS = ("read", "aggregate", "join", "window", "write")
WARMUP_TAG = "loadbuild-warmup"
# A tag the metrics parser ignores: on Connect, the driver runs one tiny job under it after its
# last execution; once that job is in the server's event log, every earlier event of this
# session is too (Spark's listener bus delivers events in order).
BARRIER_TAG = "loadbuild-eventlog-barrier"
# Spark's default `spark.redaction.regex`: such values never reach result.json.
SECRET_KEY = re.compile(r"(?i)secret|password|token|access[.]?key")
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input to the driver (not a Spark failure); exits 2."""


class Terminated(Exception):
    """SIGTERM (e.g. the run's timeout): recorded as a failure, the application still stopped."""


def on_sigterm(signum, _frame):
    raise Terminated(f"terminated by signal {signum} before the run finished")


def execution_tag(k):
    return WARMUP_TAG if k == 0 else f"loadbuild-exec-{k}"


# ---------------------------------------------------------------------------------------------
# Arguments


def conf_pair(text):
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"`{text}` is not KEY=VALUE (e.g. spark.executor.memory=2g)")
    return key.strip(), value


def parser(prog="driver.py"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run one loadbuild workload (warm-up + N measured executions of a SQL file) "
        "in one Spark application and write OUT/result.json and OUT/eventlog/.",
        epilog="Exit status: 0 succeeded, 1 Spark (or event-log) failure recorded in result.json, "
        "2 bad arguments or input. See rules/workloads/README.md.",
    )
    p.add_argument("--cell", required=True, help="the matrix cell id, e.g. 411-airflow-standalone-none-read-1gb")
    p.add_argument("--op", required=True, choices=OPS, help="the workload")
    p.add_argument("--sql", required=True, metavar="FILE", help="the workload's SQL file (rules/workloads/OP.sql)")
    p.add_argument("--data", required=True, metavar="DATASET_DIR", help="dataset root holding trips/ and zones/ (a local path or a URI Spark can read)")
    p.add_argument("--reps", required=True, type=int, metavar="N", help="measured executions after the warm-up (>= 1)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory: result.json and eventlog/ are written here")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--master", metavar="URL", help="classic PySpark: local[N], spark://HOST:PORT, …")
    target.add_argument("--remote", metavar="URL", help="Spark Connect: sc://HOST:PORT")
    p.add_argument(
        "--event-log-dir",
        required=True,
        metavar="DIR",
        help="classic: where this application logs (spark.eventLog.dir is set to it); "
        "connect: the server's spark.eventLog.dir (a plain, non-rolling log is required)",
    )
    p.add_argument("--conf", action="append", default=[], type=conf_pair, metavar="KEY=VALUE", help="extra Spark configuration (repeatable); on Connect, set on the session")
    p.add_argument("--client", choices=("airflow", "jupyter"), default="airflow", help="how the cell launches the driver, recorded in result.json (notebook.py passes jupyter)")
    p.add_argument("--jdbc-url", help="write op: jdbc:postgresql://HOST:PORT/DB")
    p.add_argument("--jdbc-user", help="write op: database user")
    p.add_argument("--jdbc-password-env", metavar="VAR", help="write op: name of the environment variable holding the password")
    p.add_argument("--jdbc-batchsize", type=int, default=10000, metavar="ROWS", help="write op: rows per JDBC batch insert (default 10000)")
    p.add_argument("--executors", type=int, default=0, metavar="N", help="classic: wait until N executors have registered before the warm-up (default 0: do not wait)")
    p.add_argument("--executor-wait", type=float, default=300.0, metavar="SECONDS", help="classic: longest wait for --executors (default 300)")
    p.add_argument("--tables", metavar="CATALOG.NAMESPACE", help="read the dataset's Iceberg tables NAMESPACE.trips and NAMESPACE.zones (made by tables.py) instead of its Parquet")
    p.add_argument("--event-log-wait", type=float, default=300.0, metavar="SECONDS", help="connect: longest wait for this session's jobs to end in the server's event log (default 300)")
    return p


def check_args(args):
    """Checks that need no Spark; raises UsageError naming the argument and what to do."""
    if args.reps < 1:
        raise UsageError(f"--reps {args.reps}: give at least 1 measured execution")
    if args.executors < 0:
        raise UsageError(f"--executors {args.executors}: give 0 (no wait) or the number of executors to wait for")
    if args.executors > 0 and args.remote is not None:
        raise UsageError("--executors: a Connect server owns its executors; drop --executors with --remote")
    if args.tables is not None and args.tables.count(".") != 1:
        raise UsageError(f"--tables `{args.tables}`: give CATALOG.NAMESPACE, e.g. lb.ds_1gb")
    if args.remote is not None and not args.remote.startswith("sc://"):
        raise UsageError(f"--remote `{args.remote}`: a Spark Connect URL starts with sc:// (e.g. sc://127.0.0.1:15002)")
    if not os.path.isfile(args.sql):
        raise UsageError(f"--sql `{args.sql}`: no such file")
    if not is_uri(args.data):
        for part in ("trips", os.path.join("zones", "taxi_zone_lookup.parquet")):
            if not os.path.exists(os.path.join(args.data, part)):
                raise UsageError(f"--data `{args.data}`: `{part}` is missing; generate a dataset with `loadbuild data generate --size 16MiB --out DIR`")
    if args.remote is not None:
        # A Connect client has no JVM: it follows the server's log with Python's file calls.
        if is_uri(args.event_log_dir) and not args.event_log_dir.startswith("file:"):
            raise UsageError(
                f"--event-log-dir `{args.event_log_dir}`: with --remote, the driver follows the Connect server's log "
                "while the server runs, which needs the server's local spark.eventLog.dir (an object store makes the "
                "log readable only once the server stops)"
            )
        if is_uri(args.out) and not args.out.startswith("file:"):
            raise UsageError(f"--out `{args.out}`: with --remote, give a local directory (a Connect client writes files with Python)")
    for key, _ in args.conf:
        if key in ("spark.eventLog.enabled", "spark.eventLog.dir"):
            raise UsageError(f"--conf {key}: set by the driver from --event-log-dir; drop it")
    if args.op == "write":
        missing = [f"--{n}" for n in ("jdbc-url", "jdbc-user", "jdbc-password-env") if getattr(args, n.replace("-", "_")) is None]
        if missing:
            raise UsageError(f"--op write needs {', '.join(missing)}")
        if not args.jdbc_url.startswith("jdbc:postgresql:"):
            raise UsageError(f"--jdbc-url `{args.jdbc_url}`: expected jdbc:postgresql://HOST:PORT/DB")
        if os.environ.get(args.jdbc_password_env) is None:
            raise UsageError(f"--jdbc-password-env {args.jdbc_password_env}: that environment variable is not set")
        if args.jdbc_batchsize < 1:
            raise UsageError(f"--jdbc-batchsize {args.jdbc_batchsize}: give at least 1")


def declared_operators(path):
    """The operators the workload's physical plan must contain: every `-- plan: A, B` line of its
    SQL file (names as Spark's sparkPlanInfo gives them). The metrics step checks them against the
    event log's plan of every measured execution (docs/methodology.md)."""
    ops = []
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*--\s*plan:(.*)$", line)
            if m:
                ops += [op.strip() for op in m.group(1).split(",") if op.strip()]
    return ops


def is_uri(path):
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", path) is not None


def local_dir(path):
    """`/x`, `x`, `file:/x` or `file:///x` → the absolute local path."""
    return "/" + path[len("file:"):].lstrip("/") if path.startswith("file:") else os.path.abspath(path)


def join(base, *parts):
    """A path or URI under `base`."""
    return "/".join([base.rstrip("/"), *parts])


def is_log_of(name, app_id):
    """Is `name`, in an event-log directory, the log of `app_id` (plain, compressed, in progress or rolling)?"""
    return name == app_id or name.startswith(app_id + ".") or name == f"eventlog_v2_{app_id}"


class LocalFiles:
    """Files on this machine, by Python's own calls."""

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def copy_log(self, event_dir, app_id, dest):
        names = [n for n in os.listdir(event_dir) if is_log_of(n, app_id)]
        if not names:
            raise RuntimeError(f"Spark wrote no event log for `{app_id}` in `{event_dir}`")
        fresh_dir(dest)
        for name in names:
            src = os.path.join(event_dir, name)
            if os.path.isdir(src):
                # Keep Spark's files as written; Hadoop's `.crc` side files are not part of the log.
                shutil.copytree(src, os.path.join(dest, name), ignore=shutil.ignore_patterns(".*.crc"))
            else:
                shutil.copy2(src, os.path.join(dest, name))


def make_hadoop_dir(uri, conf):
    """Makes a directory under a Hadoop URI before any SparkContext exists, through the JVM the
    session will use, configured as Spark configures its own file systems (spark-defaults,
    `spark.hadoop.*` from `conf`)."""
    from pyspark import SparkConf, SparkContext

    # Launches the JVM with the session's conf (packages, driver options), as getOrCreate would;
    # under spark-submit the JVM already runs and is reused.
    SparkContext._ensure_initialized(conf=SparkConf(loadDefaults=False).setAll(list(conf.items())))
    jvm = SparkContext._jvm
    spark_conf = jvm.org.apache.spark.SparkConf(True)
    for key, value in conf.items():
        spark_conf.set(key, value)
    hadoop_conf = jvm.org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(spark_conf)
    path = jvm.org.apache.hadoop.fs.Path(uri)
    if not path.getFileSystem(hadoop_conf).mkdirs(path):
        raise RuntimeError(f"could not make the event-log directory `{uri}`")


class HadoopFiles:
    """Files under Hadoop URIs (`s3a://bucket/…`, `hdfs://…`, `file:///…`), through the classic
    session's JVM: the file systems Spark itself writes the event log with, configured the same
    way (`spark.hadoop.*`, credentials from the environment). Usable after `spark.stop()`."""

    def __init__(self, sc):
        self.jvm = sc._jvm
        self.conf = sc._jsc.hadoopConfiguration()

    def _fs(self, uri):
        path = self.jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(self.conf)
        fs.setWriteChecksum(False)  # no `.crc` side files beside what the driver writes
        return fs, path

    def write(self, uri, data):
        # An object store's create is atomic on close; elsewhere write beside, then rename.
        fs, path = self._fs(uri)
        tmp = self.jvm.org.apache.hadoop.fs.Path(path.getParent(), "." + path.getName() + ".tmp")
        stream = fs.create(tmp, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()
        fs.delete(path, False)
        if not fs.rename(tmp, path):
            raise RuntimeError(f"could not rename `{tmp.toString()}` to `{uri}`")

    def copy_log(self, event_dir, app_id, dest):
        src_fs, src_dir = self._fs(event_dir)
        dst_fs, dst = self._fs(dest)
        entries = [s.getPath() for s in src_fs.listStatus(src_dir) if is_log_of(s.getPath().getName(), app_id)]
        if not entries:
            raise RuntimeError(f"Spark wrote no event log for `{app_id}` in `{event_dir}`")
        dst_fs.delete(dst, True)
        dst_fs.mkdirs(dst)
        for src in entries:
            self._copy(src_fs, src, dst_fs, self.jvm.org.apache.hadoop.fs.Path(dst, src.getName()))

    def _copy(self, src_fs, src, dst_fs, dst):
        if src_fs.getFileStatus(src).isDirectory():
            dst_fs.mkdirs(dst)
            for s in src_fs.listStatus(src):
                if not s.getPath().getName().endswith(".crc"):
                    self._copy(src_fs, s.getPath(), dst_fs, self.jvm.org.apache.hadoop.fs.Path(dst, s.getPath().getName()))
        elif not self.jvm.org.apache.hadoop.fs.FileUtil.copy(src_fs, src, dst_fs, dst, False, True, self.conf):
            raise RuntimeError(f"could not copy `{src.toString()}` to `{dst.toString()}`")


def mode_of(args):
    if args.remote is not None:
        return "connect"
    if args.master.startswith("spark://"):
        return "standalone"
    if args.master.startswith("k8s://"):
        return "k8s"
    return args.master.split("[", 1)[0]


def on_loopback(master):
    return master.startswith("local") or re.match(r"^spark://(127\.0\.0\.1|localhost)(:\d+)?$", master) is not None


def table_name(cell):
    """PostgreSQL table for a cell: `lb_<cell>` in [a-z0-9_], ≤ 63 bytes, distinct per cell."""
    name = "lb_" + re.sub(r"[^a-z0-9]", "_", cell.lower())
    if len(name) > 63 or name != "lb_" + cell.lower():
        # Folding `-` and `.` to `_` (or cutting) could make two cells collide: add a digest.
        digest = hashlib.sha256(cell.encode()).hexdigest()[:10]
        name = name[: 63 - 11] + "_" + digest
    return name


def redacted(conf):
    return {k: ("*********(redacted)" if SECRET_KEY.search(k) else v) for k, v in sorted(conf.items())}


def first_lines(error, n=20):
    text = str(error).strip() or repr(error)
    lines = text.splitlines()
    return "\n".join(lines[:n]) + ("\n…" if len(lines) > n else "")


# ---------------------------------------------------------------------------------------------
# Sessions: the only places classic and Connect differ


class Classic:
    """A classic PySpark application (local, standalone, k8s): this process is the Spark driver."""

    def __init__(self, args):
        from pyspark.sql import SparkSession

        # Plain paths are written with Python; a URI anywhere (s3a://… on a cluster) puts both
        # the event log and OUT through Hadoop's file systems.
        self.hadoop = is_uri(args.event_log_dir) or is_uri(args.out)
        self.event_dir = args.event_log_dir if is_uri(args.event_log_dir) else os.path.abspath(args.event_log_dir)
        conf = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
        if on_loopback(args.master):
            # Everything runs on this machine: the driver listens on loopback only.
            conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
        conf.update(dict(args.conf))
        conf.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": self.event_dir})
        # Spark refuses to start when the log directory is missing (on an object store, until
        # something is written under the prefix): make it first, with Spark's own Hadoop setup.
        if self.hadoop:
            make_hadoop_dir(self.event_dir, conf)
        else:
            os.makedirs(self.event_dir, exist_ok=True)
        builder = SparkSession.builder.master(args.master).appName(f"loadbuild-{args.cell}")
        for key, value in conf.items():
            builder = builder.config(key, value)
        self.spark = builder.getOrCreate()
        self.sc = self.spark.sparkContext
        self.app_id = self.sc.applicationId
        self.files = HadoopFiles(self.sc) if self.hadoop else LocalFiles()

    def session_id(self):
        return None

    def conf(self):
        return dict(self.sc.getConf().getAll())

    def tag(self, k):
        phase = "warmup" if k == 0 else "measure"
        self.sc.setJobGroup("loadbuild", f"loadbuild exec={k} phase={phase}")
        self.sc.addJobTag(execution_tag(k))

    def untag(self, k):
        self.sc.removeJobTag(execution_tag(k))
        # clearJobGroup() exists only from Spark 4.0; unsetting the properties works on both.
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
            self.sc.setLocalProperty(key, None)

    def finish(self, out, wait_s):
        """Stops the application (which closes its event log) and copies the log into OUT/eventlog/."""
        self.spark.stop()
        self.files.copy_log(self.event_dir, self.app_id, join(out, "eventlog"))


class Connect:
    """A Spark Connect session on a (possibly shared) server; the server owns the event log."""

    def __init__(self, args):
        from pyspark.sql import SparkSession

        self.event_dir = local_dir(args.event_log_dir)
        self.files = LocalFiles()
        self.spark = SparkSession.builder.remote(args.remote).getOrCreate()
        for key, value in args.conf:
            self.spark.conf.set(key, value)
        self.app_id = self.spark.conf.get("spark.app.id")
        self.sid = self.spark.session_id

    def session_id(self):
        return self.sid

    def conf(self):
        return dict(self.spark.conf.getAll)

    def tag(self, k):
        self.spark.addTag(execution_tag(k))

    def untag(self, k):
        self.spark.removeTag(execution_tag(k))

    def finish(self, out, wait_s):
        """Waits until the server's log holds the end of every job of this session, copies it."""
        path = self.log_path()
        self.spark.addTag(BARRIER_TAG)
        try:
            self.spark.range(1).write.format("noop").mode("overwrite").save()
        finally:
            self.spark.removeTag(BARRIER_TAG)
        self.spark.stop()
        cut = wait_for_session_jobs(path, self.sid, wait_s)
        dest = fresh_dir(os.path.join(local_dir(out), "eventlog"))
        name = os.path.basename(path)
        name = name[: -len(".inprogress")] if name.endswith(".inprogress") else name
        with open(path, "rb") as src, open(os.path.join(dest, name), "wb") as dst:
            copy_prefix(src, dst, cut)

    def log_path(self):
        rolling = os.path.join(self.event_dir, f"eventlog_v2_{self.app_id}")
        if os.path.isdir(rolling):
            raise RuntimeError(
                f"the Connect server `{self.app_id}` writes a rolling event log (`{rolling}`); start it with "
                "spark.eventLog.rolling.enabled=false and spark.eventLog.compress=false so the driver can follow it"
            )
        for name in (self.app_id + ".inprogress", self.app_id):
            if os.path.isfile(os.path.join(self.event_dir, name)):
                return os.path.join(self.event_dir, name)
        raise RuntimeError(
            f"no event log of the Connect server `{self.app_id}` in `{self.event_dir}`; pass the server's "
            "spark.eventLog.dir as --event-log-dir (and start it with spark.eventLog.compress=false)"
        )


def wait_for_session_jobs(path, session_id, wait_s):
    """Polls the server's JSON-lines log until the barrier job of `session_id` has started and every
    job of the session that started has ended; returns the byte length of the complete lines read."""
    marker = f"_Session_{session_id}_"
    barrier = f"{marker}Tag_{BARRIER_TAG}"
    started, ended, barrier_seen = set(), set(), False
    offset, pending = 0, b""
    deadline = time.monotonic() + wait_s
    while True:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
        offset += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()  # a partial last line waits for the next poll
        for line in lines:
            if b'"Event":"SparkListenerJob' not in line:
                continue
            event = json.loads(line)
            if event.get("Event") == "SparkListenerJobStart":
                tags = (event.get("Properties") or {}).get("spark.job.tags") or ""
                if marker in tags:
                    started.add(event["Job ID"])
                    barrier_seen = barrier_seen or barrier in tags
            elif event.get("Event") == "SparkListenerJobEnd":
                ended.add(event["Job ID"])
        if barrier_seen and started <= ended:
            return offset - len(pending)
        if time.monotonic() > deadline:
            open_jobs = sorted(started - ended)
            raise RuntimeError(
                f"waited {wait_s:.0f} s for the Connect server's event log `{path}`: "
                + (f"jobs {open_jobs} of session {session_id} have not ended" if barrier_seen else f"session {session_id}'s last job has not appeared")
            )
        time.sleep(0.2)


def copy_prefix(src, dst, length):
    while length > 0:
        block = src.read(min(length, 1 << 20))
        if not block:
            raise RuntimeError("the event log shrank while it was being copied")
        dst.write(block)
        length -= len(block)


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


# ---------------------------------------------------------------------------------------------
# Sinks: where an execution's result goes


def observed(df, k):
    """`df` with a row counter: the sink's action fills the observation, nothing reaches the client."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    observation = Observation(f"loadbuild_rows_{k}")
    return df.observe(observation, F.count(F.lit(1)).alias("rows")), observation


class NoopSink:
    """Spark's `noop` sink: the whole result is computed and dropped."""

    def __init__(self, spark):
        self.spark = spark

    def prepare(self, query):
        pass

    def write(self, df, k):
        df, observation = observed(df, k)
        df.write.format("noop").mode("overwrite").save()
        return observation

    def summary(self, rows):
        return None


class JdbcSink:
    """PostgreSQL over JDBC: the table is created from the result's schema before the warm-up;
    each execution truncates it and inserts its result in batches; at the end the rows are
    counted back from the table and must equal the rows the last execution wrote."""

    def __init__(self, spark, args):
        self.spark = spark
        self.url = args.jdbc_url
        self.table = table_name(args.cell)
        self.batchsize = args.jdbc_batchsize
        self.props = {
            "user": args.jdbc_user,
            "password": os.environ[args.jdbc_password_env],
            "driver": "org.postgresql.Driver",
        }

    def prepare(self, query):
        df = query()
        # `overwrite` drops a table left by an earlier run of this cell and creates it anew from
        # the result's schema (Spark's PostgreSQL types, NOT NULL where the column is).
        empty = self.spark.createDataFrame([], df.schema)
        empty.write.jdbc(self.url, self.table, mode="overwrite", properties=self.props)
        landed = self.spark.read.jdbc(self.url, self.table, properties=self.props).columns
        if landed != df.columns:
            raise RuntimeError(f"table `{self.table}` has columns {landed}, the query yields {df.columns}")

    def write(self, df, k):
        df, observation = observed(df, k)
        (
            df.write.mode("overwrite")
            .option("truncate", "true")  # keep the table created by prepare(), empty it
            .option("batchsize", str(self.batchsize))
            .jdbc(self.url, self.table, properties=self.props)
        )
        return observation

    def summary(self, rows):
        # Untagged: this read-back belongs to no execution.
        query = f"SELECT count(*) AS n FROM {self.table}"
        reader = self.spark.read.format("jdbc").option("url", self.url).option("query", query)
        for key, value in self.props.items():
            reader = reader.option(key, value)
        verified = int(reader.load().collect()[0][0])
        if verified != rows:
            raise RuntimeError(f"table `{self.table}` holds {verified} rows after the last execution wrote {rows}")
        return {"table": self.table, "rows_written": rows, "rows_verified": verified}


# ---------------------------------------------------------------------------------------------
# The run


def run(args, result):
    """Everything that talks to Spark. Fills `result` as it goes, so a failure keeps what was measured.
    Returns whether the run succeeded, and what writes files to OUT (None: no session came up)."""
    with open(args.sql) as f:
        sql = f.read().strip().rstrip(";")
    session = None
    try:
        started = time.perf_counter()
        session = Connect(args) if args.remote is not None else Classic(args)
        spark = session.spark
        print(f"loadbuild: {args.cell}: session {session.app_id} ready in {time.perf_counter() - started:.3f} s", file=sys.stderr, flush=True)
        result.update(
            spark_version=spark.version,
            app_id=session.app_id,
            connect_session_id=session.session_id(),
            conf=redacted(session.conf()),
        )
        # Absolute: a Connect server resolves relative paths against its own working directory.
        root = (args.data if is_uri(args.data) else os.path.abspath(args.data)).rstrip("/")
        if args.executors > 0:
            have = wait_for_executors(session.sc, args.executors, args.executor_wait)
            print(f"loadbuild: {args.cell}: {have} executors registered", file=sys.stderr, flush=True)
        if args.tables:
            # ext=iceberg: the workload's `trips` and `zones` are the dataset's Iceberg tables.
            spark.table(f"{args.tables}.trips").createOrReplaceTempView("trips")
            spark.table(f"{args.tables}.zones").createOrReplaceTempView("zones")
        else:
            spark.read.parquet(root + "/trips").createOrReplaceTempView("trips")
            spark.read.parquet(root + "/zones/taxi_zone_lookup.parquet").createOrReplaceTempView("zones")
        sink = JdbcSink(spark, args) if args.op == "write" else NoopSink(spark)
        sink.prepare(lambda: spark.sql(sql))

        for k in range(0, args.reps + 1):
            timing = execute(session, sink, sql, k)
            if k == 0:
                result["warmup"] = {"wall_s": timing["wall_s"], "rows": timing["rows"]}
            else:
                result["executions"].append(timing)
            print(f"loadbuild: {args.cell} {execution_tag(k)}: {timing['wall_s']:.3f} s, {timing['rows']} rows", file=sys.stderr, flush=True)
        result["write"] = sink.summary(result["executions"][-1]["rows"])
    except BaseException as error:
        result["error"] = first_lines(error)
        traceback.print_exc()
        if session is not None:
            try:
                session.finish(args.out, 5.0 if isinstance(error, Terminated) else min(args.event_log_wait, 60.0))
            except Exception as also:
                print(f"loadbuild: after the failure, the event log could not be collected: {first_lines(also, 5)}", file=sys.stderr)
        return False, files_of(session)
    # Outside the `try`: a run whose log cannot be collected is a failed run, said as such.
    try:
        session.finish(args.out, args.event_log_wait)
    except Exception as error:
        traceback.print_exc()
        result["error"] = f"collecting the event log: {first_lines(error)}"
        return False, files_of(session)
    return True, session.files


def wait_for_executors(sc, n, wait_s):
    """Waits until `n` executors have registered with the driver (the warm-up must not start on
    fewer); returns how many did. Raises after `wait_s` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        # The JVM's status tracker lists the driver too.
        have = len(sc._jsc.sc().statusTracker().getExecutorInfos()) - 1
        if have >= n:
            return have
        if time.monotonic() >= deadline:
            raise RuntimeError(f"only {have} of {n} executors registered within {wait_s:.0f} s")
        time.sleep(0.5)


def files_of(session):
    return getattr(session, "files", None)


def execute(session, sink, sql, k):
    """One tagged execution: submit the SQL, drive its result into the sink, time it."""
    session.tag(k)
    try:
        start = time.perf_counter()
        df = session.spark.sql(sql)
        observation = sink.write(df, k)
        wall = time.perf_counter() - start
    finally:
        session.untag(k)
    # Read after the clock stops: the observation may arrive a moment after the action returns.
    rows = int(observation.get["rows"])
    # A noop or JDBC sink hands no row back to the client, so there is no time to a first row:
    # `first_result_s` stays null (metrics show `client_latency_s` as absent) rather than a copy of `wall_s`.
    return {"execution": k, "wall_s": round(wall, 6), "rows": rows, "first_result_s": None}


def write_result(out, result, files):
    """Writes OUT/result.json whole (never a torn file). Without a way to reach a remote OUT (no
    Spark session came up), the result goes to stderr instead, saying so."""
    data = (json.dumps(result, indent=2) + "\n").encode()
    if files is None and is_uri(out) and not out.startswith("file:"):
        print(f"loadbuild: result.json cannot be written to `{out}` without a Spark session; it was:", file=sys.stderr)
        sys.stderr.write(data.decode())
        return
    if files is None or isinstance(files, LocalFiles):
        (files or LocalFiles()).write(os.path.join(local_dir(out), "result.json"), data)
    else:
        files.write(join(out, "result.json"), data)


def main(argv=None):
    args = parser().parse_args(argv)
    result = {
        "schema": RESULT_SCHEMA,
        "cell": args.cell,
        "op": args.op,
        "client": args.client,
        "mode": mode_of(args),
        "spark_version": None,
        "app_id": None,
        "connect_session_id": None,
        "status": "failed",
        "error": None,
        "repetitions": args.reps,
        "conf": {},
        "warmup": None,
        "executions": [],
        "write": None,
        # Which try of the run node this is (the engine retries transient failures); metrics
        # report attempt - 1 as run_retries.
        "attempt": int(os.environ.get("LOADBUILD_ATTEMPT", "1")),
    }
    try:
        check_args(args)
    except UsageError as error:
        result["error"] = str(error)
        write_result(args.out, result, None)
        print(f"driver.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    result["plan_must_contain"] = declared_operators(args.sql)
    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:
        previous = None  # not the main thread: leave SIGTERM to whoever embeds the driver
    try:
        ok, files = run(args, result)
    finally:
        if previous is not None:
            # main() may run inside a longer-lived process (notebook.py's kernel): give SIGTERM back.
            signal.signal(signal.SIGTERM, previous)
    result["status"] = "succeeded" if ok else "failed"
    write_result(args.out, result, files)
    if not ok:
        print(f"loadbuild: {args.cell} failed: {result['error']}", file=sys.stderr)
    return 0 if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
