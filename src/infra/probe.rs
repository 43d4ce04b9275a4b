//! Live readiness probes, run by `infra verify`: S3 put + list + delete, PostgreSQL `SELECT 1`,
//! a TCP connect (Metastore 9083), an HTTP GET that must answer 200 (History Server
//! `/api/v1/applications`), and, through the API server, an Argo hello-world Workflow that must
//! succeed and a tiny SparkApplication that must reach COMPLETED. A failure names the
//! component, the object and the command that shows why.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::json;

use crate::cluster::{Cluster, Kind, ObjRef};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    pub component: String,
    pub object: String,
    pub command: String,
    pub error: String,
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} — {} (see `{}`)", self.component, self.object, self.error, self.command)
    }
}

fn fail(component: &str, object: &str, command: &str, error: impl ToString) -> ProbeFailure {
    ProbeFailure { component: component.into(), object: object.into(), command: command.into(), error: error.to_string() }
}

/// S3: put, list and delete one probe object under `probe/` in `bucket`.
pub async fn s3(component: &str, endpoint: &str, bucket: &str, access: &str, secret: &str) -> Result<(), ProbeFailure> {
    crate::http::ensure_tls();
    let object = format!("bucket {bucket} at {endpoint}");
    let command = format!("kubectl -n loadbuild logs deployment/{component}");
    let store = AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_bucket_name(bucket)
        .with_access_key_id(access)
        .with_secret_access_key(secret)
        .with_region("us-east-1")
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_retry(object_store::RetryConfig { max_retries: 2, retry_timeout: Duration::from_secs(10), ..Default::default() })
        .build()
        .map_err(|e| fail(component, &object, &command, e))?;
    let key = ObjPath::from(format!("probe/loadbuild-probe-{}", std::process::id()));
    let run = async {
        store.put(&key, b"probe".to_vec().into()).await?;
        let listed: Vec<_> = store.list(Some(&ObjPath::from("probe"))).try_collect().await?;
        if !listed.iter().any(|m| m.location == key) {
            return Err(object_store::Error::NotFound { path: key.to_string(), source: "not listed after put".into() });
        }
        store.delete(&key).await
    };
    match tokio::time::timeout(Duration::from_secs(20), run).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(fail(component, &object, &command, e)),
        Err(_) => Err(fail(component, &object, &command, "no answer within 20 s")),
    }
}

/// PostgreSQL: `SELECT 1` as `user`. Blocking: call it outside the async runtime.
pub fn postgres(component: &str, host: &str, port: u16, user: &str, password: &str, db: &str) -> Result<(), ProbeFailure> {
    let object = format!("PostgreSQL at {host}:{port}");
    let command = format!("kubectl -n loadbuild logs statefulset/{component}");
    let mut cfg = postgres::Config::new();
    cfg.host(host).port(port).user(user).password(password).dbname(db).connect_timeout(Duration::from_secs(10));
    let mut client = cfg.connect(postgres::NoTls).map_err(|e| fail(component, &object, &command, pg_error(&e)))?;
    let row = client.query_one("SELECT 1", &[]).map_err(|e| fail(component, &object, &command, pg_error(&e)))?;
    match row.get::<_, i32>(0) {
        1 => Ok(()),
        n => Err(fail(component, &object, &command, format!("SELECT 1 returned {n}"))),
    }
}

/// The server's own words for a database error, else the error and its cause.
fn pg_error(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{}: {}", db.severity(), db.message()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// A TCP connect to `addr` (`host:port`) within 5 s.
pub fn tcp(component: &str, addr: &str) -> Result<(), ProbeFailure> {
    let command = format!("kubectl -n loadbuild logs deployment/{component}");
    let object = format!("port {addr}");
    let addrs: Vec<_> = addr.to_socket_addrs().map_err(|e| fail(component, &object, &command, e))?.collect();
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(component, &object, &command, last))
}

/// An HTTP GET of `url` that must answer 200.
pub async fn http_ok(component: &str, url: &str) -> Result<(), ProbeFailure> {
    let command = format!("kubectl -n loadbuild logs deployment/{component}");
    crate::http::ensure_tls();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| fail(component, url, &command, e))?;
    let resp = client.get(url).send().await.map_err(|e| fail(component, url, &command, e))?;
    match resp.status().as_u16() {
        200 => Ok(()),
        s => Err(fail(component, url, &command, format!("answered HTTP {s}, not 200"))),
    }
}

/// Creates `obj` (a Workflow or SparkApplication), waits until `done`, then deletes it.
async fn run_to_completion(
    cluster: &Cluster,
    component: &str,
    kind: Kind,
    obj: serde_json::Value,
    done: fn(&serde_json::Value) -> Option<bool>,
    timeout: Duration,
) -> Result<(), ProbeFailure> {
    let dynobj: kube::api::DynamicObject = serde_json::from_value(obj).expect("a probe object is an object");
    let rf = ObjRef::of(&dynobj, cluster.namespace()).expect("probe objects have names");
    let command = rf.kubectl("describe");
    let object = rf.to_string();
    let _ = cluster.delete(&rf).await;
    cluster.create(&kind, &dynobj).await.map_err(|e| fail(component, &object, &command, e))?;
    let result =
        cluster.wait_until(&rf, timeout, |o| done(&o.data["status"]) == Some(true), |o| done(&o.data["status"]) == Some(false)).await;
    let _ = cluster.delete(&rf).await;
    result.map(|_| ()).map_err(|e| fail(component, &object, &command, e))
}

/// Argo: a hello-world Workflow must reach `Succeeded`.
pub async fn argo(cluster: &Cluster, component: &str, image: &str, account: &str, timeout: Duration) -> Result<(), ProbeFailure> {
    let wf = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "loadbuild-probe-hello", "namespace": cluster.namespace(),
                     "labels": {"app.kubernetes.io/managed-by": "loadbuild", "loadbuild.dev/probe": "argo"}},
        "spec": {"entrypoint": "hello", "serviceAccountName": account,
                 "templates": [{"name": "hello", "container": {"image": image, "command": ["echo", "hello"]}}]}});
    let done = |s: &serde_json::Value| match s["phase"].as_str() {
        Some("Succeeded") => Some(true),
        Some("Failed" | "Error") => Some(false),
        _ => None,
    };
    run_to_completion(cluster, component, Kind::workflow(), wf, done, timeout).await
}

/// Spark Operator: a tiny SparkApplication (SparkPi, 1 executor) must reach `COMPLETED`.
pub async fn spark(cluster: &Cluster, component: &str, image: &str, account: &str, timeout: Duration) -> Result<(), ProbeFailure> {
    let version = image.rsplit(':').next().unwrap_or("4.1.1");
    let app = json!({"apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
        "metadata": {"name": "loadbuild-probe-pi", "namespace": cluster.namespace(),
                     "labels": {"app.kubernetes.io/managed-by": "loadbuild", "loadbuild.dev/probe": "spark"}},
        "spec": {"type": "Scala", "mode": "cluster", "image": image, "sparkVersion": version,
                 "mainClass": "org.apache.spark.examples.SparkPi",
                 "mainApplicationFile": format!("local:///opt/spark/examples/jars/spark-examples_2.13-{version}.jar"),
                 "arguments": ["10"],
                 "driver": {"cores": 1, "memory": "512m", "serviceAccount": account},
                 "executor": {"instances": 1, "cores": 1, "memory": "512m"}}});
    let done = |s: &serde_json::Value| match s["applicationState"]["state"].as_str() {
        Some("COMPLETED") => Some(true),
        Some("FAILED" | "SUBMISSION_FAILED" | "FAILING") => Some(false),
        _ => None,
    };
    run_to_completion(cluster, component, Kind::spark_application(), app, done, timeout).await
}
