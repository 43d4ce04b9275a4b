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
readonly CELL='410-airflow-k8s-iceberg-write-1gb'
readonly OP='write'
readonly CELL_DIR='/cell'
readonly WORKLOADS='/opt/loadbuild/workloads'
readonly PROGRAM='driver.py'
readonly SQL='write.sql'
readonly REPS='5'
readonly EXECUTORS='2'
readonly TABLES='lb.ds_1gb'
readonly TARGET='k8s://https://kubernetes.default.svc:443'
readonly EVENT_LOG_DIR='s3a://loadbuild/eventlogs'
readonly RESULTS='s3a://loadbuild/results'
readonly RUN_LABEL='loadbuild.io/run'
readonly JDBC_URL='jdbc:postgresql://postgres.loadbuild.svc:5432/loadbuild'
readonly JDBC_USER='loadbuild'
readonly NAMESPACE='loadbuild'
readonly DRIVER_POD='lb-410-airflow-k8s-iceberg-write-1gb-driver'
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

# Cluster mode: spark-submit starts the driver pod (with the cell's pod template) and waits.
# spark-submit's own status says only that the submission worked: the driver's exit code does.
status=0
/opt/spark/bin/spark-submit --master "$TARGET" --deploy-mode cluster \
  --conf "spark.kubernetes.driver.podTemplateFile=$CELL_DIR/app.yaml" \
  --conf "spark.kubernetes.executor.podTemplateFile=$CELL_DIR/app.yaml" \
  --conf "spark.kubernetes.driver.pod.name=$DRIVER_POD" \
  --conf "spark.kubernetes.driver.label.$RUN_LABEL=$run" \
  --conf "spark.kubernetes.executor.label.$RUN_LABEL=$run" \
  --conf spark.kubernetes.submission.waitAppCompletion=true \
  "local://$WORKLOADS/$PROGRAM" "${args[@]}" --master "$TARGET" || status=$?
code="$(kubectl get pod "$DRIVER_POD" -n "$NAMESPACE" -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')" || code=""
if [[ "$code" != "0" ]]; then
  echo "$CELL: the driver pod $DRIVER_POD ended with exit code ${code:-unknown} (spark-submit: $status); its result.json is under $out" >&2
  exit 1
fi
exit "$status"
