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
readonly CELL='410-airflow-k8s-iceberg-write-1gb'
readonly OP='write'
readonly CELL_DIR='/cell'
readonly WORKLOADS='/opt/loadbuild/workloads'
readonly PROGRAM='driver.py'
readonly SQL='write.sql'
readonly REPS='5'
readonly TARGET='k8s://https://kubernetes.default.svc:443'
readonly EVENT_LOG_DIR='s3a://loadbuild/eventlogs'
readonly RESULTS='s3a://loadbuild/results'
readonly JDBC_URL='jdbc:postgresql://postgres.loadbuild.svc:5432/loadbuild'
readonly JDBC_USER='loadbuild'
# --- end of cell values ---

dataset="${LOADBUILD_DATASET:?set LOADBUILD_DATASET to the dataset location (the upload receipt url, as s3a://)}"
# The driver runs in its own pod: it writes its results to the object store.
run="${LOADBUILD_RUN:?set LOADBUILD_RUN to this run id (the workflow name)}"
out="$RESULTS/$run/$CELL"
args=(--cell "$CELL" --op "$OP" --sql "$WORKLOADS/$SQL" --data "$dataset" --reps "$REPS" --out "$out" --event-log-dir "$EVENT_LOG_DIR")
if [[ -n "$JDBC_URL" ]]; then
  args+=(--jdbc-url "$JDBC_URL" --jdbc-user "$JDBC_USER" --jdbc-password-env LOADBUILD_JDBC_PASSWORD)
fi
export SPARK_CONF_DIR="$CELL_DIR"

# Cluster mode: spark-submit starts the driver pod (with the cell's pod template) and waits.
exec /opt/spark/bin/spark-submit --master "$TARGET" --deploy-mode cluster \
  --conf "spark.kubernetes.driver.podTemplateFile=$CELL_DIR/app.yaml" \
  --conf "spark.kubernetes.executor.podTemplateFile=$CELL_DIR/app.yaml" \
  --conf spark.kubernetes.submission.waitAppCompletion=true \
  "local://$WORKLOADS/$PROGRAM" "${args[@]}" --master "$TARGET"
