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
readonly CELL='357-jupyter-standalone-rapids-aggregate-11gb'
readonly OP='aggregate'
readonly CELL_DIR='/cell'
readonly WORKLOADS='/opt/loadbuild/workloads'
readonly PROGRAM='notebook.py'
readonly SQL='aggregate.sql'
readonly REPS='5'
readonly EXECUTORS='4'
readonly TABLES=''
readonly TARGET='spark://lb-357-jupyter-standalone-rapids-aggregate-11gb-master.loadbuild.svc:7077'
readonly EVENT_LOG_DIR='s3a://loadbuild/eventlogs'
readonly JDBC_URL=''
readonly JDBC_USER=''
# --- end of cell values ---

dataset="${LOADBUILD_DATASET:?set LOADBUILD_DATASET to the dataset location (the upload receipt url, as s3a://)}"
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

# The kernel and its session live in this pod: the image's pyspark, ipykernel and jupyter_client.
# Client mode: the session's driver is the kernel; executors connect back to this pod.
exec python3 "$WORKLOADS/$PROGRAM" "${args[@]}" --master "$TARGET" \
  --conf "spark.driver.host=${POD_IP:?set POD_IP to the address of this pod}" --conf spark.driver.bindAddress=0.0.0.0
