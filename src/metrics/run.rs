//! A run node's output (`result.json`, `eventlog/`; docs/runs.md) → the metrics node's `metrics.json`.
//!
//! A function of the run's files and of whether its command failed, nothing else: error texts
//! name files relative to the run's directory, so the same run gives the same bytes in any cache.
//! A failed run still yields metrics (what its log and driver show, with `succeeded = 0`); a run
//! that claims success but whose files break the contract is an error, never a guess.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::history::{Fetched, HistoryServer};
use super::{AppLog, CellMetrics, DriverExecution, DriverTimings, JobScope, MetricsError, cell_metrics, read_event_log_scoped};

/// The version of `result.json` and `metrics.json` this code reads and writes.
pub const SCHEMA: u32 = 1;
pub const RESULT_FILE: &str = "result.json";
pub const EVENT_LOG_DIR: &str = "eventlog";
pub const METRICS_FILE: &str = "metrics.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// What the metrics read from `result.json` (other fields are the report's business).
#[derive(Debug, Clone, Deserialize)]
pub struct RunResult {
    pub schema: u32,
    pub cell: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub connect_session_id: Option<String>,
    pub status: RunStatus,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub executions: Vec<DriverExecution>,
    /// `$LOADBUILD_ATTEMPT` of the run command that wrote this file (1 = first try).
    #[serde(default)]
    pub attempt: Option<u32>,
}

/// `metrics.json`: one cell's three tiers and how its run ended.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsFile {
    pub schema: u32,
    pub cell: String,
    pub run_status: RunStatus,
    pub error: Option<String>,
    /// A failed run's event log that could not be read (its metrics then come from the driver only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_log_error: Option<String>,
    /// Set when the application came from a History Server rather than `eventlog/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_server: Option<HistorySource>,
    pub metrics: CellMetrics,
}

/// Which History Server gave the application, and how.
#[derive(Debug, Clone, Serialize)]
pub struct HistorySource {
    pub url: String,
    /// `event_log` (its `/logs`, read by the parser) or `rest` (its REST fields).
    pub via: &'static str,
    /// Why the REST fields were used instead of the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the run's `{file}`: {source}")]
    Io { file: String, source: io::Error },
    #[error("the run's `{RESULT_FILE}` is not valid: {source}")]
    BadResult { source: serde_json::Error },
    #[error("the run's `{RESULT_FILE}` has schema {found}; this loadbuild reads schema {SCHEMA} (docs/runs.md)")]
    Schema { found: u32 },
    #[error("the run's `{RESULT_FILE}` is for cell `{found}`, not `{cell}`: the run rule copied another cell's output")]
    WrongCell { cell: String, found: String },
    #[error("the run succeeded but wrote no `{RESULT_FILE}` (docs/runs.md lists what a run must write)")]
    NoResult,
    #[error("the run succeeded but left no event log in `{EVENT_LOG_DIR}/` (and the metrics rule names no `history_server`)")]
    NoEventLog,
    #[error("the run left no event log in `{EVENT_LOG_DIR}/` and `{RESULT_FILE}` has no `app_id` to look up on the History Server")]
    NoAppId,
    #[error("{0}")]
    History(String),
    #[error("`{EVENT_LOG_DIR}/` holds {0} entries; a run copies exactly one application's log there")]
    SeveralLogs(usize),
    #[error("`{log}` is the log of application `{found}`, but `{RESULT_FILE}` names `{want}`")]
    WrongApp { log: String, found: String, want: String },
    #[error("{0}")]
    EventLog(String),
}

/// Reads the run output in `run_dir` for `cell`; `command_failed` is whether the run command
/// exited non-zero (its output recorded as a failed outcome). Without `eventlog/`, the
/// application is fetched from `history` when given (a remote backend's runs leave their logs
/// on the cluster).
pub fn metrics_of_run(run_dir: &Path, cell: &str, command_failed: bool, history: Option<&HistoryServer>) -> Result<MetricsFile, RunError> {
    let result = read_result(run_dir)?;
    if let Some(r) = &result {
        if r.schema != SCHEMA {
            return Err(RunError::Schema { found: r.schema });
        }
        if r.cell != cell {
            return Err(RunError::WrongCell { cell: cell.to_string(), found: r.cell.clone() });
        }
    }
    let (status, error) = match (&result, command_failed) {
        (None, false) => return Err(RunError::NoResult),
        (None, true) => (RunStatus::Failed, Some(format!("the run command failed before writing `{RESULT_FILE}` (see its log)"))),
        (Some(r), false) => (r.status, r.error.clone()),
        (Some(r), true) => {
            let contradiction = format!("the run command exited non-zero although `{RESULT_FILE}` says `succeeded`");
            (RunStatus::Failed, if r.status == RunStatus::Succeeded { Some(contradiction) } else { r.error.clone() })
        }
    };
    let failed = status == RunStatus::Failed;
    let scope = match result.as_ref().and_then(|r| r.connect_session_id.clone()) {
        Some(session) => JobScope::ConnectSession(session),
        None => JobScope::Application,
    };
    // A failed run may have no log, or one cut off mid-write: its metrics then come from the
    // driver alone, and `no_log` says why the others are absent.
    let mut history_source = None;
    let local = find_log(run_dir)?;
    let app_id = result.as_ref().and_then(|r| r.app_id.clone());
    let (log, event_log_error, no_log) = match local {
        None if history.is_some() && (app_id.is_some() || !failed) => {
            let hs = history.expect("checked");
            let app = app_id.ok_or(RunError::NoAppId)?;
            match hs.app_log(&app, &scope) {
                Ok((log, how)) => {
                    let (via, why) = match how {
                        Fetched::EventLog => ("event_log", None),
                        Fetched::Rest { why } => ("rest", Some(why)),
                    };
                    history_source = Some(HistorySource { url: hs.base.clone(), via, why });
                    (log, None, None)
                }
                Err(e) if failed => {
                    (AppLog::default(), Some(e.to_string()), Some(format!("the History Server could not give the log: {e}")))
                }
                Err(e) => return Err(RunError::History(e.to_string())),
            }
        }
        None if failed => (AppLog::default(), None, Some(format!("the run left no event log in `{EVENT_LOG_DIR}/`"))),
        None => return Err(RunError::NoEventLog),
        Some(path) => match read_event_log_scoped(&path, &scope) {
            Ok(log) => (log, None, None),
            Err(e) if failed => {
                let e = relative(run_dir, &e);
                (AppLog::default(), Some(e.clone()), Some(format!("the run's event log is unreadable: {e}")))
            }
            Err(e) => return Err(RunError::EventLog(relative(run_dir, &e))),
        },
    };
    if let (Some(want), Some(found)) = (result.as_ref().and_then(|r| r.app_id.as_ref()), log.app_id.as_ref())
        && want != found
    {
        let log = find_log(run_dir)?.map(|p| shown(run_dir, &p)).unwrap_or_default();
        return Err(RunError::WrongApp { log, found: found.clone(), want: want.clone() });
    }
    let driver = DriverTimings {
        executions: result.as_ref().map(|r| r.executions.clone()).unwrap_or_default(),
        run_retries: result.as_ref().and_then(|r| r.attempt).map(|a| a.saturating_sub(1)),
    };
    let mut metrics = cell_metrics(&log, &driver);
    if let Some(reason) = &no_log {
        metrics.without_event_log(reason);
    }
    if failed {
        metrics.mark_run_failed(error.as_deref().unwrap_or("no error text"));
    }
    Ok(MetricsFile {
        schema: SCHEMA,
        cell: cell.to_string(),
        run_status: status,
        error,
        event_log_error,
        history_server: history_source,
        metrics,
    })
}

fn read_result(run_dir: &Path) -> Result<Option<RunResult>, RunError> {
    match fs::read(run_dir.join(RESULT_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| RunError::BadResult { source }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RunError::Io { file: RESULT_FILE.into(), source }),
    }
}

/// The one log in `eventlog/` (a file, or a Spark 4 rolling directory), ignoring hidden entries
/// such as Hadoop's `.crc` checksums; `None` when there is no log.
fn find_log(run_dir: &Path) -> Result<Option<PathBuf>, RunError> {
    let dir = run_dir.join(EVENT_LOG_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(RunError::Io { file: format!("{EVENT_LOG_DIR}/"), source }),
    };
    let io_err = |source| RunError::Io { file: format!("{EVENT_LOG_DIR}/"), source };
    let mut logs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err)?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            logs.push(entry.path());
        }
    }
    match logs.len() {
        0 | 1 => Ok(logs.pop()),
        n => Err(RunError::SeveralLogs(n)),
    }
}

fn shown(run_dir: &Path, path: &Path) -> String {
    path.strip_prefix(run_dir).unwrap_or(path).display().to_string()
}

/// An event-log error with paths relative to the run's directory.
fn relative(run_dir: &Path, e: &MetricsError) -> String {
    let mut prefix = run_dir.display().to_string();
    prefix.push('/');
    e.to_string().replace(&prefix, "")
}
