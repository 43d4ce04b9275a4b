//! The history of reports: one record per report (its run id, commit, time, and each cell's
//! median per metric), kept in an embedded JSON-lines file or in PostgreSQL.
//!
//! Appending is idempotent by run id: the same measurements reported twice are recorded once.
//! A file record is one `write` of one line; a torn last line (a crash mid-write) is ignored
//! by readers and cut by the next append. PostgreSQL appends a run and its rows in one
//! transaction. Trends read the last N runs of the project and backend, whatever their tier.
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::Results;

pub const HISTORY_SCHEMA: u32 = 1;

/// One report as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRun {
    pub schema: u32,
    pub run: String,
    pub project: String,
    pub tier: String,
    pub backend: String,
    /// RFC 3339, UTC, seconds.
    pub recorded_at: String,
    pub commit: Option<String>,
    pub loadbuild: String,
    pub cells: Vec<HistoryCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryCell {
    pub cell: String,
    /// The metrics output digest: the same digest in two runs is one measurement, counted once.
    pub digest: String,
    pub metrics: BTreeMap<String, HistoryPoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
}

impl HistoryRun {
    /// The record of a report: every measured cell that did not fail, with its medians.
    pub fn from_results(results: &Results, recorded_at: String, commit: Option<String>) -> HistoryRun {
        let cells = results
            .cells
            .iter()
            .filter(|c| c.status != super::model::CellStatus::Failed)
            .filter_map(|c| {
                let digest = c.metrics_digest.clone()?;
                let metrics: BTreeMap<String, HistoryPoint> = c
                    .metrics
                    .iter()
                    .filter_map(|m| m.summary.as_ref().map(|s| (m.name.clone(), HistoryPoint { n: s.n, median: s.median, mean: s.mean })))
                    .collect();
                (!metrics.is_empty()).then(|| HistoryCell { cell: c.id.clone(), digest, metrics })
            })
            .collect();
        HistoryRun {
            schema: HISTORY_SCHEMA,
            run: results.run.id.clone(),
            project: results.run.project.clone(),
            tier: results.run.tier.clone(),
            backend: results.run.backend.clone(),
            recorded_at,
            commit,
            loadbuild: results.run.loadbuild_version.clone(),
            cells,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history file `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("history file `{path}` line {line}: {message}")]
    Corrupt { path: PathBuf, line: usize, message: String },
    #[error("history database {target}: {source}")]
    Postgres { target: String, source: postgres::Error },
}

/// Where the history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryStore {
    File(PathBuf),
    /// A PostgreSQL connection string (may hold a password: never print it, use `describe`).
    Postgres(String),
}

impl HistoryStore {
    /// PostgreSQL when the variable `url_env` is set and not empty, else the file `file`.
    pub fn from_env(url_env: &str, file: PathBuf) -> HistoryStore {
        match std::env::var(url_env) {
            Ok(url) if !url.trim().is_empty() => HistoryStore::Postgres(url),
            _ => HistoryStore::File(file),
        }
    }

    /// A description without credentials: `file cache/history.jsonl`, `postgresql 127.0.0.1:5432/db`.
    pub fn describe(&self) -> String {
        match self {
            HistoryStore::File(p) => format!("file {}", p.strip_prefix(".").unwrap_or(p).display()),
            HistoryStore::Postgres(url) => format!("postgresql {}", postgres_target(url)),
        }
    }

    /// The last `limit` runs of `project` on `backend`, oldest first.
    pub fn load(&self, project: &str, backend: &str, limit: usize) -> Result<Vec<HistoryRun>, HistoryError> {
        match self {
            HistoryStore::File(p) => file_load(p, project, backend, limit),
            HistoryStore::Postgres(url) => pg::load(url, project, backend, limit).map_err(|e| self.pg_error(e)),
        }
    }

    /// Appends `run` unless a run with its id is already recorded; true when it was appended.
    pub fn append(&self, run: &HistoryRun) -> Result<bool, HistoryError> {
        match self {
            HistoryStore::File(p) => file_append(p, run),
            HistoryStore::Postgres(url) => pg::append(url, run).map_err(|e| self.pg_error(e)),
        }
    }

    fn pg_error(&self, source: postgres::Error) -> HistoryError {
        let HistoryStore::Postgres(url) = self else { unreachable!("only PostgreSQL stores make PostgreSQL errors") };
        HistoryError::Postgres { target: postgres_target(url), source }
    }
}

/// `host:port/dbname` of a connection string, for messages; never the user or password.
fn postgres_target(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(cfg) => {
            let host = match cfg.get_hosts().first() {
                Some(postgres::config::Host::Tcp(h)) => h.clone(),
                Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
                None => "localhost".into(),
            };
            let port = cfg.get_ports().first().copied().unwrap_or(5432);
            format!("{host}:{port}/{}", cfg.get_dbname().unwrap_or("(default database)"))
        }
        Err(_) => "(unparsable connection string)".into(),
    }
}

/// Reads every complete line; a torn last line is skipped, a bad line elsewhere is an error.
fn file_records(path: &Path) -> Result<(Vec<HistoryRun>, u64), HistoryError> {
    let io = |source| HistoryError::Io { path: path.to_path_buf(), source };
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io(e)),
    };
    let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut runs = Vec::new();
    for (i, line) in text[..complete].split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let run: HistoryRun = serde_json::from_slice(line).map_err(|e| HistoryError::Corrupt {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("{e}; remove or repair the line"),
        })?;
        runs.push(run);
    }
    Ok((runs, complete as u64))
}

fn file_load(path: &Path, project: &str, backend: &str, limit: usize) -> Result<Vec<HistoryRun>, HistoryError> {
    let (runs, _) = file_records(path)?;
    let mine: Vec<HistoryRun> = runs.into_iter().filter(|r| r.project == project && r.backend == backend).collect();
    let skip = mine.len().saturating_sub(limit);
    Ok(mine.into_iter().skip(skip).collect())
}

fn file_append(path: &Path, run: &HistoryRun) -> Result<bool, HistoryError> {
    let io = |source| HistoryError::Io { path: path.to_path_buf(), source };
    let (runs, complete) = file_records(path)?;
    if runs.iter().any(|r| r.run == run.run) {
        return Ok(false);
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(path).map_err(io)?;
    // Cut a torn last line left by a crash, then write the record as one line in one call.
    f.set_len(complete).map_err(io)?;
    let mut line = serde_json::to_vec(run).expect("history records serialize");
    line.push(b'\n');
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(complete)).map_err(io)?;
    f.write_all(&line).map_err(io)?;
    f.sync_data().map_err(io)?;
    Ok(true)
}

mod pg {
    //! PostgreSQL: `loadbuild_runs` (one row per report) and `loadbuild_results` (one row per
    //! cell × metric of a report), created on first use.
    use std::collections::BTreeMap;

    use postgres::{Client, NoTls};

    use super::{HISTORY_SCHEMA, HistoryCell, HistoryPoint, HistoryRun};

    const SCHEMA_SQL: &str = "
        CREATE TABLE IF NOT EXISTS loadbuild_runs (
            seq         BIGSERIAL PRIMARY KEY,
            run         TEXT NOT NULL UNIQUE,
            project     TEXT NOT NULL,
            tier        TEXT NOT NULL,
            backend     TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            git_commit  TEXT,
            loadbuild   TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS loadbuild_runs_project ON loadbuild_runs (project, backend, seq);
        CREATE TABLE IF NOT EXISTS loadbuild_results (
            run_seq BIGINT NOT NULL REFERENCES loadbuild_runs (seq) ON DELETE CASCADE,
            cell    TEXT NOT NULL,
            digest  TEXT NOT NULL,
            metric  TEXT NOT NULL,
            n       INTEGER NOT NULL,
            median  DOUBLE PRECISION NOT NULL,
            mean    DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (run_seq, cell, metric)
        );";

    fn connect(url: &str) -> Result<Client, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(SCHEMA_SQL)?;
        Ok(client)
    }

    pub fn load(url: &str, project: &str, backend: &str, limit: usize) -> Result<Vec<HistoryRun>, postgres::Error> {
        let mut client = connect(url)?;
        let rows = client.query(
            "SELECT seq, run, tier, recorded_at, git_commit, loadbuild FROM (
                 SELECT * FROM loadbuild_runs WHERE project = $1 AND backend = $2 ORDER BY seq DESC LIMIT $3
             ) last ORDER BY seq",
            &[&project, &backend, &(limit as i64)],
        )?;
        // `try_get`: tables made by someone else with other column types are an error, not a panic.
        let seqs: Vec<i64> = rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
        let mut runs: Vec<HistoryRun> = rows
            .iter()
            .map(|r| {
                Ok(HistoryRun {
                    schema: HISTORY_SCHEMA,
                    run: r.try_get(1)?,
                    project: project.to_string(),
                    tier: r.try_get(2)?,
                    backend: backend.to_string(),
                    recorded_at: r.try_get(3)?,
                    commit: r.try_get(4)?,
                    loadbuild: r.try_get(5)?,
                    cells: Vec::new(),
                })
            })
            .collect::<Result<_, postgres::Error>>()?;
        let mut cells: Vec<BTreeMap<String, HistoryCell>> = vec![BTreeMap::new(); runs.len()];
        let results = client
            .query("SELECT run_seq, cell, digest, metric, n, median, mean FROM loadbuild_results WHERE run_seq = ANY($1)", &[&seqs])?;
        for r in results {
            let seq: i64 = r.try_get(0)?;
            let Ok(at) = seqs.binary_search(&seq) else { continue };
            let cell: String = r.try_get(1)?;
            let digest: String = r.try_get(2)?;
            let n: i32 = r.try_get(4)?;
            let point = HistoryPoint { n: n.max(0) as usize, median: r.try_get(5)?, mean: r.try_get(6)? };
            let entry = cells[at].entry(cell.clone()).or_insert_with(|| HistoryCell { cell, digest, metrics: BTreeMap::new() });
            entry.metrics.insert(r.try_get(3)?, point);
        }
        for (run, cells) in runs.iter_mut().zip(cells) {
            run.cells = cells.into_values().collect();
        }
        Ok(runs)
    }

    pub fn append(url: &str, run: &HistoryRun) -> Result<bool, postgres::Error> {
        let mut client = connect(url)?;
        let mut tx = client.transaction()?;
        let inserted = tx.query_opt(
            "INSERT INTO loadbuild_runs (run, project, tier, backend, recorded_at, git_commit, loadbuild)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run) DO NOTHING RETURNING seq",
            &[&run.run, &run.project, &run.tier, &run.backend, &run.recorded_at, &run.commit, &run.loadbuild],
        )?;
        let Some(row) = inserted else { return Ok(false) };
        let seq: i64 = row.try_get(0)?;
        let (mut cell, mut digest, mut metric, mut n, mut median, mut mean) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for c in &run.cells {
            for (name, p) in &c.metrics {
                cell.push(c.cell.as_str());
                digest.push(c.digest.as_str());
                metric.push(name.as_str());
                n.push(p.n as i32);
                median.push(p.median);
                mean.push(p.mean);
            }
        }
        // One statement for every row: thousands of rows per report, one round trip.
        tx.execute(
            "INSERT INTO loadbuild_results (run_seq, cell, digest, metric, n, median, mean)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::float8[])",
            &[&seq, &cell, &digest, &metric, &n, &median, &mean],
        )?;
        tx.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, backend: &str) -> HistoryRun {
        HistoryRun {
            schema: HISTORY_SCHEMA,
            run: id.into(),
            project: "p".into(),
            tier: "p0".into(),
            backend: backend.into(),
            recorded_at: "2026-11-27T00:00:00Z".into(),
            commit: None,
            loadbuild: "0.1.0".into(),
            cells: vec![HistoryCell {
                cell: "c".into(),
                digest: format!("d-{id}"),
                metrics: [("wall_time_s".to_string(), HistoryPoint { n: 5, median: 1.0, mean: 1.0 })].into(),
            }],
        }
    }

    #[test]
    fn file_history_appends_once_per_run_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::File(dir.path().join("h/history.jsonl"));
        assert!(store.append(&run("a", "local")).unwrap());
        assert!(!store.append(&run("a", "local")).unwrap(), "the same run is recorded once");
        assert!(store.append(&run("b", "kubernetes")).unwrap());
        // A crash mid-write leaves half a line: readers skip it, the next append cuts it.
        let path = dir.path().join("h/history.jsonl");
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"schema\":1,\"run\":\"tor").unwrap();
        let local = store.load("p", "local", 10).unwrap();
        assert_eq!(local.iter().map(|r| r.run.as_str()).collect::<Vec<_>>(), ["a"]);
        assert!(store.append(&run("c", "local")).unwrap());
        let local = store.load("p", "local", 10).unwrap();
        assert_eq!(local.iter().map(|r| r.run.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(store.load("p", "local", 1).unwrap()[0].run, "c", "the limit keeps the latest runs");
    }

    #[test]
    fn descriptions_never_show_a_password() {
        let s = HistoryStore::Postgres("postgresql://bob:secret@db.example:6543/loadbuild".into());
        assert_eq!(s.describe(), "postgresql db.example:6543/loadbuild");
    }
}
