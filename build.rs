//! Build script: stamps the version with the git commit it was built from, and embeds the
//! vendored Kubernetes JSON schemas (`vendor/kubernetes-schemas/`) so `render` validates built-in
//! kinds without Python.
//!
//! `LOADBUILD_VERSION` is `<crate version> (<commit> <commit date>)`, from `git` when the source
//! is a checkout, else `$LOADBUILD_COMMIT` when set (a packager's override), else the crate
//! version alone: building from a tarball or `cargo install` of a copy never fails here.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    version(&manifest);
    kubernetes_schemas(&manifest, &out);
}

fn git(manifest: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(manifest).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn version(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=LOADBUILD_COMMIT");
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    // Only this project's own checkout counts: a source copy unpacked inside another repository
    // must not be stamped with that repository's commit.
    let own_checkout = git(manifest, &["rev-parse", "--show-toplevel"])
        .is_some_and(|top| std::fs::canonicalize(top).ok() == std::fs::canonicalize(manifest).ok());
    let commit = std::env::var("LOADBUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| own_checkout.then(|| git(manifest, &["log", "-1", "--format=%h %cs", "--abbrev=12"])).flatten());
    let version = match commit {
        Some(c) => format!("{pkg} ({c})"),
        None => pkg,
    };
    println!("cargo:rustc-env=LOADBUILD_VERSION={version}");
    // Rebuild when the checked-out commit moves: HEAD, the branch it names, packed refs.
    if let Some(git_dir) = git(manifest, &["rev-parse", "--absolute-git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        if let Some(common) = git(manifest, &["rev-parse", "--git-common-dir"]) {
            let common = manifest.join(common);
            println!("cargo:rerun-if-changed={}", common.join("packed-refs").display());
            if let Some(branch) = git(manifest, &["symbolic-ref", "-q", "HEAD"]) {
                println!("cargo:rerun-if-changed={}", common.join(branch).display());
            }
        }
    }
}

fn kubernetes_schemas(manifest: &Path, out: &Path) {
    let vendor = manifest.join("vendor/kubernetes-schemas");
    println!("cargo:rerun-if-changed={}", vendor.display());
    let mut entries: Vec<(String, String, PathBuf)> = Vec::new();
    for dir in std::fs::read_dir(&vendor).into_iter().flatten().flatten() {
        let leaf = dir.file_name().to_string_lossy().into_owned();
        if !dir.path().is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", dir.path().display());
        for file in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                entries.push((leaf.clone(), name, file.path()));
            }
        }
    }
    entries.sort();
    let mut code = String::from("/// `(version directory, file name, contents)` of every vendored Kubernetes schema.\n");
    code.push_str("pub static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for (leaf, name, path) in &entries {
        code.push_str(&format!("    ({leaf:?}, {name:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    code.push_str("];\n");
    std::fs::write(out.join("kubernetes_schemas.rs"), code).expect("writing kubernetes_schemas.rs into OUT_DIR");
}
