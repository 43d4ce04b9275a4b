#!/usr/bin/env bash
# Batch submission of one cell (client = airflow: what an Airflow task runs), rendered by
# loadbuild from templates/scenario/run-airflow.sh.j2. The Argo workflow runs it with the cell's
# files in CELL_DIR and the workloads in WORKLOADS, in the cell's derived image (jars and client
# libraries baked in: nothing is installed or fetched here), and sets:
#   LOADBUILD_DATASET  the dataset's location (the upload receipt's url, as s3a://…)
#   LOADBUILD_RUN      this run's id (the parent workflow's name)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, LOADBUILD_JDBC_PASSWORD  from Secrets
#   POD_IP             this pod's address, for executors to reach a client-mode driver
set -euo pipefail

# --- cell values ---
readonly CELL='411-airflow-connect-none-read-1gb'
readonly OP='read'
readonly CELL_DIR='/cell'
readonly WORKLOADS='/opt/loadbuild/workloads'
readonly PROGRAM='driver.py'
readonly SQL='read.sql'
readonly REPS='5'
readonly EXECUTORS='0'
readonly TABLES=''
readonly TARGET='sc://127.0.0.1:15002'
readonly EVENT_LOG_DIR='/tmp/spark-events'
readonly JDBC_URL=''
readonly JDBC_USER=''
readonly NAMESPACE='loadbuild'
# --- end of cell values ---

dataset="${LOADBUILD_DATASET:?set LOADBUILD_DATASET to the dataset location (the upload receipt url, as s3a://)}"
if [[ -z "${LOADBUILD_IN_SERVER:-}" ]]; then
  # In the workflow's pod: find the server's pod, run this script there, bring OUT back.
  pod="$(kubectl get pod -n "$NAMESPACE" -l "loadbuild.io/cell=$CELL,app.kubernetes.io/component=connect-server" \
    --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')" ||
    { echo "no running Connect server pod for $CELL in $NAMESPACE" >&2; exit 1; }
  status=0
  kubectl exec -n "$NAMESPACE" "$pod" -c connect -- \
    env LOADBUILD_IN_SERVER=1 LOADBUILD_DATASET="$dataset" bash "$CELL_DIR/run.sh" || status=$?
  # Into a path that does not exist yet: kubectl cp then makes it the copy of the pod's OUT.
  if ! kubectl cp -n "$NAMESPACE" -c connect "$pod:/tmp/loadbuild/out" /tmp/loadbuild/out; then
    echo "could not copy the results of $CELL from $pod" >&2
    [[ "$status" -ne 0 ]] || status=1
  fi
  exit "$status"
fi
# In the server's pod: the client connects over loopback and follows the server's log.
# The driver runs here: the workflow uploads this directory as the cell's results.
out="/tmp/loadbuild/out"
mkdir -p "$out"
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

# A Python client of the cell's Connect server (its properties are the server's); the image's
# pyspark and its pinned Connect libraries.
exec python3 "$WORKLOADS/$PROGRAM" "${args[@]}" --remote "$TARGET"
