//! Backends run `command` actions. The engine decides what runs; a backend only runs it.
//!
//! `local` runs commands on this machine. A backend reports how an attempt ended; whether
//! that is transient (retried, never cached) is the rule's decision, made by the executor.

pub mod local;
pub mod services;
pub mod toolchain;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// One attempt at a command.
#[derive(Debug, Clone)]
pub struct CommandJob {
    pub node: String,
    pub script: String,
    /// The empty directory the command fills (`$OUT`).
    pub out: PathBuf,
    /// Working directory: the project root.
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
    pub timeout: Option<Duration>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Success,
    Code(i32),
    Signal(i32),
    TimedOut(Duration),
    Cancelled,
    /// The process could not be started; `transient` when retrying may help (e.g. EAGAIN).
    SpawnFailed {
        error: String,
        transient: bool,
    },
}

pub trait Backend: Sync {
    fn name(&self) -> &'static str;
    /// Runs one attempt, stopping it when `cancel` becomes true or the timeout passes.
    fn run(&self, job: &CommandJob, cancel: &AtomicBool) -> Exit;
}

/// The backend called `name`, or an error saying what exists.
pub fn by_name(name: &str) -> Result<Box<dyn Backend>, String> {
    match name {
        "local" => Ok(Box::new(local::Local)),
        "kubernetes" => Err("the `kubernetes` backend is not built yet: it needs a cluster (kube-rs against the current kubeconfig context); use `--backend local`".into()),
        other => Err(format!("unknown backend `{other}`; known backends: local, kubernetes")),
    }
}
