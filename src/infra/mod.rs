//! `loadbuild infra`: the benchmark cluster's components (object store, PostgreSQL, Hive
//! Metastore, History Server, Argo Workflows, Spark Operator) rendered from pinned charts and
//! templates (`render.rs`), applied with server-side apply and waited for (`apply.rs`), checked
//! by live probes (`probe.rs`). Configured by the Loadfile's `[infra]` (`config.rs`).
//!
//! Verified here against the fake API server in the test tree only (no Kubernetes cluster can
//! run where this was written); the S3, PostgreSQL, TCP and HTTP probes against real servers.

pub mod apply;
pub mod config;
pub mod probe;
pub mod render;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::cluster::{Cluster, Target};
use config::{Component, InfraConfig, Profile};
use probe::ProbeFailure;

/// Connects to the cluster the config names (a kubeconfig given here wins). For the
/// `minikube` profile, starts the profile when no context answers; `existing` never creates.
pub async fn connect(cfg: &InfraConfig, kubeconfig: Option<PathBuf>, context: Option<String>) -> Result<Cluster, String> {
    let mut target = Target { kubeconfig, context: context.or_else(|| cfg.context.clone()), namespace: cfg.namespace.clone() };
    if let Profile::Minikube { name, .. } = &cfg.profile
        && target.context.is_none()
    {
        target.context = Some(name.clone());
    }
    let answer = match Cluster::connect(&target).await {
        Ok(c) => c.ping().await.map(|_| c).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match (&cfg.profile, answer) {
        (_, Ok(c)) => Ok(c),
        (Profile::Existing, Err(e)) => Err(format!(
            "no cluster answers ({e}); the `existing` profile never creates one: check `kubectl config current-context` and `kubectl cluster-info`"
        )),
        (Profile::Minikube { name, cpus, memory, driver }, Err(e)) => {
            eprintln!("infra: no cluster answers ({e}); starting minikube profile {name}");
            let status = Command::new("minikube")
                .args(["start", "-p", name, "--cpus", &cpus.to_string(), "--memory", memory, "--driver", driver])
                .status()
                .map_err(|e| format!("cannot run `minikube` ({e}): install minikube, or use profile = \"existing\""))?;
            if !status.success() {
                return Err(format!("`minikube start -p {name}` failed ({status}): see `minikube logs -p {name}`"));
            }
            let c = Cluster::connect(&target).await.map_err(|e| e.to_string())?;
            c.ping().await.map_err(|e| format!("minikube profile {name} started but does not answer: {e}"))?;
            Ok(c)
        }
    }
}

fn var<'a>(c: &'a Component, key: &str, default: &'a str) -> &'a str {
    c.vars.get(key).and_then(Value::as_str).unwrap_or(default)
}

/// Runs a component's probe (its `probe` key); `None` when it has none. The async probes run
/// on `rt`; PostgreSQL and TCP block this thread.
pub fn run_probe(
    rt: &tokio::runtime::Runtime,
    cluster: &Cluster,
    cfg: &InfraConfig,
    c: &Component,
    secrets: &BTreeMap<String, String>,
) -> Option<Result<(), ProbeFailure>> {
    let secret = |key: &str| secrets.get(var(c, key, "")).cloned().unwrap_or_default();
    let endpoint = |default: &str| {
        cfg.endpoints.get(&c.name).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| var(c, "endpoint", default).to_string())
    };
    let name = c.name.as_str();
    // The workload whose logs explain a failing service probe (`workload` in the component).
    let logs = |default_kind: &str| {
        let w = c.vars.get("workload").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| format!("{default_kind}/{name}"));
        format!("kubectl -n {} logs {w}", cfg.namespace)
    };
    let with_logs = |r: Result<(), ProbeFailure>, kind: &str| r.map_err(|f| ProbeFailure { command: logs(kind), ..f });
    Some(match c.probe.as_deref()? {
        "s3" => with_logs(
            rt.block_on(probe::s3(
                name,
                &endpoint("http://seaweedfs-s3.loadbuild.svc:8333"),
                var(c, "bucket", "loadbuild"),
                &secret("access_key_secret"),
                &secret("secret_key_secret"),
            )),
            "deployment",
        ),
        "postgres" => {
            let ep = endpoint("postgres.loadbuild.svc:5432");
            let (host, port) = ep.rsplit_once(':').unwrap_or((&ep, "5432"));
            let r = probe::postgres(
                name,
                host,
                port.parse().unwrap_or(5432),
                var(c, "user", "loadbuild"),
                &secret("password_secret"),
                var(c, "database", "loadbuild"),
            );
            with_logs(r, "statefulset")
        }
        "tcp" => with_logs(probe::tcp(name, &endpoint("hive-metastore.loadbuild.svc:9083")), "deployment"),
        "http" => with_logs(
            rt.block_on(probe::http_ok(name, &endpoint("http://history-server.loadbuild.svc:18080/api/v1/applications"))),
            "deployment",
        ),
        "argo" => rt.block_on(probe::argo(
            cluster,
            name,
            var(c, "probe_image", "busybox:1.37"),
            var(c, "probe_account", "loadbuild-runner"),
            cfg.timeout,
        )),
        "spark" => rt.block_on(probe::spark(
            cluster,
            name,
            var(c, "probe_image", "apache/spark:4.1.1"),
            var(c, "probe_account", "loadbuild-runner"),
            cfg.timeout,
        )),
        other => Err(ProbeFailure {
            component: name.into(),
            object: format!("probe = \"{other}\""),
            command: "docs/infrastructure.md".into(),
            error: "unknown probe: use s3, postgres, tcp, http, argo or spark".into(),
        }),
    })
}
