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

/// A node id as a file name: anything but `[A-Za-z0-9._-]` becomes `_`.
pub fn file_name(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

/// The last `lines` lines of a log file (empty when it cannot be read).
pub fn tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The backend called `name`, or an error saying what exists.
pub fn by_name(name: &str) -> Result<Box<dyn Backend>, String> {
    match name {
        "local" => Ok(Box::new(local::Local)),
        "kubernetes" => Err("the `kubernetes` backend is not built yet: it needs a cluster (kube-rs against the current kubeconfig context); use `--backend local`".into()),
        other => Err(format!("unknown backend `{other}`; known backends: local, kubernetes")),
    }
}
