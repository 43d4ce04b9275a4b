//! Dataset nodes through the binary: generated once, re-checked by stat, a damaged file is
//! detected and regenerated; and `loadbuild data generate` for people who just want data.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Project;

const LOADFILE: &str = r#"
[dimensions]
size = ["tiny", "small"]
[tiers.all]
select = {}
[vars.datasets]
seed = 7
size = { tiny = "2MiB", small = "3MiB" }
"#;

const RULES: &str = r#"
[rule.dataset]
per = ["size"]
action = "dataset"
params = { size = "{{ vars.datasets.size[size] }}", seed = "{{ vars.datasets.seed }}" }
"#;

fn manifest_of(tree: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(tree.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn issue_4_dataset_nodes_are_built_once_and_damage_is_repaired() {
    let p = Project::new(LOADFILE, &[("data.toml", RULES)]);
    let b = p.run(&["build", "dataset[tiny]"]).ok();
    let tree = p.path().join(b.stdout.split('\t').nth(1).unwrap().trim());
    let m = manifest_of(&tree);
    assert_eq!(m["seed"], 7);
    let bytes = m["bytes"].as_u64().unwrap() as f64;
    assert!((bytes / (2.0 * 1048576.0) - 1.0).abs() < 0.1, "2 MiB ± 10%, got {bytes}");
    let first = m["trips"][0]["path"].as_str().unwrap().to_string();
    assert!(first.starts_with("trips/year=2023/month=01/part-"), "{first}");
    assert!(p.run(&["build", "dataset[tiny]"]).ok().stderr.contains("1 fresh"));

    // Damage one file in place (it is read-only in the cache, so make it writable first).
    let victim = tree.join(&first);
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&victim, &bytes).unwrap();
    let plan = p.run(&["plan", "--explain", "dataset[tiny]"]).ok();
    assert!(plan.stdout.contains(&format!("output `{first}` was modified")), "{}", plan.stdout);
    p.run(&["build", "dataset[tiny]"]).ok();
    let digest = m["trips"][0]["blake3"].as_str().unwrap();
    let repaired = blake3::hash(&std::fs::read(&victim).unwrap()).to_hex().to_string();
    assert_eq!(repaired, digest, "the damaged file was regenerated");

    // Another size, another node; the Loadfile's seed is part of the key.
    p.run(&["build", "dataset"]).ok();
    let plan = p.run(&["plan", "--explain", "dataset"]).ok();
    assert!(!plan.stdout.contains("stale"), "{}", plan.stdout);
    p.write("Loadfile.toml", &LOADFILE.replace("seed = 7", "seed = 8"));
    let plan = p.run(&["plan", "--explain", "dataset"]).ok();
    assert!(plan.stdout.contains("stale   dataset[tiny]  param `seed` and 1 more input(s) changed"), "{}", plan.stdout);
}

#[test]
fn issue_4_bad_dataset_params_are_clear() {
    let p =
        Project::new(LOADFILE, &[("data.toml", "[rule.dataset]\nper = [\"size\"]\naction = \"dataset\"\nparams = { sise = \"1GiB\" }\n")]);
    let run = p.run(&["matrix", "validate"]).code(2);
    assert!(run.stderr.contains("action needs param `size`") && run.stderr.contains("unknown param `sise`"), "{}", run.stderr);
    let p = Project::new(LOADFILE, &[("data.toml", &RULES.replace("{{ vars.datasets.size[size] }}", "lots"))]);
    let run = p.run(&["build", "dataset[tiny]"]).code(3);
    assert!(run.stderr.contains("param `size`"), "{}", run.stderr);
}

#[test]
fn issue_4_data_generate_writes_a_dataset_directory() {
    let p = Project::new(LOADFILE, &[]);
    let run = p.run(&["data", "generate", "--size", "2MiB", "--seed", "3", "--out", "ds"]).ok();
    assert!(run.stdout.starts_with("ds: ") && run.stdout.contains("rows in"), "{}", run.stdout);
    let m = manifest_of(&p.path().join("ds"));
    assert_eq!(m["seed"], 3);
    assert!(p.path().join("ds/zones/taxi_zone_lookup.parquet").is_file());
    // Same seed, same bytes.
    p.run(&["data", "generate", "--size", "2MiB", "--seed", "3", "--out", "ds2"]).ok();
    assert_eq!(manifest_of(&p.path().join("ds2"))["digest"], m["digest"]);
    // Refuses to overwrite; rejects a bad size.
    let run = p.run(&["data", "generate", "--size", "2MiB", "--out", "ds"]).code(2);
    assert!(run.stderr.contains("exists and is not empty"), "{}", run.stderr);
    let run = p.run(&["data", "generate", "--size", "lots", "--out", "ds3"]).code(2);
    assert!(run.stderr.contains("`--size lots`"), "{}", run.stderr);
}

/// Sends Ctrl-C to `child` once it has run for a while; returns its exit code and how long it
/// took to stop.
fn interrupt(mut child: Child) -> (Option<i32>, Duration, String) {
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still generating when interrupted");
    let t0 = Instant::now();
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    (out.status.code(), t0.elapsed(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Parquet files, finished or partial, anywhere under `dir`.
fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(parquet_files(&path));
        } else if path.to_string_lossy().contains(".parquet") {
            found.push(path);
        }
    }
    found
}

#[test]
fn issue_4_ctrl_c_stops_a_dataset_node_mid_generation() {
    // 1 GiB takes minutes in a debug build: the build must not wait for it.
    let p = Project::new(&LOADFILE.replace("small = \"3MiB\"", "small = \"1GiB\""), &[("data.toml", RULES)]);
    let child = p.cmd(&["build", "dataset[small]"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (code, took, stderr) = interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(5), "the generator stopped within a batch or two, not after {took:?}");
    assert!(parquet_files(p.path()).is_empty(), "nothing half-written is kept: {:?}", parquet_files(p.path()));
    let plan = p.run(&["plan", "dataset[small]"]).ok();
    assert!(plan.stdout.contains("stale   dataset[small]"), "{}", plan.stdout);
}

#[test]
fn issue_4_ctrl_c_stops_data_generate_and_removes_its_staging() {
    let p = Project::new(LOADFILE, &[]);
    let child = p.cmd(&["data", "generate", "--size", "1gb", "--out", "ds"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (code, took, stderr) = interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted; nothing was written to `ds`"), "{stderr}");
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
    assert!(parquet_files(p.path()).is_empty(), "{:?}", parquet_files(p.path()));
    let left: Vec<String> = std::fs::read_dir(p.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!left.iter().any(|name| name == "ds" || name.starts_with(".ds.partial")), "{left:?}");
}
