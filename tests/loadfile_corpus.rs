//! Every bad Loadfile in `tests/data/loadfile/` is rejected with exit 2 and the diagnostics its
//! `# expect:` lines name — and never with a panic.

mod common;

#[test]
fn issue_2_every_bad_loadfile_gets_its_diagnostic() {
    let dir = common::repo().join("tests/data/loadfile");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus needs at least 20 bad Loadfiles, found {}", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expects: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# expect: ")).collect();
        assert!(!expects.is_empty(), "{} has no `# expect:` line", file.display());
        let name = file.file_name().unwrap().to_str().unwrap();
        let p = common::Project::new("", &[]);
        std::fs::write(p.path().join(name), &text).unwrap();
        let run = p.run(&["--loadfile", name, "matrix", "validate"]);
        if run.code != 2 {
            failures.push(format!("{name}: exit {} instead of 2\n{}", run.code, run.stderr));
            continue;
        }
        if run.stderr.contains("panicked") {
            failures.push(format!("{name}: panicked\n{}", run.stderr));
        }
        for e in expects {
            if !run.stderr.contains(e) {
                failures.push(format!("{name}: stderr lacks `{e}`:\n{}", run.stderr));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn issue_2_diagnostics_quote_the_line_with_a_caret() {
    let p = common::Project::new("[dimensions]\nop = [\"read\"]\n[tiers.p1]\nselect = { op = [\"read\", \"iceberg+gpu\"] }\n", &[]);
    let run = p.run(&["matrix", "validate"]).code(2);
    let expected = "error: tier `p1` selects unknown value `iceberg+gpu` for dimension `op`
 --> Loadfile.toml:4:26
  |
4 | select = { op = [\"read\", \"iceberg+gpu\"] }
  |                          ^^^^^^^^^^^^^
  |
  = help: known values: read";
    assert!(run.stderr.starts_with(expected), "got:\n{}", run.stderr);
}
