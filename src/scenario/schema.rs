//! JSON-schema validation of rendered Kubernetes objects, by `apiVersion` and `kind`.
//!
//! - Argo (`argoproj.io/…`): the Argo Workflows JSON schema (`<schemas>/argo/schema.json`).
//! - Spark Operator (`sparkoperator.k8s.io/…`): the `openAPIV3Schema` of its CRDs
//!   (`<schemas>/spark-operator/sparkoperator.k8s.io_<plural>.yaml`).
//! - Built-in kinds: the strict JSON schemas of one Kubernetes version, as the PyPI package
//!   `kubernetes-validate` ships them: `LOADBUILD_KUBERNETES_SCHEMAS` when set, else the subset
//!   vendored in `vendor/kubernetes-schemas/` and embedded in the binary (Kubernetes 1.34), else
//!   for another version the package that `python3` imports.
//!
//! Neither the Argo schema nor CRD schemas close their objects, yet `argo lint` and the API
//! server's strict field validation reject unknown fields: every object schema with
//! `properties` is closed here (`additionalProperties: false`) unless it preserves unknown
//! fields. Validators are compiled on first use of a kind, once per process, against one
//! shared registry of definitions per source (the Kubernetes and Argo definitions are indexed
//! once, not copied into each kind's schema and checked again).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// One schema violation: where in the document, and what rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

type Compiled = Arc<OnceLock<Result<Validator, String>>>;

/// Where the shared definitions live for `$ref`s: a base no request ever goes to.
const BASE: &str = "https://schemas.loadbuild.invalid";

pub struct Validators {
    schemas_dir: PathBuf,
    kubernetes: String,
    kube_dir: OnceLock<Result<KubeSchemas, String>>,
    /// The Argo schema, closed, as one resource every Argo kind refers into; and its
    /// definitions' names.
    argo: OnceLock<Result<(Registry<'static>, HashSet<String>), String>>,
    /// Kubernetes' `_definitions.json`, which every built-in kind's schema refers into.
    kube: OnceLock<Result<Registry<'static>, String>>,
    compiled: Mutex<HashMap<String, Compiled>>,
}

impl Validators {
    /// `schemas_dir` holds `argo/` and `spark-operator/`; `kubernetes` is a version like `1.34`.
    pub fn new(schemas_dir: PathBuf, kubernetes: String) -> Validators {
        Validators {
            schemas_dir,
            kubernetes,
            kube_dir: OnceLock::new(),
            argo: OnceLock::new(),
            kube: OnceLock::new(),
            compiled: Mutex::default(),
        }
    }

    /// Validates one object. `Err` when no schema can be had for it (a setup problem or an
    /// unknown kind); `Ok` with the violations otherwise (empty when valid).
    pub fn validate(&self, doc: &Value) -> Result<Vec<Violation>, String> {
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let slot: Compiled =
            Arc::clone(self.compiled.lock().expect("no panic holding validators").entry(format!("{api}/{kind}")).or_default());
        // Compiled outside the map's lock, once: a thread asking for the same kind meanwhile
        // waits for this one instead of compiling it again.
        let validator = slot.get_or_init(|| self.compile(api, kind)).as_ref().map_err(Clone::clone)?;
        if validator.is_valid(doc) {
            return Ok(Vec::new());
        }
        Ok(validator
            .iter_errors(doc)
            .take(8)
            .map(|e| Violation { path: e.instance_path().to_string(), rule: shorten(&e.to_string()) })
            .collect())
    }

    fn compile(&self, api: &str, kind: &str) -> Result<Validator, String> {
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        let options = jsonschema::options().with_draft(Draft::Draft202012).should_validate_formats(false);
        let built = match group {
            "argoproj.io" => {
                let (registry, names) = self.argo.get_or_init(|| self.argo_registry()).as_ref().map_err(Clone::clone)?;
                let def = format!("io.argoproj.workflow.v1alpha1.{kind}");
                if !names.contains(&def) {
                    return Err(format!("the Argo schema has no kind `{kind}`"));
                }
                options.with_registry(registry).build(&serde_json::json!({ "$ref": format!("{BASE}/argo/schema.json#/definitions/{def}") }))
            }
            "sparkoperator.k8s.io" => options.build(&self.crd_schema(group, version, kind)?),
            _ => {
                let (file, schema) = self.kube_schema(group, version, kind)?;
                let registry = self.kube.get_or_init(|| self.kube_registry()).as_ref().map_err(Clone::clone)?;
                options.with_registry(registry).with_base_uri(format!("{BASE}/api/{file}")).build(&schema)
            }
        };
        built.map_err(|e| format!("the schema for `{api}` `{kind}` does not compile: {e}"))
    }

    /// The Argo schema, closed, as `<BASE>/argo/schema.json`.
    fn argo_registry(&self) -> Result<(Registry<'static>, HashSet<String>), String> {
        let path = self.schemas_dir.join("argo/schema.json");
        let mut doc = read_json(&path)?;
        close_objects(&mut doc);
        let names = match doc.get("definitions") {
            Some(Value::Object(defs)) => defs.keys().cloned().collect(),
            _ => return Err(format!("`{}` has no `definitions`", path.display())),
        };
        Registry::new()
            .draft(Draft::Draft202012)
            .add(format!("{BASE}/argo/schema.json"), Draft::Draft202012.create_resource(doc))
            .and_then(|b| b.prepare())
            .map(|r| (r, names))
            .map_err(|e| format!("the Argo schema `{}` cannot be indexed: {e}", path.display()))
    }

    /// Kubernetes' shared definitions, as `<BASE>/api/_definitions.json`.
    fn kube_registry(&self) -> Result<Registry<'static>, String> {
        let dir = self.kube_dir.get_or_init(|| kube_dir(&self.kubernetes)).clone()?;
        let defs = dir.read("_definitions.json")?.ok_or_else(|| format!("{} has no `_definitions.json`", dir.describe()))?;
        Registry::new()
            .draft(Draft::Draft202012)
            .add(format!("{BASE}/api/_definitions.json"), Draft::Draft202012.create_resource(defs))
            .and_then(|b| b.prepare())
            .map_err(|e| format!("`_definitions.json` of {} cannot be indexed: {e}", dir.describe()))
    }

    fn crd_schema(&self, group: &str, version: &str, kind: &str) -> Result<Value, String> {
        let path = self.schemas_dir.join(format!("spark-operator/{group}_{}s.yaml", kind.to_ascii_lowercase()));
        let text = std::fs::read_to_string(&path).map_err(|e| missing(&path, e, "the Spark Operator CRDs"))?;
        let crd: Value = serde_saphyr::from_str(&text).map_err(|e| format!("`{}` is not YAML: {e}", path.display()))?;
        let versions = crd.pointer("/spec/versions").and_then(Value::as_array).ok_or(format!("`{}` has no versions", path.display()))?;
        let v = versions
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
            .ok_or_else(|| format!("`{}` does not serve version `{version}`", path.display()))?;
        let mut schema = v.pointer("/schema/openAPIV3Schema").cloned().ok_or(format!("`{}` has no openAPIV3Schema", path.display()))?;
        close_objects(&mut schema);
        Ok(schema)
    }

    /// A built-in kind's schema file (`deployment-apps-v1.json`): its name and contents. Its
    /// `$ref`s point into `/api/_definitions.json`, in the registry.
    fn kube_schema(&self, group: &str, version: &str, kind: &str) -> Result<(String, Value), String> {
        let dir = self.kube_dir.get_or_init(|| kube_dir(&self.kubernetes)).clone()?;
        let prefix = group.split('.').next().unwrap_or("");
        let file = if prefix.is_empty() {
            format!("{}-{version}.json", kind.to_ascii_lowercase())
        } else {
            format!("{}-{prefix}-{version}.json", kind.to_ascii_lowercase())
        };
        match dir.read(&file)? {
            Some(schema) => Ok((file, schema)),
            None => {
                let api = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
                let fix = match dir {
                    KubeSchemas::Embedded(_) => {
                        "; add it to vendor/kubernetes-schemas/KINDS and run vendor/refresh-kubernetes-schemas.sh, then rebuild"
                    }
                    KubeSchemas::Dir(_) => "",
                };
                Err(format!(
                    "no schema for `{api}` `{kind}` in Kubernetes {} (looked for `{file}` in {}){fix}",
                    self.kubernetes,
                    dir.describe()
                ))
            }
        }
    }
}

fn missing(path: &Path, e: std::io::Error, what: &str) -> String {
    format!(
        "cannot read `{}` ({e}): {what} are needed to validate rendered files; point the render rule's `schemas` param at a directory holding `argo/` and `spark-operator/`",
        path.display()
    )
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| missing(path, e, "schemas"))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}` is not JSON: {e}", path.display()))
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/kubernetes_schemas.rs"));
}

/// Where the strict schemas of one Kubernetes version are: embedded in the binary (the
/// vendored subset), or a directory of `kubernetes-validate`'s files.
#[derive(Debug, Clone)]
pub enum KubeSchemas {
    /// The version directory's name among the embedded files (`v1.34.0-local-strict`).
    Embedded(&'static str),
    Dir(PathBuf),
}

impl KubeSchemas {
    /// A schema file by name; `None` when this set has no such file.
    fn read(&self, file: &str) -> Result<Option<Value>, String> {
        match self {
            KubeSchemas::Embedded(leaf) => match embedded::EMBEDDED.iter().find(|(l, f, _)| l == leaf && *f == file) {
                Some((_, _, text)) => {
                    serde_json::from_str(text).map(Some).map_err(|e| format!("the embedded `{leaf}/{file}` is not JSON: {e}"))
                }
                None => Ok(None),
            },
            KubeSchemas::Dir(dir) => {
                let path = dir.join(file);
                if path.exists() { read_json(&path).map(Some) } else { Ok(None) }
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            KubeSchemas::Embedded(leaf) => format!("the schemas embedded in loadbuild (vendor/kubernetes-schemas/{leaf})"),
            KubeSchemas::Dir(dir) => format!("`{}`", dir.display()),
        }
    }
}

/// The Kubernetes versions whose schemas are embedded (`1.34.0`, …).
pub fn embedded_versions() -> Vec<&'static str> {
    let mut v: Vec<&str> =
        embedded::EMBEDDED.iter().filter_map(|(leaf, _, _)| leaf.strip_prefix('v')?.strip_suffix("-local-strict")).collect();
    v.dedup();
    v
}

/// The strict schemas for Kubernetes `version` (`1.34` → `v1.34.0-local-strict`).
pub fn kube_dir(version: &str) -> Result<KubeSchemas, String> {
    let full = if version.matches('.').count() == 1 { format!("{version}.0") } else { version.to_string() };
    let leaf = format!("v{}-local-strict", full.trim_start_matches('v'));
    if std::env::var_os("LOADBUILD_KUBERNETES_SCHEMAS").is_none()
        && let Some((embedded, _, _)) = embedded::EMBEDDED.iter().find(|(l, _, _)| *l == leaf)
    {
        return Ok(KubeSchemas::Embedded(embedded));
    }
    let how = format!(
        "loadbuild embeds the schemas of Kubernetes {}; for {version} run `python3 -m pip install kubernetes-validate` (it ships them), or set LOADBUILD_KUBERNETES_SCHEMAS to a directory holding `{leaf}/`",
        embedded_versions().join(", ")
    );
    let base = match std::env::var_os("LOADBUILD_KUBERNETES_SCHEMAS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let python = super::tools::python().as_ref().map_err(|e| format!("Kubernetes schemas not found ({e}): {how}"))?;
            match python.site_dirs.iter().map(|d| d.join("kubernetes_validate")).find(|d| d.is_dir()) {
                Some(package) => package.join("kubernetes-json-schema"),
                // Not in the usual places (an editable install?): ask Python to import it.
                None => {
                    let out = std::process::Command::new(&python.exe)
                        .args(["-c", "import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))"])
                        .output()
                        .map_err(|e| format!("Kubernetes schemas not found (running python3: {e}): {how}"))?;
                    if !out.status.success() {
                        return Err(format!("Kubernetes schemas not found (python3 cannot import kubernetes_validate): {how}"));
                    }
                    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("kubernetes-json-schema")
                }
            }
        }
    };
    for candidate in [base.join(&leaf), base.clone()] {
        if candidate.join("_definitions.json").exists() {
            return Ok(KubeSchemas::Dir(candidate));
        }
    }
    Err(format!("Kubernetes {version} schemas not found in `{}`: {how}", base.display()))
}

/// Closes every object schema that lists `properties`, as strict field validation does.
pub fn close_objects(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let preserve = m.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
            if m.contains_key("properties") && !m.contains_key("additionalProperties") && !preserve {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (k, child) in m.iter_mut() {
                // `properties` maps names to schemas; its own keys are not schema keywords.
                if k == "properties" || k == "definitions" || k == "$defs" {
                    if let Value::Object(props) = child {
                        props.values_mut().for_each(close_objects);
                    }
                } else if k != "enum" && k != "const" && k != "default" && k != "example" {
                    close_objects(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// A schema error message, without a multi-kilobyte dump of the offending value.
fn shorten(msg: &str) -> String {
    const MAX: usize = 240;
    if msg.len() <= MAX {
        return msg.to_string();
    }
    let mut cut = MAX;
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &msg[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_objects_keeps_maps_open_and_preserved_fields_open() {
        let mut s = serde_json::json!({
            "type": "object",
            "properties": { "a": { "type": "object", "properties": { "b": {} } }, "labels": { "type": "object", "additionalProperties": { "type": "string" } } },
            "definitions": { "Free": { "type": "object", "properties": {"x": {}}, "x-kubernetes-preserve-unknown-fields": true } }
        });
        close_objects(&mut s);
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["a"]["additionalProperties"], false);
        assert_eq!(s["properties"]["labels"]["additionalProperties"], serde_json::json!({"type": "string"}));
        assert!(s["definitions"]["Free"].get("additionalProperties").is_none());
    }
}
