//! Waiting for an object to reach a condition: a watch on that one object
//! (`kube::runtime::watcher`, which re-lists after a 410 and backs off on errors), bounded by
//! a timeout whose error names the object and the `kubectl` command that shows why.

use std::time::Duration;

use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;

use super::{Cluster, ClusterError, ObjRef};

/// What "ready" means for an object, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// A CRD whose `Established` condition is `True`.
    Established,
    /// A Deployment: `Available` is `True` and every desired replica is available.
    Available,
    /// A StatefulSet: every desired replica is ready and updated.
    StatefulSetReady,
    /// A Job: `Complete` is `True`.
    JobComplete,
}

impl Ready {
    /// The condition to wait for after applying an object of this kind, if any.
    pub fn for_kind(kind: &str) -> Option<Ready> {
        match kind {
            "CustomResourceDefinition" => Some(Ready::Established),
            "Deployment" => Some(Ready::Available),
            "StatefulSet" => Some(Ready::StatefulSetReady),
            "Job" => Some(Ready::JobComplete),
            _ => None,
        }
    }

    pub fn holds(self, obj: &DynamicObject) -> bool {
        let status = &obj.data["status"];
        let desired = obj.data["spec"]["replicas"].as_i64().unwrap_or(1);
        match self {
            Ready::Established => condition_true(status, "Established"),
            Ready::Available => condition_true(status, "Available") && status["availableReplicas"].as_i64().unwrap_or(0) >= desired,
            Ready::StatefulSetReady => {
                status["readyReplicas"].as_i64().unwrap_or(0) >= desired && status["updatedReplicas"].as_i64().unwrap_or(desired) >= desired
            }
            Ready::JobComplete => condition_true(status, "Complete"),
        }
    }

    /// A failure that will not heal by waiting (a Job that failed).
    pub fn failed(self, obj: &DynamicObject) -> bool {
        self == Ready::JobComplete && condition_true(&obj.data["status"], "Failed")
    }
}

/// Whether `status.conditions` has `type` with status `True`.
pub fn condition_true(status: &Value, kind: &str) -> bool {
    status["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"].as_str() == Some(kind) && c["status"].as_str() == Some("True")))
}

impl Cluster {
    /// Waits until `r` satisfies `ready`, at most `timeout`.
    pub async fn wait_ready(&self, r: &ObjRef, ready: Ready, timeout: Duration) -> Result<DynamicObject, ClusterError> {
        self.wait_until(r, timeout, |o| ready.holds(o), |o| ready.failed(o)).await
    }

    /// Waits until `done(obj)` holds for `r` (fails at once when `failed(obj)` holds).
    pub async fn wait_until(
        &self,
        r: &ObjRef,
        timeout: Duration,
        done: impl Fn(&DynamicObject) -> bool,
        failed: impl Fn(&DynamicObject) -> bool,
    ) -> Result<DynamicObject, ClusterError> {
        let api = self.api(&r.kind, r.namespace.as_deref());
        let config = watcher::Config::default().fields(&format!("metadata.name={}", r.name));
        let mut stream = Box::pin(watcher::watcher(api, config).default_backoff());
        let watch = async {
            while let Some(event) = stream.next().await {
                let obj = match event {
                    Ok(Event::Apply(o) | Event::InitApply(o)) => o,
                    _ => continue,
                };
                if done(&obj) {
                    return Ok(obj);
                }
                if failed(&obj) {
                    return Err(ClusterError::Invalid(format!("{r} failed (see `{}`)", r.kubectl("describe"))));
                }
            }
            Err(ClusterError::Invalid(format!("the watch on {r} ended")))
        };
        match tokio::time::timeout(timeout, watch).await {
            Ok(result) => result,
            Err(_) => Err(ClusterError::Timeout { what: r.to_string(), waited: timeout, command: r.kubectl("describe") }),
        }
    }
}
