//! Finds the files of one event log and hands their lines, one at a time, to a callback.
//!
//! Spark writes either a single file `<app>[.<codec>][.inprogress]` or (Spark 4 default, or
//! `spark.eventLog.rolling.enabled`) a directory `eventlog_v2_<app>/events_<N>_<app>[.<codec>]`
//! read in numeric order of N. Every event ends with a newline, so a last line without one is
//! reported as truncated rather than silently dropped — except at the end of a log still being
//! written (`<app>.inprogress`, or the last file of a rolling directory holding
//! `appstatus_<app>.inprogress`), where a partial last event is what a live writer leaves and
//! is dropped, as Spark's own replay does for in-progress logs.
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::MetricsError;

const BUFFER: usize = 1 << 18;

/// One file of an event log.
pub(crate) struct EventFile {
    pub path: PathBuf,
    /// Spark may still be writing it, so it may end inside an event.
    pub in_progress: bool,
}

/// The files of the event log at `path`, in reading order.
pub(crate) fn event_files(path: &Path) -> Result<Vec<EventFile>, MetricsError> {
    let io_err = |source| MetricsError::Io { path: path.to_path_buf(), source };
    if !path.metadata().map_err(io_err)?.is_dir() {
        let in_progress = path.to_string_lossy().ends_with(IN_PROGRESS);
        return Ok(vec![EventFile { path: path.to_path_buf(), in_progress }]);
    }
    let mut numbered = Vec::new();
    let mut in_progress = false;
    for entry in std::fs::read_dir(path).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        in_progress |= name.starts_with("appstatus_") && name.ends_with(IN_PROGRESS);
        if let Some(index) = rolling_index(&name) {
            if name.ends_with(".compact") {
                return Err(MetricsError::Compacted { path: entry.path() });
            }
            numbered.push((index, entry.path()));
        }
    }
    if numbered.is_empty() {
        return Err(MetricsError::EmptyRollingDir { path: path.to_path_buf() });
    }
    numbered.sort();
    let last = numbered.len() - 1;
    Ok(numbered.into_iter().enumerate().map(|(i, (_, path))| EventFile { path, in_progress: in_progress && i == last }).collect())
}

const IN_PROGRESS: &str = ".inprogress";

/// `events_12_local-1.zstd` → 12; anything else (e.g. `appstatus_…`) → `None`.
fn rolling_index(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("events_")?;
    rest.split('_').next()?.parse().ok()
}

/// The compression codec named by a file's extension, ignoring `.inprogress`.
fn codec(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    let name = name.strip_suffix(IN_PROGRESS).unwrap_or(&name);
    let ext = name.rsplit_once('.')?.1;
    ["zstd", "zst", "lz4", "lzf", "snappy", "gz"].contains(&ext).then(|| ext.to_string())
}

fn open(path: &Path) -> Result<Box<dyn BufRead>, MetricsError> {
    let io_err = |source| MetricsError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_err)?;
    match codec(path).as_deref() {
        None => Ok(Box::new(BufReader::with_capacity(BUFFER, file))),
        Some("zstd" | "zst") => {
            let decoder = zstd::Decoder::new(file).map_err(io_err)?;
            Ok(Box::new(BufReader::with_capacity(BUFFER, decoder)))
        }
        Some(other) => Err(MetricsError::UnsupportedCodec { path: path.to_path_buf(), codec: other.to_string() }),
    }
}

/// Calls `each(line, file, line_number)` for every non-empty line of every file, in order.
/// The line excludes its newline; line numbers start at 1 in each file.
pub(crate) fn for_each_line(
    files: &[EventFile],
    mut each: impl FnMut(&[u8], &Path, u64) -> Result<(), MetricsError>,
) -> Result<(), MetricsError> {
    let mut buf = Vec::with_capacity(1 << 16);
    for EventFile { path, in_progress } in files {
        let mut input = open(path)?;
        let mut line = 0u64;
        loop {
            buf.clear();
            line += 1;
            let n = match read_line(&mut input, &mut buf) {
                Ok(n) => n,
                Err(e) if *in_progress && e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(decode_error(path, line, e)),
            };
            if n == 0 {
                break;
            }
            if buf.last() != Some(&b'\n') {
                if *in_progress {
                    break;
                }
                return Err(MetricsError::Truncated {
                    path: path.clone(),
                    line,
                    detail: "last line has no newline (the writer stopped mid-event)",
                });
            }
            let text = trim_line_end(&buf);
            if !text.iter().all(u8::is_ascii_whitespace) {
                each(text, path, line)?;
            }
        }
    }
    Ok(())
}

fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<usize> {
    input.read_until(b'\n', buf)
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn decode_error(path: &Path, line: u64, e: io::Error) -> MetricsError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        MetricsError::Truncated { path: path.to_path_buf(), line, detail: "compressed stream ends inside a frame" }
    } else {
        MetricsError::Io { path: path.to_path_buf(), source: e }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_files_sort_numerically_not_lexically() {
        assert_eq!(rolling_index("events_10_local-1.zstd"), Some(10));
        assert_eq!(rolling_index("events_9_local-1"), Some(9));
        assert_eq!(rolling_index("appstatus_local-1.inprogress"), None);
    }

    #[test]
    fn codec_ignores_inprogress_and_app_id_dots() {
        assert_eq!(codec(Path::new("local-1.zstd.inprogress")).as_deref(), Some("zstd"));
        assert_eq!(codec(Path::new("app-2024.1-0001")), None);
        assert_eq!(codec(Path::new("x/events_1_local-1.lz4")).as_deref(), Some("lz4"));
    }
}
