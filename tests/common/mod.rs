//! Test helpers: a temporary project and the real binary run inside it.
#![allow(dead_code)] // each test file uses its own subset

pub mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_loadbuild"))
}

/// A project in a temporary directory.
pub struct Project {
    pub dir: tempfile::TempDir,
    /// The project root: the temporary directory, or a directory inside it.
    root: PathBuf,
}

impl Project {
    /// A project with `Loadfile.toml`, empty `templates/`, and the given rule files.
    pub fn new(loadfile: &str, rules: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Loadfile.toml"), loadfile).unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        for (name, text) in rules {
            std::fs::write(dir.path().join("rules").join(name), text).unwrap();
        }
        let root = dir.path().to_path_buf();
        Project { dir, root }
    }

    /// A project already laid out in `dir/sub` (so files can sit beside the project, outside it).
    pub fn at(dir: tempfile::TempDir, sub: &str) -> Project {
        let root = dir.path().join(sub);
        Project { dir, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_default()
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(self.path()).env("NO_COLOR", "1").env_remove("LOADBUILD_FILE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run loadbuild"))
    }
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Counts the lines of a file (0 when missing): tests record each run of a command this way.
pub fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// The repository root (where the project's own Loadfile lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A Python that imports pyspark: `$LOADBUILD_TEST_PYSPARK_PYTHON`, else the venv `.ci/run` makes
/// (`target/ci-pyspark`), else `python3`. None outside CI (the test then skips); under CI a
/// missing one fails the test.
pub fn pyspark_python() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("LOADBUILD_TEST_PYSPARK_PYTHON") {
        Some(p) => vec![p.into()],
        None => vec![repo().join("target/ci-pyspark/bin/python"), "python3".into()],
    };
    let found =
        candidates.into_iter().find(|py| Command::new(py).args(["-c", "import pyspark"]).output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "no Python with pyspark: .ci/run must set LOADBUILD_TEST_PYSPARK_PYTHON");
    }
    found
}

/// Copies the directory tree `from` into `to` (made if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A copy of this repository's project (Loadfile, rules, templates) in a temporary directory,
/// with `vendor/` linked.
pub fn project_copy() -> Project {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("project");
    for sub in ["rules", "templates"] {
        copy_dir(&repo().join(sub), &root.join(sub));
    }
    std::fs::copy(repo().join("Loadfile.toml"), root.join("Loadfile.toml")).unwrap();
    std::os::unix::fs::symlink(repo().join("vendor"), root.join("vendor")).unwrap();
    Project::at(dir, "project")
}
