"""Independent reference computation of loadbuild's event-log metrics (stdlib + zstandard).

Reads each fixture's event log whole (fixtures are small) and recomputes every metric from the
definitions in docs/metrics.md, without sharing code or structure with the Rust parser. Writes
`expected.json` next to each fixture; tests/metrics_eventlog.rs asserts the Rust results match.
Run: python3 tests/data/eventlog/expected.py   (needs `pip install zstandard`)
"""
import io
import json
import os
import re
import statistics

import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
OOM = ("OutOfMemoryError", "OOMKilled", "exit code 137", "exceeding memory limits")


def log_files(path):
    if not os.path.isdir(path):
        return [path]
    numbered = []
    for name in os.listdir(path):
        m = re.match(r"events_(\d+)_", name)
        if m:
            numbered.append((int(m.group(1)), os.path.join(path, name)))
    return [p for _, p in sorted(numbered)]


def events(path):
    for f in log_files(path):
        with open(f, "rb") as raw:
            stream = raw
            if f.endswith(".zstd"):
                stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            for line in io.TextIOWrapper(stream, encoding="utf-8"):
                if line.strip():
                    yield json.loads(line)


def execution_of(props, session=None):
    """'warmup', an int k >= 1, or None, per the tagging convention.

    With `session` (a Spark Connect session id), only that session's Connect tags count.
    """
    props = props or {}
    for tag in (props.get("spark.job.tags") or "").split(","):
        tag = tag.strip()
        connect = re.fullmatch(r"SparkConnect_[A-Za-z]+_User_.*?_Session_([^_]*)_Tag_(.*)", tag)
        if session is not None and (not connect or connect.group(1) != session):
            continue
        if connect:
            tag = connect.group(2)
        if tag == "loadbuild-warmup":
            return "warmup"
        m = re.fullmatch(r"loadbuild-exec-(\d+)", tag)
        if m and int(m.group(1)) >= 1:
            return int(m.group(1))
    if session is not None:
        return None
    words = (props.get("spark.job.description") or "").split()
    if words[:1] == ["loadbuild"]:
        kv = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        if kv.get("phase") == "warmup":
            return "warmup"
        if kv.get("phase") == "measure" and kv.get("exec", "").isdigit() and int(kv["exec"]) >= 1:
            return int(kv["exec"])
    return None


def has_oom(*texts):
    return any(m in (t or "") for t in texts for m in OOM)


def collect(path, session=None):
    evs = list(events(path))
    by = lambda name: [e for e in evs if e["Event"] == name]
    env = by("SparkListenerEnvironmentUpdate")[0]["Spark Properties"]
    job_exec, stage_exec = {}, {}
    for j in by("SparkListenerJobStart"):
        x = execution_of(j.get("Properties"), session)
        job_exec[j["Job ID"]] = x
        if x is not None:
            for s in j["Stage IDs"]:
                stage_exec.setdefault(s, x)
    for s in by("SparkListenerStageSubmitted"):
        x = execution_of(s.get("Properties"), session)
        if x is not None:
            stage_exec[s["Stage Info"]["Stage ID"]] = x
    execs = {}

    def ex(x):
        return execs.setdefault(x, {"jobs": {}, "ends": {}, "stages_done": [], "retries": 0, "tasks": []})

    for j in by("SparkListenerJobStart"):
        if job_exec[j["Job ID"]] is not None:
            ex(job_exec[j["Job ID"]])["jobs"][j["Job ID"]] = j["Submission Time"]
    for j in by("SparkListenerJobEnd"):
        if job_exec.get(j["Job ID"]) is not None:
            ex(job_exec[j["Job ID"]])["ends"][j["Job ID"]] = j
    for s in by("SparkListenerStageSubmitted"):
        info = s["Stage Info"]
        if info["Stage Attempt ID"] > 0 and info["Stage ID"] in stage_exec:
            ex(stage_exec[info["Stage ID"]])["retries"] += 1
    for s in by("SparkListenerStageCompleted"):
        if s["Stage Info"]["Stage ID"] in stage_exec:
            ex(stage_exec[s["Stage Info"]["Stage ID"]])["stages_done"].append(s["Stage Info"])
    for t in by("SparkListenerTaskEnd"):
        if t["Stage ID"] in stage_exec:
            ex(stage_exec[t["Stage ID"]])["tasks"].append(t)
    executors = {}
    for a in by("SparkListenerExecutorAdded"):
        executors[a["Executor ID"]] = [a["Timestamp"], None, a["Executor Info"]["Total Cores"], None]
    for r in by("SparkListenerExecutorRemoved"):
        if r["Executor ID"] in executors:
            executors[r["Executor ID"]][1] = r["Timestamp"]
            executors[r["Executor ID"]][3] = r.get("Removed Reason")
    unattributed = sum(1 for x in job_exec.values() if x is None)
    return env, execs, list(executors.values()), unattributed


def ratio(num, den):
    return num / den if den > 0 else None


def window(e):
    starts = list(e["jobs"].values())
    ends = [e["ends"][j].get("Completion Time") if j in e["ends"] else None for j in e["jobs"]]
    if not starts or None in starts or None in ends:
        return None
    return min(starts), max(ends)


def core_ms(env, executors, start, end):
    if executors:
        total = 0
        for added, removed, cores, _ in executors:
            lo, hi = max(added, start), min(removed if removed is not None else end, end)
            if hi >= lo:
                total += cores * (hi - lo)
        return total
    m = re.fullmatch(r"local\[(\d+)(,\d+)?\]", env.get("spark.master", ""))
    return int(m.group(1)) * (end - start) if m else None


def skew_of(tasks):
    """Worst max/median successful-task duration over stage attempts: (ratio, stage, attempt)."""
    per_stage = {}
    for t in tasks:
        info = t["Task Info"]
        if not info["Failed"] and not info.get("Killed", False):
            key = (t["Stage ID"], t["Stage Attempt ID"])
            per_stage.setdefault(key, []).append(max(info["Finish Time"] - info["Launch Time"], 0))
    best = None
    for key in sorted(per_stage):
        d = per_stage[key]
        if len(d) >= 2 and statistics.median(d) > 0:
            r = max(d) / statistics.median(d)
            if best is None or r > best[0]:
                best = (r, key)
    return best


def tiers(env, executors, group):
    """Stability and efficiency over the executions in `group`, pooled."""
    tasks = [t for e in group for t in e["tasks"]]
    m = [t["Task Metrics"] for t in tasks if "Task Metrics" in t]
    s = lambda f: sum(f(x) for x in m)
    spans = [window(e) for e in group]
    out = {
        "succeeded": float(
            bool(group) and all(e["jobs"] for e in group)
            and all(e["ends"].get(j, {}).get("Job Result", {}).get("Result") == "JobSucceeded"
                    for e in group for j in e["jobs"])),
        "failed_jobs": float(sum(
            1 for e in group for j in e["jobs"]
            if e["ends"].get(j, {}).get("Job Result", {}).get("Result") != "JobSucceeded")),
        "failed_stages": float(sum(1 for e in group for st in e["stages_done"] if "Failure Reason" in st)),
        "failed_tasks": float(sum(1 for t in tasks if t["Task Info"]["Failed"])),
        "stage_retries": float(sum(e["retries"] for e in group)),
        "executor_lost_tasks": float(sum(
            1 for t in tasks if t["Task Info"]["Failed"] and t["Task End Reason"]["Reason"] == "ExecutorLostFailure")),
    }
    oom_tasks = sum(1 for t in tasks if t["Task Info"]["Failed"] and has_oom(
        t["Task End Reason"].get("Description"), t["Task End Reason"].get("Full Stack Trace"),
        t["Task End Reason"].get("Loss Reason")))
    if spans and None not in spans:
        lo, hi = min(w[0] for w in spans), max(w[1] for w in spans)
        removed = [x for x in executors if x[1] is not None and lo <= x[1] <= hi]
        out["executors_removed"] = float(len(removed))
        out["oom_events"] = float(oom_tasks + sum(1 for x in removed if has_oom(x[3])))
    else:
        out["executors_removed"] = out["oom_events"] = None
    run = s(lambda x: x["Executor Run Time"])
    shuffle_read = s(lambda x: x["Shuffle Read Metrics"]["Remote Bytes Read"] + x["Shuffle Read Metrics"]["Local Bytes Read"])
    input_bytes = s(lambda x: x["Input Metrics"]["Bytes Read"])
    skew = None
    for e in group:
        sk = skew_of(e["tasks"])
        if sk and (skew is None or sk[0] > skew[0] or (sk[0] == skew[0] and sk[1] < skew[1])):
            skew = sk
    durations = sum(max(t["Task Info"]["Finish Time"] - t["Task Info"]["Launch Time"], 0) for t in tasks)
    cores = None
    if spans and None not in spans:
        parts = [core_ms(env, executors, a, b) for a, b in spans]
        cores = None if None in parts else sum(parts)
    out.update({
        "cpu_time_ratio": ratio(s(lambda x: x["Executor CPU Time"]) / 1e6, run),
        "gc_time_ratio": ratio(s(lambda x: x["JVM GC Time"]), run),
        "task_skew": skew[0] if skew else None,
        "spill_ratio": ratio(s(lambda x: x["Memory Bytes Spilled"] + x["Disk Bytes Spilled"]), input_bytes + shuffle_read),
        "shuffle_bytes_per_input_byte": ratio(s(lambda x: x["Shuffle Write Metrics"]["Shuffle Bytes Written"]), input_bytes),
        "fetch_wait_share": ratio(s(lambda x: x["Shuffle Read Metrics"]["Fetch Wait Time"]), run) if shuffle_read else None,
        "slot_utilization": ratio(durations, cores) if cores is not None else None,
    })
    return out


def performance(e, d):
    w = window(e)
    span = (w[1] - w[0]) / 1000 if w else None
    # Throughput counts the input of successful task attempts only (a failed or killed attempt's
    # partial read is work redone, not rows delivered).
    m = [t["Task Metrics"] for t in e["tasks"]
         if "Task Metrics" in t and not t["Task Info"]["Failed"] and not t["Task Info"].get("Killed", False)]
    rows = sum(x["Input Metrics"]["Records Read"] for x in m)
    nbytes = sum(x["Input Metrics"]["Bytes Read"] for x in m)
    return {
        "wall_time_s": d["wall_s"] if d else None,
        "job_span_s": span,
        "input_rows_per_s": rows / span if rows and span else None,
        "input_bytes_per_s": nbytes / span if nbytes and span else None,
        "driver_rows_per_s": d["rows"] / d["wall_s"] if d and d.get("rows") is not None and d["wall_s"] > 0 else None,
        "client_latency_s": d.get("first_result_s") if d else None,
    }


OURS = ("driver.json", "sessions.json", "result.json", "expected.json")


def expected(fixture):
    """One fixture with one run: `driver.json` holds its timings."""
    with open(os.path.join(fixture, "driver.json")) as f:
        return expected_run(fixture_log(fixture), json.load(f))


def expected_sessions(fixture):
    """A shared Spark Connect server's log: one result per session listed in `sessions.json`."""
    with open(os.path.join(fixture, "sessions.json")) as f:
        sessions = json.load(f)["sessions"]
    log = fixture_log(fixture)
    return {"sessions": {s["connect_session_id"]: expected_run(log, s, s["connect_session_id"]) for s in sessions}}


def fixture_log(fixture):
    (log,) = [e for e in os.listdir(fixture) if e not in OURS]
    return os.path.join(fixture, log)


def expected_run(log, driver, session=None):
    env, execs, executors, unattributed = collect(log, session)
    timings = {d["execution"]: d for d in driver["executions"]}
    empty = {"jobs": {}, "ends": {}, "stages_done": [], "retries": 0, "tasks": []}
    ks = sorted({k for k in execs if k != "warmup"} | set(timings))
    per = {}
    for k in ks:
        e = execs.get(k, empty)
        per[str(k)] = {**tiers(env, executors, [e]), **performance(e, timings.get(k))}
    cell = tiers(env, executors, [execs.get(k, empty) for k in ks])
    cell["run_retries"] = None if driver.get("run_retries") is None else float(driver["run_retries"])
    for name in performance(empty, None):
        values = [per[str(k)][name] for k in ks if per[str(k)][name] is not None]
        cell[name] = statistics.median(values) if values else None
    warmup = len(execs.get("warmup", empty)["jobs"])
    return {"warmup_jobs": warmup, "unattributed_jobs": unattributed, "executions": per, "cell": cell}


def main():
    for name in sorted(os.listdir(HERE)):
        fixture = os.path.join(HERE, name)
        ours = [f for f in ("driver.json", "sessions.json") if os.path.isfile(os.path.join(fixture, f))]
        if ours and any(f.endswith(".lz4") for f in log_files(fixture_log(fixture))):
            print(f"skipped {name}: lz4 (the History Server test reads it through REST)")
            continue
        if os.path.isfile(os.path.join(fixture, "driver.json")):
            result = expected(fixture)
        elif os.path.isfile(os.path.join(fixture, "sessions.json")):
            result = expected_sessions(fixture)
        else:
            continue
        with open(os.path.join(fixture, "expected.json"), "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"wrote {name}/expected.json")


if __name__ == "__main__":
    main()
