//! Bounded retries of transient API errors: 409 Conflict (except on create, where it means
//! "already there"), 429 Too Many Requests, 5xx, and connections that failed or dropped.
//! Exponential backoff from `first`, capped at `max`, at most `attempts` tries in all.

use std::future::Future;
use std::time::Duration;

use super::ClusterError;

#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 6, first: Duration::from_millis(200), max: Duration::from_secs(5) }
    }
}

/// The status code of an API error, if the server sent one.
pub fn status_of(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Whether an error is worth another try.
pub fn is_transient(e: &kube::Error, create: bool) -> bool {
    match e {
        kube::Error::Api(s) => matches!(s.code, 429 | 500..=599) || (s.code == 409 && !create),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}

impl Retry {
    /// Runs `op` until it succeeds, fails for good, or the attempts are used up.
    pub async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        self.run_inner(what, false, op).await
    }

    /// As `run`, for a create: 409 AlreadyExists is an answer, not a transient error.
    pub async fn run_create<T, F, Fut>(&self, what: &str, op: F) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        self.run_inner(what, true, op).await
    }

    async fn run_inner<T, F, Fut>(&self, what: &str, create: bool, mut op: F) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut delay = self.first;
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if is_transient(&e, create) && attempt < self.attempts => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.max);
                    attempt += 1;
                }
                Err(e) if is_transient(&e, create) => {
                    return Err(ClusterError::Exhausted { what: what.to_string(), attempts: attempt, source: e });
                }
                Err(e) => return Err(ClusterError::Api { what: what.to_string(), source: e }),
            }
        }
    }
}
