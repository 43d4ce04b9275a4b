//! Issue 17: the shell commands the README and `docs/*.md` show (indented or fenced lines that
//! start with `loadbuild ` or `cargo run --release -- `) are run here, in a copy of the project
//! with a scratch `HOME`; each must exit 0, and one whose comment is a number must print it.
//! Commands that need Spark, a built report or a tool this test does not install are listed in
//! [`NOT_RUN`] with the reason; a command in the docs that is in neither list fails the test, so
//! docs cannot show a command nobody checked.

mod common;

use std::process::Command;

use common::{bin, copy_dir, repo};

/// Commands (by prefix) that are not run here, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo run --release -- report", "runs Spark (the quick tier): tests/local_spark.rs covers a real run"),
    ("loadbuild report", "runs Spark"),
    ("loadbuild build 'dataset[1gb]'", "writes 1 GiB: tests/data_node.rs builds a dataset node"),
    ("loadbuild metrics ", "needs a built run (tests/metrics_node.rs)"),
    ("loadbuild baseline ", "needs a published report (tests/report_verdicts.rs)"),
    ("loadbuild compare ", "needs two reports (tests/report_verdicts.rs)"),
    ("loadbuild completions zsh  > \"${fpath[1]}", "zsh syntax; `completions zsh` is checked in tests/cli_meta.rs"),
    ("loadbuild graph --format dot | dot", "needs Graphviz"),
];

/// The commands shown in one Markdown file.
fn commands(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("    ") || l.starts_with('\t'))
        .map(str::trim)
        .filter(|l| l.starts_with("loadbuild ") || l.starts_with("cargo run --release -- "))
        .map(str::to_string)
        .collect()
}

/// The command without its trailing `# comment`, and the comment.
fn split_comment(line: &str) -> (&str, &str) {
    match line.find("  #").or_else(|| line.find(" # ")) {
        Some(i) => (line[..i].trim(), line[i..].trim().trim_start_matches('#').trim()),
        None => (line, ""),
    }
}

#[test]
fn every_command_in_the_readme_and_docs_runs_or_says_why_not() {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(repo().join("docs")).unwrap().map(|e| e.unwrap().path()).collect();
    docs.sort();
    files.extend(docs.into_iter().filter(|p| p.extension().is_some_and(|x| x == "md")));
    let mut shown: Vec<(String, String)> = Vec::new();
    for f in &files {
        for line in commands(&std::fs::read_to_string(f).unwrap()) {
            let (cmd, comment) = split_comment(&line);
            if !shown.iter().any(|(c, _)| c == cmd) {
                shown.push((cmd.to_string(), comment.to_string()));
            }
        }
    }
    assert!(shown.len() >= 20, "expected the README's everyday commands, found {shown:?}");

    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    for sub in ["rules", "templates", "vendor", "assets", "baselines", "docs", "infra"] {
        if repo().join(sub).is_dir() {
            copy_dir(&repo().join(sub), &project.join(sub));
        }
    }
    std::fs::copy(repo().join("Loadfile.toml"), project.join("Loadfile.toml")).unwrap();
    let home = dir.path().join("home");
    for d in [".local/share/bash-completion/completions", ".config/fish/completions"] {
        std::fs::create_dir_all(home.join(d)).unwrap();
    }
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());

    let mut unclassified = Vec::new();
    for (cmd, comment) in &shown {
        if NOT_RUN.iter().any(|(prefix, _)| cmd.starts_with(prefix)) {
            continue;
        }
        if !cmd.starts_with("loadbuild ") {
            unclassified.push(cmd.clone());
            continue;
        }
        let out = Command::new("sh")
            .args(["-c", cmd])
            .current_dir(&project)
            .env("PATH", &path)
            .env("HOME", &home)
            .env_remove("LOADBUILD_FILE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "`{cmd}` exited {}:\n{}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr));
        if !comment.is_empty() && comment.chars().all(|c| c.is_ascii_digit()) {
            assert_eq!(stdout.trim(), comment, "`{cmd}` prints what the docs say");
        }
    }
    assert!(unclassified.is_empty(), "commands in the docs that are neither run here nor in NOT_RUN: {unclassified:?}");
    assert!(home.join(".local/share/man/man1/loadbuild-report.1").is_file(), "`loadbuild man --out` wrote the pages");
}
