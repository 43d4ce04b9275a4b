//! Toolchains: a Python environment with pinned packages (pyspark and what the clients need),
//! provisioned under the cache and shared by every node of one Spark version.
//!
//! The environment is external state: it lives in `<toolchains>/<digest of the pins>/`, outside
//! the content-addressed objects (a venv's scripts embed its own path, so it cannot be moved into
//! place). `<toolchains>` is `cache/v2/toolchains`, or `$LOADBUILD_TOOLCHAINS` to share
//! environments between clones. The node's output is a receipt — `toolchain.json` and `env.sh`,
//! naming the environment relative to that directory so no absolute path reaches a key — and the
//! node is fresh only while the environment's completion marker still matches ([`intact`]): one
//! read, no Python start-up.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::hash::Digest;

/// The provisioning procedure's version: part of toolchain nodes' keys.
pub const VERSION: u32 = 1;

/// The receipt's file name in the node's output.
pub const RECEIPT: &str = "toolchain.json";
const MARKER: &str = ".loadbuild-complete";

/// What to provision: an interpreter and the requirements to install into a fresh venv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub python: String,
    pub pins: Vec<String>,
}

impl Spec {
    pub fn from_params(params: &std::collections::BTreeMap<String, String>) -> Result<Spec, String> {
        let pins: Vec<String> = params.get("pins").map(|p| p.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
        if pins.is_empty() {
            return Err("param `pins` lists no requirement; give e.g. `pins = \"pyspark==4.1.1\"`".into());
        }
        if let Some(loose) = pins.iter().find(|p| !p.contains("==")) {
            return Err(format!("requirement `{loose}` is not pinned: write `name==version` so the environment is reproducible"));
        }
        Ok(Spec { python: params.get("python").cloned().unwrap_or_else(|| "python3".into()), pins })
    }

    fn digest(&self) -> Digest {
        Digest::of("loadbuild 2026-11 toolchain", &(VERSION, &self.python, &self.pins))
    }

    /// The environment's directory name under [`base`].
    fn name(&self) -> String {
        self.digest().to_hex()[..16].to_string()
    }
}

/// Where environments live: `$LOADBUILD_TOOLCHAINS`, else `toolchains/` in the cache layout.
pub fn base(cache: &Path) -> PathBuf {
    match std::env::var_os("LOADBUILD_TOOLCHAINS") {
        Some(d) if !d.is_empty() => std::path::absolute(PathBuf::from(d)).unwrap_or_default(),
        _ => std::path::absolute(cache.join("toolchains")).unwrap_or_default(),
    }
}

/// The receipt: what a dependent needs to use the toolchain. `venv` is a directory name under
/// [`base`]; `python` and `spark_home` are relative to the environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    pub venv: String,
    pub python: String,
    pub spark_home: String,
    pub pyspark_version: String,
    pub java_version: String,
    pub pins: Vec<String>,
    /// The environment's completion marker holds this; [`intact`] compares.
    pub marker: String,
}

impl Receipt {
    pub fn venv(&self, base: &Path) -> PathBuf {
        base.join(&self.venv)
    }

    pub fn spark_home(&self, base: &Path) -> PathBuf {
        self.venv(base).join(&self.spark_home)
    }
}

/// Provisions `spec` under `base` (reusing a complete environment) and writes the receipt into `out`.
pub fn provision(spec: &Spec, base: &Path, out: &Path) -> Result<(), String> {
    let java_version = check_java()?;
    check_python(&spec.python)?;
    let dir = base.join(spec.name());
    let marker = spec.digest().to_hex();
    let _lock = lock_env(base, &spec.name())?;
    if std::fs::read_to_string(dir.join(MARKER)).ok().as_deref() != Some(marker.as_str()) {
        // An environment without its marker is a crashed or foreign attempt: start over.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(base).map_err(|e| format!("creating `{}`: {e}", dir.display()))?;
        run(Command::new(&spec.python).args(["-m", "venv"]).arg(&dir), "creating the virtual environment")?;
        let pip = dir.join("bin/pip");
        eprintln!("installing {} into {}", spec.pins.join(" "), dir.display());
        run(
            Command::new(&pip).args(["install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]).args(&spec.pins),
            "installing the pinned packages (pip needs PyPI or a mirror set in PIP_INDEX_URL)",
        )?;
    }
    let python = dir.join("bin/python");
    let probe = run(
        Command::new(&python).args(["-c", "import os, pyspark; print(pyspark.__version__); print(os.path.dirname(pyspark.__file__))"]),
        "importing pyspark from the environment",
    )?;
    let mut lines = probe.lines();
    let (Some(pyspark_version), Some(spark_home)) = (lines.next(), lines.next()) else {
        return Err(format!("the pyspark probe printed `{probe}`, expected its version and location"));
    };
    std::fs::write(dir.join(MARKER), &marker).map_err(|e| format!("writing the completion marker: {e}"))?;
    let rel = |p: &Path| p.strip_prefix(&dir).unwrap_or(p).to_string_lossy().into_owned();
    let receipt = Receipt {
        venv: spec.name(),
        python: "bin/python".into(),
        spark_home: rel(Path::new(spark_home)),
        pyspark_version: pyspark_version.to_string(),
        java_version,
        pins: spec.pins.clone(),
        marker,
    };
    let json = serde_json::to_string_pretty(&receipt).expect("a receipt serializes");
    std::fs::write(out.join(RECEIPT), json + "\n").map_err(|e| format!("writing the receipt: {e}"))?;
    std::fs::write(out.join("env.sh"), env_sh(&receipt)).map_err(|e| format!("writing env.sh: {e}"))
}

/// Holds `BASE/NAME.lock` while an environment is checked and provisioned, so two loadbuild
/// processes sharing a toolchain directory (`LOADBUILD_TOOLCHAINS`, or two projects' builds at
/// once) never build the same environment together — one would delete what the other is
/// installing. The second waits, then finds the environment complete. The OS releases the lock
/// if the process dies.
fn lock_env(base: &Path, name: &str) -> Result<std::fs::File, String> {
    let path = base.join(format!("{name}.lock"));
    let open = || {
        std::fs::create_dir_all(base)?;
        std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(&path)
    };
    let file = open().map_err(|e| format!("opening the toolchain lock `{}`: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!("loadbuild: waiting for another loadbuild to finish provisioning `{}`…", base.join(name).display());
            file.lock().map_err(|e| format!("waiting for the toolchain lock `{}`: {e}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(format!("locking `{}`: {e}", path.display())),
    }
    Ok(file)
}

/// A shell fragment that puts the toolchain first on `PATH`. Paths become absolute through
/// `$LOADBUILD_TOOLCHAINS` (set for every command), so executors started elsewhere find them too.
fn env_sh(r: &Receipt) -> String {
    format!(
        "# Generated by loadbuild: source this to use the toolchain (pyspark {v}).\n\
         export LOADBUILD_VENV=\"$LOADBUILD_TOOLCHAINS/{venv}\"\n\
         export SPARK_HOME=\"$LOADBUILD_VENV/{home}\"\n\
         export PYSPARK_PYTHON=\"$LOADBUILD_VENV/{py}\"\n\
         export PYSPARK_DRIVER_PYTHON=\"$LOADBUILD_VENV/{py}\"\n\
         export PATH=\"$LOADBUILD_VENV/bin:$SPARK_HOME/bin:$PATH\"\n",
        v = r.pyspark_version,
        home = r.spark_home,
        py = r.python,
        venv = r.venv
    )
}

/// Reads the receipt in a toolchain node's output directory.
pub fn receipt(output: &Path) -> Result<Receipt, String> {
    let path = output.join(RECEIPT);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading `{}`: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// The cheap probe: is the environment a receipt describes still there and complete?
pub fn intact(output: &Path, base: &Path) -> Result<(), String> {
    let r = receipt(output)?;
    let dir = r.venv(base);
    match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(m) if m == r.marker => Ok(()),
        Ok(_) => Err(format!("the environment `{}` was replaced", dir.display())),
        Err(_) => Err(format!("the environment `{}` is gone", dir.display())),
    }
}

/// Java 17 or newer, as `java -version` reports it.
fn check_java() -> Result<String, String> {
    let java = std::env::var_os("JAVA_HOME").map_or_else(|| PathBuf::from("java"), |h| PathBuf::from(h).join("bin/java"));
    let out = Command::new(&java).arg("-version").output().map_err(|e| {
        format!("cannot run `{}` ({e}): Spark needs Java 17 or newer; install it (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME", java.display())
    })?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let version = text.split('"').nth(1).unwrap_or("").to_string();
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 17 {
        return Err(format!(
            "Spark needs Java 17 or newer, but `{} -version` says `{}`; install a JDK 17+ or point JAVA_HOME at one",
            java.display(),
            text.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(version)
}

fn check_python(python: &str) -> Result<(), String> {
    let v = run(Command::new(python).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]), "checking the Python interpreter")
        .map_err(|e| format!("{e}\nhelp: pyspark needs Python 3.9 or newer; set the toolchain's `python` param to one"))?;
    let (major, minor) =
        v.trim().split_once('.').and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))).unwrap_or((0, 0));
    if (major, minor) < (3, 9) {
        return Err(format!("`{python}` is Python {v}, but pyspark needs 3.9 or newer; set the toolchain's `python` param to a newer one"));
    }
    Ok(())
}

/// Runs `cmd`, returning its stdout, or an error with what it was doing and its stderr.
fn run(cmd: &mut Command, doing: &str) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{doing}: cannot run `{}`: {e}", cmd.get_program().to_string_lossy()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(format!("{doing} failed ({}):\n{}", out.status, tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
