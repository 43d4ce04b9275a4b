//! The cluster client shared by `loadbuild infra` (issue 15) and the Kubernetes backend
//! (issue 14): kube-rs on rustls/ring, objects as `DynamicObject` with kinds built from
//! group/version/kind (no discovery), server-side apply with the field manager `loadbuild`,
//! list and delete by label, waits on conditions, and bounded retries of transient errors.
//!
//! Everything here is async; the synchronous callers own one tokio runtime and `block_on` it.
//! Verified against the fake API server in `tests/common/fake_kube/` and request-level
//! `tower-test` mocks only: no Kubernetes API server can run where this was written.

pub mod kinds;
pub mod retry;
pub mod wait;

use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use kinds::{Kind, ObjRef};
pub use retry::Retry;

/// The field manager of every server-side apply loadbuild makes.
pub const FIELD_MANAGER: &str = "loadbuild";

/// Where to connect: a kubeconfig (file, context) or the in-cluster service account.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A kubeconfig file; none = `$KUBECONFIG` or `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; none = its current context.
    pub context: Option<String>,
    /// The namespace loadbuild works in.
    pub namespace: String,
}

/// A failure talking to the cluster, said so a person knows what to check.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no cluster configuration: {0}")]
    Config(String),
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{what}: gave up after {attempts} attempts; last error: {source}")]
    Exhausted {
        what: String,
        attempts: u32,
        #[source]
        source: kube::Error,
    },
    #[error("{what}: not ready after {waited:?} (see `{command}`)")]
    Timeout { what: String, waited: Duration, command: String },
    #[error("{0}")]
    Invalid(String),
}

impl ClusterError {
    /// The HTTP status the API server answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClusterError::Api { source, .. } | ClusterError::Exhausted { source, .. } => retry::status_of(source),
            _ => None,
        }
    }
}

/// A connected client and the namespace it works in.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    namespace: String,
    retry: Retry,
}

impl Cluster {
    /// Connects as the target says: a kubeconfig file or context when given, else
    /// kube's inference (`$KUBECONFIG`, `~/.kube/config`, then in-cluster). Makes no request.
    pub async fn connect(target: &Target) -> Result<Cluster, ClusterError> {
        // kube's rustls config takes the process's provider: ring, the project's one TLS stack.
        crate::http::ensure_tls();
        let options = KubeConfigOptions { context: target.context.clone(), ..Default::default() };
        let config = match &target.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path).map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))?;
                Config::from_custom_kubeconfig(kc, &options).await.map_err(|e| ClusterError::Config(e.to_string()))?
            }
            None if target.context.is_some() => Config::from_kubeconfig(&options).await.map_err(|e| ClusterError::Config(e.to_string()))?,
            None => Config::infer().await.map_err(|e| ClusterError::Config(e.to_string()))?,
        };
        // One bound on retries, ours (`Retry`): kube's own layer would retry 429/503/504 up to
        // 15 more times beneath it.
        let mut config = config;
        config.default_retry = false;
        let client = Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster::from_client(client, &target.namespace))
    }

    /// A cluster over an existing client (tests hand in a `tower-test` mock service).
    pub fn from_client(client: Client, namespace: &str) -> Cluster {
        Cluster { client, namespace: namespace.to_string(), retry: Retry::default() }
    }

    /// The same cluster with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Cluster {
        self.retry = retry;
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The API of a kind: in `namespace` (default: ours) when namespaced, else cluster-wide.
    pub fn api(&self, kind: &Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        if kind.namespaced {
            Api::namespaced_with(self.client.clone(), namespace.unwrap_or(&self.namespace), &kind.resource)
        } else {
            Api::all_with(self.client.clone(), &kind.resource)
        }
    }

    /// Asks the API server for its version: tells whether a context answers.
    pub async fn ping(&self) -> Result<String, ClusterError> {
        let v = self
            .client
            .apiserver_version()
            .await
            .map_err(|source| ClusterError::Api { what: "asking the API server for its version".into(), source })?;
        Ok(v.git_version)
    }

    /// Server-side apply of one object (forced, field manager `loadbuild`); returns it as stored.
    pub async fn apply(&self, obj: &DynamicObject) -> Result<DynamicObject, ClusterError> {
        let r =
            ObjRef::of(obj, &self.namespace).ok_or_else(|| ClusterError::Invalid("an object without apiVersion, kind or name".into()))?;
        let mut body = obj.clone();
        if r.kind.namespaced {
            body.metadata.namespace = r.namespace.clone();
        }
        let api = self.api(&r.kind, r.namespace.as_deref());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(&body);
        self.retry.run(&format!("applying {r}"), || api.patch(&r.name, &params, &patch)).await
    }

    /// Creates an object (POST); 409 AlreadyExists is returned as is, never retried.
    pub async fn create(&self, kind: &Kind, obj: &DynamicObject) -> Result<DynamicObject, ClusterError> {
        let api = self.api(kind, obj.metadata.namespace.as_deref());
        let what = format!("creating {} {}", kind.kind(), obj.metadata.name.as_deref().unwrap_or("?"));
        let params = PostParams::default();
        self.retry.run_create(&what, || api.create(&params, obj)).await
    }

    /// One object, or none when it does not exist.
    pub async fn get(&self, r: &ObjRef) -> Result<Option<DynamicObject>, ClusterError> {
        let api = self.api(&r.kind, r.namespace.as_deref());
        self.retry.run(&format!("reading {r}"), || api.get_opt(&r.name)).await
    }

    /// The objects of a kind matching a label selector (`a=b,c`), in our namespace or cluster-wide.
    pub async fn list(&self, kind: &Kind, selector: &str) -> Result<Vec<DynamicObject>, ClusterError> {
        let api = self.api(kind, None);
        let params = ListParams::default().labels(selector);
        let what = format!("listing {} with labels {selector}", kind.resource.plural);
        Ok(self.retry.run(&what, || api.list(&params)).await?.items)
    }

    /// Deletes one object (background propagation); a missing object is not an error.
    /// Returns whether it existed.
    pub async fn delete(&self, r: &ObjRef) -> Result<bool, ClusterError> {
        let api = self.api(&r.kind, r.namespace.as_deref());
        let params = DeleteParams::background();
        let what = format!("deleting {r}");
        let result = self.retry.run(&what, || api.delete(&r.name, &params)).await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes every object of a kind matching the selector, one by one; returns what it deleted.
    pub async fn delete_labelled(&self, kind: &Kind, selector: &str) -> Result<Vec<ObjRef>, ClusterError> {
        let mut deleted = Vec::new();
        for obj in self.list(kind, selector).await? {
            if let Some(r) = ObjRef::of(&obj, &self.namespace)
                && self.delete(&r).await?
            {
                deleted.push(r);
            }
        }
        Ok(deleted)
    }
}
