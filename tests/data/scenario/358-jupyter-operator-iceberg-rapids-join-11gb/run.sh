#!/usr/bin/env bash
# A notebook session of one cell (client = jupyter): a real kernel runs the workload cell by
# cell. Rendered by loadbuild from templates/scenario/run-jupyter.sh.j2. The Argo workflow runs it with the cell's
# files in CELL_DIR and the workloads in WORKLOADS, in the cell's derived image (jars and client
# libraries baked in: nothing is installed or fetched here), and sets:
#   LOADBUILD_DATASET  the dataset's location (the upload receipt's url, as s3a://…)
#   LOADBUILD_RUN      this run's id (the parent workflow's name)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, LOADBUILD_JDBC_PASSWORD  from Secrets
#   POD_IP             this pod's address, for executors to reach a client-mode driver
set -euo pipefail

# --- cell values ---
readonly CELL='358-jupyter-operator-iceberg-rapids-join-11gb'
readonly OP='join'
readonly CELL_DIR='/cell'
readonly WORKLOADS='/opt/loadbuild/workloads'
readonly SQL='join.sql'
readonly REPS='5'
readonly EXECUTORS='4'
readonly TABLES='lb.ds_11gb'
readonly EVENT_LOG_DIR='s3a://loadbuild/eventlogs'
readonly RESULTS='s3a://loadbuild/results'
readonly RUN_LABEL='loadbuild.io/run'
readonly JDBC_URL=''
readonly JDBC_USER=''
readonly NAMESPACE='loadbuild'
readonly APP='lb-358-jupyter-operator-iceberg-rapids-join-11gb'
# --- end of cell values ---

dataset="${LOADBUILD_DATASET:?set LOADBUILD_DATASET to the dataset location (the upload receipt url, as s3a://)}"
# The driver runs in its own pod: it writes its results to the object store, under the key the
# workflow's artifact would have used (docs/scenarios.md, "Labels and keys").
run="${LOADBUILD_RUN:?set LOADBUILD_RUN to this run id (the parent workflow name)}"
out="$RESULTS/$run/$CELL"
args=(--cell "$CELL" --op "$OP" --sql "$WORKLOADS/$SQL" --data "$dataset" --reps "$REPS" --out "$out" --event-log-dir "$EVENT_LOG_DIR")
if [[ "$EXECUTORS" -gt 0 ]]; then
  # The warm-up starts only once every executor has registered.
  args+=(--executors "$EXECUTORS")
fi
if [[ -n "$TABLES" ]]; then
  # An Iceberg cell reads the dataset's Iceberg tables, not its Parquet files.
  args+=(--tables "$TABLES")
fi
if [[ -n "$JDBC_URL" ]]; then
  args+=(--jdbc-url "$JDBC_URL" --jdbc-user "$JDBC_USER" --jdbc-password-env LOADBUILD_JDBC_PASSWORD)
fi
export SPARK_CONF_DIR="$CELL_DIR"

# The Spark Operator runs the SparkApplication; this submits it with the run's arguments and
# label and waits for its end (the workflow's deadline bounds the wait). COMPLETED means the
# driver pod exited 0.
kubectl create --dry-run=client -o json -f "$CELL_DIR/app.yaml" |
  DATA="$dataset" OUT="$out" RUN="$run" KEY="$RUN_LABEL" python3 -c '
import json, os, sys
app = json.load(sys.stdin)
app["spec"]["arguments"] += ["--data", os.environ["DATA"], "--out", os.environ["OUT"]]
app["metadata"].setdefault("labels", {})[os.environ["KEY"]] = os.environ["RUN"]
json.dump(app, sys.stdout)' |
  kubectl apply -f -
while true; do
  state="$(kubectl get sparkapplication "$APP" -n "$NAMESPACE" -o jsonpath='{.status.applicationState.state}')"
  case "$state" in
    COMPLETED) echo "$APP completed"; exit 0 ;;
    FAILED|SUBMISSION_FAILED|FAILING|INVALIDATING) echo "$APP ended in state $state" >&2; exit 1 ;;
    *) sleep 10 ;;
  esac
done
