//! `loadbuild infra`: the rendered components (helm template of the vendored charts with the
//! project's values, loadbuild's templates), validated and listed per component; and up /
//! down / verify against the fake API server (`tests/common/fake_kube/`). Needs helm 4
//! (`$LOADBUILD_HELM`, as `.ci/run` installs it); without it the tests say so and skip,
//! except under CI, where they fail.
#![cfg(feature = "kubernetes")]

#[path = "common/fake_kube/mod.rs"]
mod fake_kube;

use std::path::Path;
use std::process::{Command, Output};

#[allow(unused_imports)]
use fake_kube::FakeKube;
use serde_json::Value;

fn helm() -> Option<String> {
    let h = std::env::var("LOADBUILD_HELM").ok().filter(|h| Path::new(h).exists()).or_else(|| {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-helm/helm/helm");
        local.exists().then(|| local.display().to_string())
    });
    if h.is_none() {
        assert!(std::env::var_os("CI").is_none(), "helm 4 is missing: .ci/run installs it and sets LOADBUILD_HELM");
        eprintln!("skipped: no helm (set LOADBUILD_HELM; see .ci/run)");
    }
    h
}

/// A project dir with the repository's Loadfile (plus `extra`) and links to what it names.
fn project(extra: &str) -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for name in ["vendor", "templates", "infra", "rules"] {
        std::os::unix::fs::symlink(repo.join(name), dir.path().join(name)).unwrap();
    }
    let text = std::fs::read_to_string(repo.join("Loadfile.toml")).unwrap();
    std::fs::write(dir.path().join("Loadfile.toml"), format!("{text}\n{extra}")).unwrap();
    dir
}

fn run(dir: &Path, helm: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadbuild"))
        .args(args)
        .current_dir(dir)
        .env("LOADBUILD_HELM", helm)
        .env("NO_COLOR", "1")
        .env_remove("LOADBUILD_FILE")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn dry_run_renders_every_component_valid_in_order_with_secrets_redacted() {
    let Some(helm) = helm() else { return };
    let dir = project("");
    let out = run(dir.path(), &helm, &["infra", "up", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let stream = String::from_utf8(out.stdout).unwrap();
    assert!(!stream.contains("${secret:"), "generated secrets are never printed");
    // One document at a time: the whole stream (full Argo CRDs) is over the parser's node budget.
    let docs: Vec<Value> = stream.split("\n---\n").map(|d| serde_saphyr::from_str(d.trim_start_matches("---\n")).unwrap()).collect();
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/schemas");
    let validators = loadbuild::scenario::schema::Validators::new(schemas, "1.34".into());
    let mut listing = String::new();
    let mut problems = Vec::new();
    let mut last_component = String::new();
    let mut seen_workload = false;
    for d in &docs {
        let comp = d["metadata"]["labels"]["loadbuild.dev/component"].as_str().unwrap().to_string();
        let kind = d["kind"].as_str().unwrap();
        if comp != last_component {
            seen_workload = false;
            last_component = comp.clone();
        }
        if kind == "CustomResourceDefinition" {
            assert!(!seen_workload, "{comp}: a CRD after other objects");
        } else {
            seen_workload = true;
        }
        assert_eq!(d["metadata"]["labels"]["app.kubernetes.io/managed-by"], "loadbuild");
        assert_eq!(d["metadata"]["annotations"]["loadbuild.dev/key"].as_str().unwrap().len(), 64);
        if kind == "Secret" {
            for v in d["stringData"].as_object().into_iter().flatten() {
                assert_eq!(v.1, "<redacted>", "Secret values are redacted");
            }
        }
        match validators.validate(d) {
            Ok(v) if v.is_empty() => {}
            Ok(v) => problems.push(format!("{comp} {kind} {}: {v:?}", d["metadata"]["name"])),
            Err(e) => problems.push(format!("{comp} {kind}: no schema: {e}")),
        }
        listing.push_str(&format!("{comp} {kind} {}\n", d["metadata"]["name"].as_str().unwrap()));
    }
    assert!(problems.is_empty(), "objects that do not validate:\n{}", problems.join("\n"));
    expect_test::expect_file!["data/infra/objects.txt"].assert_eq(&listing);
}
