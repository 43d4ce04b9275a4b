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

fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr).lines().map(str::to_string).collect()
}

fn first(lines: &[String], pred: impl Fn(&str) -> bool) -> usize {
    lines.iter().position(|l| pred(l)).unwrap_or_else(|| panic!("no such line in:\n{}", lines.join("\n")))
}

fn last(lines: &[String], pred: impl Fn(&str) -> bool) -> usize {
    lines.iter().rposition(|l| pred(l)).unwrap_or_else(|| panic!("no such line in:\n{}", lines.join("\n")))
}

#[test]
fn up_applies_crds_then_workloads_waits_is_a_no_op_again_and_reapplies_a_lost_release() {
    let Some(helm) = helm() else { return };
    let dir = project("");
    let fake = FakeKube::start("loadbuild");
    let kc = fake.kubeconfig().display().to_string();
    let out = run(dir.path(), &helm, &["infra", "up", "--kubeconfig", &kc]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = stderr_lines(&out);
    // Argo: every CRD applied and Established before anything else of the component.
    let crd_ready = last(&lines, |l| l.starts_with("infra: argo-workflows: ready CustomResourceDefinition"));
    let first_other = first(&lines, |l| l.starts_with("infra: argo-workflows: applied") && !l.contains("CustomResourceDefinition"));
    assert!(crd_ready < first_other, "{}", lines.join("\n"));
    for d in ["Deployment loadbuild/argo-workflows-workflow-controller", "Deployment loadbuild/argo-workflows-server"] {
        let applied = first(&lines, |l| l.ends_with(&format!("applied {d}")));
        let ready = first(&lines, |l| l.ends_with(&format!("ready {d}")));
        assert!(applied < ready);
    }
    // Components in Loadfile order: PostgreSQL ready before the Metastore is applied.
    let pg_ready = first(&lines, |l| l == "infra: postgres: ready StatefulSet loadbuild/postgres");
    let hms = first(&lines, |l| l.starts_with("infra: hive-metastore: applied"));
    assert!(pg_ready < hms);
    // SeaweedFS's post-install bucket hook after its Deployment is ready, and waited for.
    let sw_ready = first(&lines, |l| l == "infra: seaweedfs: ready Deployment loadbuild/seaweedfs-all-in-one");
    let hook = first(&lines, |l| l == "infra: seaweedfs: applied Job loadbuild/seaweedfs-bucket-hook");
    assert!(sw_ready < hook);
    first(&lines, |l| l == "infra: seaweedfs: ready Job loadbuild/seaweedfs-bucket-hook");

    let labelled =
        |f: &FakeKube| f.objects().iter().filter(|o| o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "loadbuild").count();
    let listed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/infra/objects.txt")).unwrap();
    assert_eq!(labelled(&fake), listed.lines().count() + 1, "every rendered object plus the generated secrets");

    // A second `up` reads and applies nothing.
    fake.clear_requests();
    let started = std::time::Instant::now();
    let out = run(dir.path(), &helm, &["infra", "up", "--kubeconfig", &kc]);
    eprintln!("no-op `infra up` against the fake: {:.2?} ({} requests)", started.elapsed(), fake.requests().len());
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("up to date").count(), 7, "{stdout}");
    let writes: Vec<String> = fake.requests().into_iter().filter(|r| !r.starts_with("GET")).collect();
    assert!(writes.is_empty(), "a no-op up wrote: {writes:?}");

    // The fake loses PostgreSQL's StatefulSet: only that component is applied again.
    assert_eq!(fake.lose(|o| o["kind"] == "StatefulSet" && o["metadata"]["name"] == "postgres"), 1);
    fake.clear_requests();
    let out = run(dir.path(), &helm, &["infra", "up", "--kubeconfig", &kc]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("postgres: applied 2 objects (1 missing or changed"), "{stdout}");
    assert_eq!(stdout.matches("up to date").count(), 6, "{stdout}");
    let patched: Vec<String> = fake.requests().into_iter().filter(|r| r.starts_with("PATCH")).collect();
    assert_eq!(patched.len(), 2, "{patched:?}");
    assert!(patched.iter().all(|p| p.contains("/postgres?")), "{patched:?}");
}

#[test]
fn down_deletes_exactly_the_labelled_objects_and_keep_data_keeps_volumes_and_secrets() {
    let Some(helm) = helm() else { return };
    let dir = project("");
    let fake = FakeKube::start("loadbuild");
    let kc = fake.kubeconfig().display().to_string();
    assert!(run(dir.path(), &helm, &["infra", "up", "--kubeconfig", &kc]).status.success());
    let theirs =
        fake_kube::Key { prefix: "api/v1".into(), plural: "configmaps".into(), namespace: Some("loadbuild".into()), name: "theirs".into() };
    fake.with(|s| {
        s.put(
            &theirs,
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "loadbuild"}}),
        )
    });

    let out = run(dir.path(), &helm, &["infra", "down", "--keep-data", "--kubeconfig", &kc]);
    assert!(out.status.success(), "{}", text(&out));
    let mut left: Vec<String> =
        fake.objects().iter().map(|o| format!("{} {}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap())).collect();
    left.sort();
    assert_eq!(left, ["ConfigMap theirs", "PersistentVolumeClaim seaweedfs-all-in-one-data", "Secret loadbuild-generated"]);
    // Reverse order: the Spark Operator goes first, the credentials last.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.find("spark-operator-controller").unwrap() < stdout.find("Secret loadbuild/loadbuild-s3").unwrap(), "{stdout}");

    let out = run(dir.path(), &helm, &["infra", "down", "--kubeconfig", &kc]);
    assert!(out.status.success(), "{}", text(&out));
    let left: Vec<String> = fake.objects().iter().map(|o| o["metadata"]["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(left, ["theirs"]);
}

#[test]
fn verify_runs_each_probe_and_a_failing_one_names_the_component_object_and_command() {
    let Some(helm) = helm() else { return };
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = project(&format!(
        "[infra.endpoints]\nseaweedfs = \"http://127.0.0.1:{closed}\"\npostgres = \"127.0.0.1:{closed}\"\n\
         hive-metastore = \"127.0.0.1:{closed}\"\nhistory-server = \"http://127.0.0.1:{closed}/api/v1/applications\"\n"
    ));
    let fake = FakeKube::start("loadbuild");
    let kc = fake.kubeconfig().display().to_string();
    let out = run(dir.path(), &helm, &["infra", "verify", "--kubeconfig", &kc]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (component, object, command) in [
        (
            "seaweedfs",
            format!("bucket loadbuild at http://127.0.0.1:{closed}"),
            "kubectl -n loadbuild logs deployment/seaweedfs-all-in-one",
        ),
        ("postgres", format!("PostgreSQL at 127.0.0.1:{closed}"), "kubectl -n loadbuild logs statefulset/postgres"),
        ("hive-metastore", format!("port 127.0.0.1:{closed}"), "kubectl -n loadbuild logs deployment/hive-metastore"),
        (
            "history-server",
            format!("http://127.0.0.1:{closed}/api/v1/applications"),
            "kubectl -n loadbuild logs deployment/history-server-spark41",
        ),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{component}: probe FAILED: {component}: {object}")))
            .unwrap_or_else(|| panic!("{component}: {stdout}"));
        assert!(line.contains(command), "{line}");
    }
    // The Argo and Spark Operator probes ran through the API: created, waited for, deleted.
    assert!(stdout.contains("argo-workflows: probe ok"), "{stdout}");
    assert!(stdout.contains("spark-operator: probe ok"), "{stdout}");
    let reqs = fake.requests();
    assert!(reqs.iter().any(|r| r.starts_with("POST /apis/argoproj.io/v1alpha1/namespaces/loadbuild/workflows")), "{reqs:#?}");
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("DELETE /apis/sparkoperator.k8s.io/v1beta2/namespaces/loadbuild/sparkapplications/loadbuild-probe-pi"))
    );
}
