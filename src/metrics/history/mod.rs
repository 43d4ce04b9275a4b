//! A Spark History Server as a metrics source, for backends whose event logs stay on the cluster.
//!
//! Only the run's own application is read (`/api/v1/applications/<app>/…`), never a sum over the
//! server. The event log itself (`/logs`, a zip) is preferred: it goes through the same streaming
//! parser as a local log, so both paths give the same metrics. When the server cannot hand out a
//! log the parser reads (an error, a compacted rolling log), the application is rebuilt from the
//! REST fields instead (`rest.rs`), subject to the server's `spark.ui.retained*` limits.
mod rest;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{AppLog, JobScope, MetricsError, read_event_log_scoped};

/// Where an application's metrics came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The event log from `/logs`, read by the event-log parser.
    EventLog,
    /// The REST fields, because the log could not be used (the reason).
    Rest { why: String },
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("History Server `{url}`: {detail}")]
    Http { url: String, detail: String },
    #[error("History Server `{url}` answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error(
        "application `{app}` is not on the History Server `{base}`: is its `spark.eventLog.dir` the server's \
         `spark.history.fs.logDirectory`, and has the server scanned it yet (`spark.history.fs.update.interval`)?"
    )]
    UnknownApp { app: String, base: String },
    #[error("History Server `{url}`: unexpected JSON: {source}")]
    Json { url: String, source: serde_json::Error },
    #[error("History Server `{url}`: {detail}")]
    Zip { url: String, detail: String },
    #[error("{0}")]
    Log(#[from] MetricsError),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
}

/// A History Server's REST API at `base` (e.g. `http://history:18080`).
pub struct HistoryServer {
    /// The URL the server was given as, without a trailing `/`.
    pub base: String,
    /// The client, or why none could be built (reported by the first request).
    client: Result<reqwest::blocking::Client, String>,
}

impl HistoryServer {
    /// `timeout` bounds each response: the server may replay a large log before it answers.
    pub fn new(base: &str, timeout: Duration) -> HistoryServer {
        crate::http::ensure_tls();
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .build()
            .map_err(|e| format!("building the HTTP client: {}", error_chain(&e)));
        HistoryServer { base: base.trim_end_matches('/').to_string(), client }
    }

    /// The application's jobs in `scope`, from its event log when the server hands it out,
    /// else from the REST fields; says which.
    pub fn app_log(&self, app: &str, scope: &JobScope) -> Result<(AppLog, Fetched), HistoryError> {
        self.application(app)?;
        match self.event_log(app, scope) {
            Ok(log) => Ok((log, Fetched::EventLog)),
            Err(e @ (HistoryError::Http { .. } | HistoryError::UnknownApp { .. })) => Err(e),
            Err(e) => Ok((self.rest(app, scope)?, Fetched::Rest { why: e.to_string() })),
        }
    }

    /// Downloads the application's event log (`/logs`) and reads it with the event-log parser.
    pub fn event_log(&self, app: &str, scope: &JobScope) -> Result<AppLog, HistoryError> {
        let url = self.url(&format!("applications/{app}/logs"));
        let scratch = tempfile::Builder::new()
            .prefix("loadbuild-history-")
            .tempdir()
            .map_err(|source| HistoryError::Io { what: "creating a scratch directory".into(), source })?;
        let zip_path = scratch.path().join("logs.zip");
        let mut response = self.get(&url)?;
        let mut file =
            File::create(&zip_path).map_err(|source| HistoryError::Io { what: format!("writing `{}`", zip_path.display()), source })?;
        // Streamed to disk: a log may be GiBs, and memory must not grow with it.
        io::copy(&mut response, &mut file)
            .map_err(|e| HistoryError::Http { url: url.clone(), detail: format!("reading the log archive: {e}") })?;
        drop(file);
        let log = unzip_log(&zip_path, &scratch.path().join("log")).map_err(|detail| HistoryError::Zip { url, detail })?;
        Ok(read_event_log_scoped(&log, scope)?)
    }

    /// Rebuilds the application from the REST fields (jobs, stages, every task, executors).
    pub fn rest(&self, app: &str, scope: &JobScope) -> Result<AppLog, HistoryError> {
        rest::app_log(self, app, scope)
    }

    /// `GET /applications/<app>`, with a clear error when the server does not know it.
    fn application(&self, app: &str) -> Result<rest::Application, HistoryError> {
        match self.json(&format!("applications/{app}")) {
            Err(HistoryError::Status { status: 404, .. }) => Err(HistoryError::UnknownApp { app: app.into(), base: self.base.clone() }),
            other => other,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base)
    }

    fn get(&self, url: &str) -> Result<reqwest::blocking::Response, HistoryError> {
        let client = self.client.as_ref().map_err(|detail| HistoryError::Http { url: url.into(), detail: detail.clone() })?;
        let response = client.get(url).send().map_err(|e| HistoryError::Http { url: url.into(), detail: error_chain(&e) })?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.text().unwrap_or_default();
            let body = body.lines().next().unwrap_or("").chars().take(300).collect();
            return Err(HistoryError::Status { url: url.into(), status, body });
        }
        Ok(response)
    }

    /// `GET /api/v1/<path>` as JSON.
    fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HistoryError> {
        let url = self.url(path);
        let response = self.get(&url)?;
        serde_json::from_reader(io::BufReader::new(response)).map_err(|source| HistoryError::Json { url, source })
    }
}

/// reqwest's error with its causes (its own text alone is often just "error sending request").
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Extracts the archive `/logs` returns into `dest` and gives the one log in it: a file, or a
/// rolling `eventlog_v2_<app>/` directory. Several logs mean several attempts, which loadbuild's
/// runs never make.
fn unzip_log(zip_path: &Path, dest: &Path) -> Result<PathBuf, String> {
    let file = File::open(zip_path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("the log archive is not a zip file: {e}"))?;
    let mut tops: Vec<String> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| format!("log archive entry {i}: {e}"))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(format!("log archive entry {i} points outside the archive"));
        };
        if let Some(top) = rel.components().next() {
            let top = top.as_os_str().to_string_lossy().into_owned();
            if !tops.contains(&top) {
                tops.push(top);
            }
        }
        let out = dest.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(|e| format!("`{}`: {e}", out.display()))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("`{}`: {e}", parent.display()))?;
        }
        let mut target = File::create(&out).map_err(|e| format!("`{}`: {e}", out.display()))?;
        io::copy(&mut entry, &mut target).map_err(|e| format!("extracting `{}`: {e}", rel.display()))?;
    }
    match tops.as_slice() {
        [one] => Ok(dest.join(one)),
        [] => Err("the log archive is empty".into()),
        many => Err(format!("the log archive holds {} logs ({}), one per attempt; expected one", many.len(), many.join(", "))),
    }
}
