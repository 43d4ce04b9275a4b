#!/usr/bin/env bash
# Batch submission of one cell (client = airflow: what an Airflow task runs), rendered by
# loadbuild from templates/scenario/run-airflow.sh.j2. The Argo workflow runs it with the cell's
# files in CELL_DIR and the workloads in WORKLOADS, and sets:
#   LOADBUILD_DATASET  the dataset's location (the upload receipt's url, as s3a://…)
#   LOADBUILD_RUN      this run's id (the workflow's name)
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
readonly TARGET='sc://lb-411-airflow-connect-none-read-1gb-connect.loadbuild.svc:15002'
readonly EVENT_LOG_DIR='s3a://loadbuild/eventlogs'
readonly JDBC_URL=''
readonly JDBC_USER=''
readonly CLIENT_PACKAGE='pyspark[connect]==4.1.1'
# --- end of cell values ---

dataset="${LOADBUILD_DATASET:?set LOADBUILD_DATASET to the dataset location (the upload receipt url, as s3a://)}"
# The driver runs here: the workflow collects this directory.
out="/tmp/loadbuild/out"
mkdir -p "$out"
args=(--cell "$CELL" --op "$OP" --sql "$WORKLOADS/$SQL" --data "$dataset" --reps "$REPS" --out "$out" --event-log-dir "$EVENT_LOG_DIR")
if [[ -n "$JDBC_URL" ]]; then
  args+=(--jdbc-url "$JDBC_URL" --jdbc-user "$JDBC_USER" --jdbc-password-env LOADBUILD_JDBC_PASSWORD)
fi
export SPARK_CONF_DIR="$CELL_DIR"

# A Python client of the cell's Connect server (its properties are the server's).
pip_dir=/tmp/loadbuild/python
python3 -m pip install --quiet --disable-pip-version-check --target "$pip_dir" "$CLIENT_PACKAGE"
export PYTHONPATH="$pip_dir"
exec python3 "$WORKLOADS/$PROGRAM" "${args[@]}" --remote "$TARGET"
