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
use super::{
    AppLog, CellMetrics, DriverExecution, DriverTimings, JobScope, MetricsError, cell_metrics, check_plans, read_event_log_scoped,
};

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
    /// Operators every measured execution's physical plan must contain (the workload's
    /// `-- plan:` line, forwarded by the driver); empty: no check.
    #[serde(default)]
    pub plan_must_contain: Vec<String>,
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
    /// Why the plan check failed, or why it could not be made (absent: passed or none required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_check: Option<String>,
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
    let (mut status, mut error) = run_status(result.as_ref(), command_failed)?;
    let loaded = load_log(run_dir, result.as_ref(), status == RunStatus::Failed, history)?;
    if let (Some(want), Some(found)) = (result.as_ref().and_then(|r| r.app_id.as_ref()), loaded.log.app_id.as_ref())
        && want != found
    {
        return Err(RunError::WrongApp { log: loaded.shown, found: found.clone(), want: want.clone() });
    }
    let driver = DriverTimings {
        executions: result.as_ref().map(|r| r.executions.clone()).unwrap_or_default(),
        run_retries: result.as_ref().and_then(|r| r.attempt).map(|a| a.saturating_sub(1)),
    };
    let mut metrics = cell_metrics(&loaded.log, &driver);
    if let Some(reason) = &loaded.no_log {
        metrics.without_event_log(reason);
    }
    let required = result.as_ref().map(|r| r.plan_must_contain.as_slice()).unwrap_or_default();
    // A log read through the REST API has no plans: said in `plan_check`, not failed.
    let plan_check = match &loaded.history {
        Some(h) if h.via == "rest" && !required.is_empty() => {
            Some("not checked: the History Server's REST API gives no physical plans".to_string())
        }
        _ if status == RunStatus::Succeeded => check_plans(required, &metrics.executions).err().inspect(|e| {
            status = RunStatus::Failed;
            error = Some(format!("plan check: {e}"));
        }),
        _ => None,
    };
    if status == RunStatus::Failed {
        metrics.mark_run_failed(error.as_deref().unwrap_or("no error text"));
    }
    Ok(MetricsFile {
        schema: SCHEMA,
        cell: cell.to_string(),
        run_status: status,
        error,
        event_log_error: loaded.error,
        history_server: loaded.history,
        plan_check,
        metrics,
    })
}

/// How the run ended: `result.json`'s word, overruled by a command that exited non-zero.
fn run_status(result: Option<&RunResult>, command_failed: bool) -> Result<(RunStatus, Option<String>), RunError> {
    Ok(match (result, command_failed) {
        (None, false) => return Err(RunError::NoResult),
        (None, true) => (RunStatus::Failed, Some(format!("the run command failed before writing `{RESULT_FILE}` (see its log)"))),
        (Some(r), false) => (r.status, r.error.clone()),
        (Some(r), true) if r.status == RunStatus::Succeeded => {
            (RunStatus::Failed, Some(format!("the run command exited non-zero although `{RESULT_FILE}` says `succeeded`")))
        }
        (Some(r), true) => (RunStatus::Failed, r.error.clone()),
    })
}

/// The application's log, as far as it can be had.
struct Loaded {
    log: AppLog,
    /// Where it came from, as error messages name it.
    shown: String,
    /// Why a failed run's log could not be read.
    error: Option<String>,
    /// Why the log's metrics are absent (a failed run without a usable log).
    no_log: Option<String>,
    history: Option<HistorySource>,
}

/// Reads `eventlog/`, or asks the History Server when the run copied none. A failed run may have
/// no log, or one cut off mid-write: its metrics then come from the driver alone.
fn load_log(run_dir: &Path, result: Option<&RunResult>, failed: bool, history: Option<&HistoryServer>) -> Result<Loaded, RunError> {
    let scope = match result.and_then(|r| r.connect_session_id.clone()) {
        Some(session) => JobScope::ConnectSession(session),
        None => JobScope::Application,
    };
    let without = |shown: String, error: Option<String>, why: String| Loaded {
        log: AppLog::default(),
        shown,
        error,
        no_log: Some(why),
        history: None,
    };
    let app_id = result.and_then(|r| r.app_id.clone());
    match (find_log(run_dir)?, history) {
        (Some(path), _) => {
            let shown = shown(run_dir, &path);
            match read_event_log_scoped(&path, &scope) {
                Ok(log) => Ok(Loaded { log, shown, error: None, no_log: None, history: None }),
                Err(e) if failed => {
                    let e = relative(run_dir, &e);
                    Ok(without(shown, Some(e.clone()), format!("the run's event log is unreadable: {e}")))
                }
                Err(e) => Err(RunError::EventLog(relative(run_dir, &e))),
            }
        }
        (None, Some(hs)) if app_id.is_some() || !failed => {
            let app = app_id.ok_or(RunError::NoAppId)?;
            let shown = format!("{}/api/v1/applications/{app}", hs.base);
            match hs.app_log(&app, &scope) {
                Ok((log, how)) => {
                    let (via, why) = match how {
                        Fetched::EventLog => ("event_log", None),
                        Fetched::Rest { why } => ("rest", Some(why)),
                    };
                    let history = Some(HistorySource { url: hs.base.clone(), via, why });
                    Ok(Loaded { log, shown, error: None, no_log: None, history })
                }
                Err(e) if failed => Ok(without(shown, Some(e.to_string()), format!("the History Server could not give the log: {e}"))),
                Err(e) => Err(RunError::History(e.to_string())),
            }
        }
        (None, _) if failed => Ok(without(String::new(), None, format!("the run left no event log in `{EVENT_LOG_DIR}/`"))),
        (None, _) => Err(RunError::NoEventLog),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: RunStatus, error: Option<&str>) -> RunResult {
        let json = serde_json::json!({"schema": 1, "cell": "c", "status": status, "error": error});
        serde_json::from_value(json).expect("minimal result.json")
    }

    #[test]
    fn a_command_that_failed_overrules_a_result_that_says_succeeded() {
        let ok = result(RunStatus::Succeeded, None);
        assert_eq!(run_status(Some(&ok), false).expect("ok"), (RunStatus::Succeeded, None));
        let (status, error) = run_status(Some(&ok), true).expect("failed");
        assert_eq!(status, RunStatus::Failed);
        assert!(error.expect("says why").contains("exited non-zero although"));
        let failed = result(RunStatus::Failed, Some("boom"));
        assert_eq!(run_status(Some(&failed), true).expect("failed"), (RunStatus::Failed, Some("boom".into())));
        assert!(matches!(run_status(None, false), Err(RunError::NoResult)));
        assert_eq!(run_status(None, true).expect("failed").0, RunStatus::Failed);
    }
}
