//! Finds the files of one event log and hands their lines, one at a time, to a callback.
//!
//! Spark writes either a single file `<app>[.<codec>][.inprogress]` or (Spark 4 default, or
//! `spark.eventLog.rolling.enabled`) a directory `eventlog_v2_<app>/events_<N>_<app>[.<codec>]`
//! read in numeric order of N. Every event ends with a newline, so a last line without one is
//! reported as truncated rather than silently dropped.
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::MetricsError;

const BUFFER: usize = 1 << 18;

/// The files of the event log at `path`, in reading order.
pub(crate) fn event_files(path: &Path) -> Result<Vec<PathBuf>, MetricsError> {
    let io_err = |source| MetricsError::Io { path: path.to_path_buf(), source };
    if !path.metadata().map_err(io_err)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut numbered = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
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
    Ok(numbered.into_iter().map(|(_, p)| p).collect())
}

/// `events_12_local-1.zstd` → 12; anything else (e.g. `appstatus_…`) → `None`.
fn rolling_index(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("events_")?;
    rest.split('_').next()?.parse().ok()
}

/// The compression codec named by a file's extension, ignoring `.inprogress`.
fn codec(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    let name = name.strip_suffix(".inprogress").unwrap_or(&name);
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
    files: &[PathBuf],
    mut each: impl FnMut(&[u8], &Path, u64) -> Result<(), MetricsError>,
) -> Result<(), MetricsError> {
    let mut buf = Vec::with_capacity(1 << 16);
    for path in files {
        let mut input = open(path)?;
        let mut line = 0u64;
        loop {
            buf.clear();
            line += 1;
            let n = read_line(&mut input, &mut buf).map_err(|e| decode_error(path, line, e))?;
            if n == 0 {
                break;
            }
            if buf.last() != Some(&b'\n') {
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
