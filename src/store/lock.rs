//! The writer lock: one building loadbuild per cache; a second one waits and says for whom.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the cache lock `{path}`: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error(
        "the cache `{path}` is in use by another loadbuild (pid {holder}); rerun when it finishes, or run without --no-wait to wait for it"
    )]
    Busy { path: PathBuf, holder: String },
}

/// Held for as long as this value lives; the OS releases it if the process dies.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, waiting if `wait` (after saying so on stderr), refusing otherwise.
    pub fn acquire(path: &Path, wait: bool) -> Result<Lock, LockError> {
        let open_err = |source| LockError::Open { path: path.to_path_buf(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(open_err)?;
        }
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(open_err)?;
        if let Err(e) = file.try_lock() {
            if let std::fs::TryLockError::Error(source) = e {
                return Err(open_err(source));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim().to_string();
            if !wait {
                return Err(LockError::Busy { path: path.to_path_buf(), holder });
            }
            eprintln!("loadbuild: waiting for another loadbuild (pid {holder}) to release `{}`…", path.display());
            file.lock().map_err(open_err)?;
        }
        file.set_len(0).map_err(open_err)?;
        file.rewind().map_err(open_err)?;
        write!(file, "{}", std::process::id()).map_err(open_err)?;
        Ok(Lock { _file: file })
    }
}
