//! Rendering the infrastructure: each component's objects (`helm template` of a vendored chart,
//! or a loadbuild template), labelled and annotated with the component's key, in apply order.
//!
//! Apply order within a component: CRDs, then Helm `pre-install` hooks by weight, then the rest
//! by kind (as Helm installs), then `post-install` hooks by weight. Generated secrets appear in
//! templates and values as `${secret:NAME}` tokens; `apply.rs` fills them from the cluster.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::config::{Component, InfraConfig, Source};
use crate::hash::Digest;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const COMPONENT: &str = "loadbuild.dev/component";
pub const KEY: &str = "loadbuild.dev/key";
/// Label selector of every object loadbuild applies.
pub const SELECTOR: &str = "app.kubernetes.io/managed-by=loadbuild";

/// Helm's install order of kinds (pkg/release/util/kind_sorter.go), shortened.
const KIND_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

#[derive(Debug, Clone)]
pub struct Rendered {
    pub name: String,
    /// The component's key: chart name/version/digest or template digest, values, pins, images.
    pub key: Digest,
    pub images: Vec<String>,
    pub objects: Vec<Value>,
}

/// Renders every component; errors name the component and the command or file.
pub fn render_all(cfg: &InfraConfig) -> Result<Vec<Rendered>, String> {
    cfg.components.iter().map(|c| render(cfg, c)).collect()
}

pub fn render(cfg: &InfraConfig, c: &Component) -> Result<Rendered, String> {
    let (text, identity) = match &c.source {
        Source::Chart { dir, values, set } => {
            let mut cmd = Command::new(&cfg.helm);
            cmd.args(["template", &c.name]).arg(dir).args(["--namespace", &cfg.namespace, "--include-crds"]);
            let mut id = json!({"chart": chart_identity(dir)?, "set": set});
            if let Some(v) = values {
                cmd.arg("--values").arg(v);
                let bytes = std::fs::read(v).map_err(|e| format!("{}: {e}", v.display()))?;
                id["values"] = json!(Digest::of_bytes(&bytes).to_hex());
            }
            for (k, v) in set {
                cmd.arg("--set-string").arg(format!("{k}={v}"));
            }
            let out = cmd.output().map_err(|e| {
                format!("component {}: cannot run `{}` ({e}): install helm 4 or set infra.helm / $LOADBUILD_HELM", c.name, cfg.helm)
            })?;
            if !out.status.success() {
                return Err(format!(
                    "component {}: `{} template {} {}` failed:\n{}",
                    c.name,
                    cfg.helm,
                    c.name,
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            (String::from_utf8_lossy(&out.stdout).into_owned(), id)
        }
        Source::Template { file } => {
            let src = std::fs::read_to_string(file).map_err(|e| format!("component {}: {}: {e}", c.name, file.display()))?;
            let mut env = minijinja::Environment::new();
            env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
            env.add_function("secret", |name: String| format!("${{secret:{name}}}"));
            env.add_template("t", &src).map_err(|e| format!("component {}: {}: {e}", c.name, file.display()))?;
            let ctx = json!({"c": c.vars, "namespace": cfg.namespace, "component": c.name});
            let text = env
                .get_template("t")
                .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&ctx))))
                .map_err(|e| format!("component {}: {}: {e:#}", c.name, file.display()))?;
            (text, json!({"template": Digest::of_bytes(src.as_bytes()).to_hex()}))
        }
    };
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|e| format!("component {}: the rendered YAML does not parse: {e}", c.name))?;
    let mut objects: Vec<Value> = docs.into_iter().filter(|d| d.is_object() && d.get("kind").is_some()).collect();
    // `crds = DIR`: CRDs a chart would install through a hook Job, applied by loadbuild instead.
    if let Some(dir) = c.vars.get("crds").and_then(Value::as_str) {
        let dir = cfg.root.join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("component {}: {}: {e}", c.name, dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|x| x == "yaml")) {
            let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
            let crds: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| format!("{}: {e}", f.display()))?;
            objects.extend(crds.into_iter().filter(|d| d.is_object()));
        }
    }
    let mut images = BTreeSet::new();
    for o in &objects {
        collect_images(o, &mut images);
    }
    let images: Vec<String> = images.into_iter().collect();
    let key = Digest::of(
        "loadbuild infra component v1",
        &(c.name.as_str(), identity.to_string(), Value::Object(c.vars.clone()).to_string(), &images),
    );
    objects.sort_by_key(order_of);
    for o in &mut objects {
        label(o, &c.name, &key, &cfg.namespace);
    }
    Ok(Rendered { name: c.name.clone(), key, images, objects })
}

/// Chart name and version from `Chart.yaml`, and a digest of every file of the chart directory.
fn chart_identity(dir: &Path) -> Result<Value, String> {
    let meta = std::fs::read_to_string(dir.join("Chart.yaml")).map_err(|e| format!("{}: {e}", dir.join("Chart.yaml").display()))?;
    let meta: Value = serde_saphyr::from_str(&meta).map_err(|e| format!("{}/Chart.yaml: {e}", dir.display()))?;
    let mut files = Vec::new();
    walk(dir, dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    files.sort();
    let mut h = blake3::Hasher::new();
    for (rel, bytes) in &files {
        h.update(rel.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    Ok(json!({"name": meta["name"], "version": meta["version"], "digest": h.finalize().to_hex().to_string()}))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else {
            out.push((p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned(), std::fs::read(&p)?));
        }
    }
    Ok(())
}

fn collect_images(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("image", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    _ => collect_images(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_images(x, out)),
        _ => {}
    }
}

/// The Helm hook phase (`pre`/`post`) and weight of an object, if it is a hook.
pub fn hook(o: &Value) -> Option<(&'static str, i64)> {
    let ann = &o["metadata"]["annotations"];
    let phases = ann["helm.sh/hook"].as_str()?;
    let weight = ann["helm.sh/hook-weight"].as_str().and_then(|w| w.trim().parse().ok()).unwrap_or(0);
    Some(if phases.contains("pre-install") { ("pre", weight) } else { ("post", weight) })
}

/// Sort key: CRDs, pre-install hooks by weight, the rest by Helm's kind order, post hooks.
pub fn order_of(o: &Value) -> (u8, i64, usize) {
    let kind = o["kind"].as_str().unwrap_or("");
    let rank = KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len());
    match hook(o) {
        _ if kind == "CustomResourceDefinition" => (0, 0, 0),
        Some(("pre", w)) => (1, w, rank),
        Some((_, w)) => (3, w, rank),
        None => (2, 0, rank),
    }
}

fn label(o: &mut Value, component: &str, key: &Digest, namespace: &str) {
    let kind = o["kind"].as_str().unwrap_or("").to_string();
    let meta = &mut o["metadata"];
    meta["labels"][MANAGED_BY] = json!("loadbuild");
    meta["labels"][COMPONENT] = json!(component);
    meta["annotations"][KEY] = json!(key.to_hex());
    let api_version = o["apiVersion"].as_str().unwrap_or("").to_string();
    if crate::cluster::Kind::new(&api_version, &kind).namespaced && o["metadata"]["namespace"].is_null() {
        o["metadata"]["namespace"] = json!(namespace);
    }
}

/// Validates every object with the validators `render` uses (strict Kubernetes schemas
/// embedded in loadbuild; Argo and Spark Operator schemas from `schemas_dir`): each problem
/// names the component, the object and the field.
pub fn validate(all: &[Rendered], schemas_dir: &Path) -> Result<(), String> {
    let validators = crate::scenario::schema::Validators::new(schemas_dir.to_path_buf(), "1.34".into());
    let mut problems = Vec::new();
    for r in all {
        for o in &r.objects {
            let what =
                format!("component {}: {} {}", r.name, o["kind"].as_str().unwrap_or("?"), o["metadata"]["name"].as_str().unwrap_or("?"));
            match validators.validate(o) {
                Ok(v) => problems.extend(v.iter().map(|v| format!("{what}: at `{}`: {}", v.path, v.rule))),
                Err(e) => problems.push(format!("{what}: {e}")),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} rendered object(s) do not validate:\n  {}", problems.len(), problems.join("\n  ")))
    }
}

/// The objects as one YAML stream with every Secret value and generated token redacted.
pub fn dry_run_yaml(all: &[Rendered]) -> String {
    let mut out = String::new();
    for r in all {
        for o in &r.objects {
            let mut o = o.clone();
            redact(&mut o);
            out.push_str(&format!("---\n# component: {} (key {})\n", r.name, r.key.short()));
            out.push_str(&serde_saphyr::to_string(&o).unwrap_or_default());
        }
    }
    out
}

fn redact(o: &mut Value) {
    if o["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(m) = o[field].as_object_mut() {
                m.values_mut().for_each(|v| *v = json!("<redacted>"));
            }
        }
    }
    redact_tokens(o);
}

fn redact_tokens(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("${secret:") => *s = "<redacted>".into(),
        Value::Object(m) => m.values_mut().for_each(redact_tokens),
        Value::Array(a) => a.iter_mut().for_each(redact_tokens),
        _ => {}
    }
}

/// Every `${secret:NAME}` token in the objects.
pub fn tokens(all: &[Rendered]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                let mut rest = s.as_str();
                while let Some(i) = rest.find("${secret:") {
                    let tail = &rest[i + 9..];
                    let Some(end) = tail.find('}') else { break };
                    out.insert(tail[..end].to_string());
                    rest = &tail[end..];
                }
            }
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    all.iter().flat_map(|r| &r.objects).for_each(|o| walk(o, &mut out));
    out
}
