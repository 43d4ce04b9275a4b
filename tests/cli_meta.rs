//! Issue 17: what a fresh machine gets besides the build itself — `--version` naming the commit,
//! shell completions and man pages generated from the clap definitions, and the matrix
//! reference (`docs/matrix.md`) that must match what `loadbuild matrix doc` generates.

mod common;

use std::process::{Command, Output};

use common::{bin, repo};

fn run(args: &[&str]) -> Output {
    let out = Command::new(bin()).args(args).current_dir(repo()).output().expect("loadbuild runs");
    assert!(out.status.success(), "loadbuild {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run(args).stdout).expect("UTF-8")
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let version = stdout(&["--version"]);
    assert!(version.starts_with(&format!("loadbuild {} ", env!("CARGO_PKG_VERSION"))), "{version}");
    // In a checkout the build script stamped the commit (cargo rebuilds when HEAD moves).
    let head = Command::new("git").args(["log", "-1", "--format=%h", "--abbrev=12"]).current_dir(repo()).output();
    if let Some(head) = head.ok().filter(|o| o.status.success()) {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert!(version.contains(&format!("({head} ")), "`{}` does not name HEAD {head}", version.trim());
    }
}

#[test]
fn completions_cover_the_subcommands_and_parse() {
    let bash = stdout(&["completions", "bash"]);
    for sub in ["report", "render", "matrix", "completions", "--tier"] {
        assert!(bash.contains(sub), "bash completions lack `{sub}`");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("loadbuild.bash");
    std::fs::write(&script, &bash).unwrap();
    let check = Command::new("bash").arg("-n").arg(&script).output().expect("bash runs");
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));

    let zsh = stdout(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef loadbuild"), "{}", &zsh[..zsh.len().min(200)]);
    assert!(zsh.contains("render"));
    let fish = stdout(&["completions", "fish"]);
    assert!(fish.contains("complete -c loadbuild") && fish.contains("render"), "{}", &fish[..fish.len().min(200)]);

    let bad = Command::new(bin()).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_pages_document_every_subcommand() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH loadbuild 1"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains("render") && page.contains("Load\\-test Apache Spark"), "the top page names the commands");
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--out", dir.path().to_str().unwrap()]);
    for page in ["loadbuild.1", "loadbuild-report.1", "loadbuild-render.1", "loadbuild-matrix-doc.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie"), "{page} is not roff: {}", &text[..text.len().min(80)]);
    }
}

#[test]
fn the_committed_matrix_reference_is_current() {
    let generated = stdout(&["matrix", "doc"]);
    assert!(generated.starts_with("# The test matrix") && generated.contains("## Tiers\n"), "{generated}");
    assert!(generated.contains("| `p0` | smoke: the PR gate | 64 |"), "the tiers table counts cells: {generated}");
    let committed = std::fs::read_to_string(repo().join("docs/matrix.md")).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/matrix.md is stale: regenerate it with `cargo run -- matrix doc --out docs/matrix.md` and commit it"
    );
}
