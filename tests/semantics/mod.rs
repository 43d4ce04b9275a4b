//! Helpers of tests/scenario_semantics.rs: the p2 tier rendered once per test binary, YAML
//! and properties readers, the Loadfile's `[vars.scenario]`, and a small RBAC evaluator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{Project, project_copy, repo};

/// The p2 render, shared by the tests of this file (rendered once per test binary).
pub struct Rendered {
    _project: Project,
    pub out: PathBuf,
    /// Cell ids that were rendered (the tier minus skipped cells).
    pub cells: Vec<String>,
}

pub fn rendered() -> &'static Rendered {
    static R: OnceLock<Rendered> = OnceLock::new();
    R.get_or_init(|| {
        let p = project_copy();
        let out = p.path().join("rendered");
        p.run(&["render", "--tier", "p2", "--out", out.to_str().unwrap()]).ok();
        let mut cells: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| out.join(n).join("run.sh").is_file())
            .collect();
        cells.sort();
        assert_eq!(cells.len(), 1120);
        Rendered { _project: p, out, cells }
    })
}

pub fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// `spark-defaults.conf` as a map.
pub fn conf(cell_dir: &Path) -> BTreeMap<String, String> {
    text(&cell_dir.join("spark-defaults.conf"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.trim().to_string())
        })
        .collect()
}

/// A memory quantity (`4g`, `5Gi`, `512Mi`) in MiB.
pub fn mib(q: &str) -> u64 {
    let q = q.trim_matches('"');
    let (num, unit) = q.split_at(q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len()));
    let n: u64 = num.parse().unwrap_or_else(|_| panic!("quantity `{q}`"));
    match unit {
        "g" | "Gi" | "G" => n * 1024,
        "m" | "Mi" | "M" => n,
        _ => panic!("unit of `{q}`"),
    }
}

/// A string or integer of the Loadfile's `[vars.scenario]`, by path.
pub fn var(path: &[&str]) -> String {
    static DOC: OnceLock<toml_edit::DocumentMut> = OnceLock::new();
    let doc = DOC.get_or_init(|| std::fs::read_to_string(repo().join("Loadfile.toml")).unwrap().parse().unwrap());
    let mut item = &doc["vars"]["scenario"];
    for k in path {
        item = &item[*k];
    }
    item.as_str()
        .map(str::to_string)
        .or_else(|| item.as_integer().map(|i| i.to_string()))
        .unwrap_or_else(|| panic!("vars.scenario.{}", path.join(".")))
}

/// The cell tasks of every child template: cell id → its arguments.
pub fn cell_tasks() -> BTreeMap<String, BTreeMap<String, String>> {
    cell_tasks_in(&rendered().out)
}

/// [`cell_tasks`] of the render in `dir`.
pub fn cell_tasks_in(dir: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for d in docs(&dir.join("argo/children.yaml")) {
        for t in arr(&d["spec"]["templates"]) {
            for task in arr(&t["dag"]["tasks"]) {
                let params: BTreeMap<String, String> =
                    arr(&task["arguments"]["parameters"]).iter().map(|p| (s(&p["name"]).to_string(), s(&p["value"]).to_string())).collect();
                if let Some(cell) = params.get("cell") {
                    let mut params = params.clone();
                    params.insert("template".into(), s(&task["template"]).to_string());
                    out.insert(cell.clone(), params);
                }
            }
        }
    }
    out
}

/// One RBAC rule, flattened: (apiGroup, resource, verb) triples it grants.
pub type Grants = BTreeSet<(String, String, String)>;

pub fn grants(role: &Value) -> Grants {
    let mut g = Grants::new();
    for rule in arr(&role["rules"]) {
        for group in arr(&rule["apiGroups"]) {
            for res in arr(&rule["resources"]) {
                for verb in arr(&rule["verbs"]) {
                    g.insert((s(group).into(), s(res).into(), s(verb).into()));
                }
            }
        }
    }
    g
}

pub fn allows(g: &Grants, group: &str, res: &str, verb: &str) -> bool {
    g.iter().any(|(gg, rr, vv)| (gg == group || gg == "*") && (rr == res || rr == "*") && (vv == verb || vv == "*"))
}

/// Every (group, resource, verb) in `needs`, as `group/resource:verb1,verb2`.
pub fn need(needs: &mut Vec<(String, String, String)>, group: &str, resources: &[&str], verbs: &[&str]) {
    for r in resources {
        for v in verbs {
            needs.push((group.into(), (*r).into(), (*v).into()));
        }
    }
}

/// The resource a kind's objects are, for `kubectl apply` and `delete`.
pub fn resource_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "ServiceAccount" | "serviceaccount" => ("", "serviceaccounts"),
        "Service" | "service" => ("", "services"),
        "Pod" | "pod" => ("", "pods"),
        "Deployment" | "deployment" => ("apps", "deployments"),
        "Role" | "role" => ("rbac.authorization.k8s.io", "roles"),
        "RoleBinding" | "rolebinding" => ("rbac.authorization.k8s.io", "rolebindings"),
        "SparkApplication" | "sparkapplication" => ("sparkoperator.k8s.io", "sparkapplications"),
        other => panic!("no resource known for kind `{other}`"),
    }
}

/// What the RBAC evaluator finds wrong in the render in `out`, for `cells`.
pub fn rbac_problems(out: &Path, cells: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, msg: String| {
        if !ok {
            problems.push(msg);
        }
    };
    let setup = docs(&out.join("argo/setup.yaml"));
    let runner_name = var(&["runner_account"]);
    let runner_role = setup.iter().find(|d| s(&d["kind"]) == "Role").unwrap();
    let binding = setup.iter().find(|d| s(&d["kind"]) == "RoleBinding").unwrap();
    assert_eq!(s(&binding["roleRef"]["name"]), s(&runner_role["metadata"]["name"]));
    assert_eq!(s(&binding["subjects"][0]["name"]), runner_name);
    let runner = grants(runner_role);
    let tasks = cell_tasks_in(out);

    let mut runner_needs = Vec::new();
    need(&mut runner_needs, "argoproj.io", &["workflowtaskresults"], &["create", "patch"]);
    need(&mut runner_needs, "argoproj.io", &["workflows"], &["create", "get", "list", "watch", "patch"]);
    need(&mut runner_needs, "apps", &["deployments"], &["get", "list", "watch"]);
    for kind in ["deployment", "service", "pod", "sparkapplication", "rolebinding", "role", "serviceaccount"] {
        let (g, res) = resource_of(kind);
        need(&mut runner_needs, g, &[res], &["list", "delete"]);
    }
    for cell in cells {
        let dir = out.join(cell);
        let objects = docs(&dir.join("cell.yaml"));
        for o in &objects {
            let (g, res) = resource_of(s(&o["kind"]));
            need(&mut runner_needs, g, &[res], &["get", "create", "patch"]);
        }
        let account = &tasks[cell]["account"];
        let mode = cell.split('-').nth(2).unwrap();
        // What the run step's pod does, under its account.
        let mut run_needs = Vec::new();
        need(&mut run_needs, "argoproj.io", &["workflowtaskresults"], &["create", "patch"]);
        match mode {
            "connect" => {
                need(&mut run_needs, "", &["pods"], &["get", "list"]);
                need(&mut run_needs, "", &["pods/exec"], &["create", "get"]);
            }
            "operator" => need(&mut run_needs, "sparkoperator.k8s.io", &["sparkapplications"], &["get", "create", "patch"]),
            "k8s" => need(&mut run_needs, "", &["pods"], &["create", "get", "list", "watch", "delete"]),
            _ => {}
        }
        // Spark drivers in the cluster create executor pods under the cell's account.
        let mut driver_needs = Vec::new();
        if mode != "standalone" {
            need(&mut driver_needs, "", &["pods"], &["create", "get", "list", "watch", "delete", "deletecollection"]);
            need(&mut driver_needs, "", &["services", "configmaps"], &["create", "get", "delete"]);
            need(&mut driver_needs, "", &["persistentvolumeclaims"], &["list", "delete"]);
        }
        let role = objects.iter().find(|o| s(&o["kind"]) == "Role").unwrap_or_else(|| panic!("{cell}: no Role"));
        let bound = objects.iter().find(|o| s(&o["kind"]) == "RoleBinding").unwrap_or_else(|| panic!("{cell}: no RoleBinding"));
        let cell_account = format!("lb-{cell}");
        check(s(&bound["roleRef"]["name"]) == s(&role["metadata"]["name"]), cell.to_string());
        check(s(&bound["subjects"][0]["name"]) == cell_account, cell.to_string());
        let cell_grants = grants(role);
        for (g, res, v) in &cell_grants {
            check(
                allows(&runner, g, res, v),
                format!("{cell}: its Role grants `{g}/{res}:{v}`, which the runner creating it does not hold"),
            );
        }
        let (run_grants, run_who) = if *account == runner_name { (&runner, "the runner") } else { (&cell_grants, "the cell's account") };
        check(*account == runner_name || *account == cell_account, format!("{cell}: run step under `{account}`"));
        for (g, res, v) in &run_needs {
            check(allows(run_grants, g, res, v), format!("{cell}: its run step needs `{g}/{res}:{v}`; {run_who} (`{account}`) lacks it"));
        }
        for (g, res, v) in &driver_needs {
            check(allows(&cell_grants, g, res, v), format!("{cell}: its Spark driver needs `{g}/{res}:{v}`; `{cell_account}` lacks it"));
        }
        // A Connect server and an operator driver run under the cell's account too.
        let sa: Option<String> = match mode {
            "connect" => objects
                .iter()
                .find(|o| s(&o["kind"]) == "Deployment")
                .map(|d| s(&d["spec"]["template"]["spec"]["serviceAccountName"]).to_string()),
            "operator" => Some(s(&docs(&dir.join("app.yaml"))[0]["spec"]["driver"]["serviceAccount"]).to_string()),
            "k8s" => conf(&dir).get("spark.kubernetes.authenticate.driver.serviceAccountName").cloned(),
            _ => None,
        };
        if mode != "standalone" {
            check(sa.as_deref() == Some(cell_account.as_str()), format!("{cell}: the driver's account"));
        }
    }
    for (g, res, v) in &runner_needs {
        check(allows(&runner, g, res, v), format!("the runner needs `{g}/{res}:{v}`, which its Role lacks"));
    }
    problems
}
