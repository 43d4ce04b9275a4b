//! JSON-schema validation of rendered Kubernetes objects, by `apiVersion` and `kind`.
//!
//! - Argo (`argoproj.io/…`): the Argo Workflows JSON schema (`<schemas>/argo/schema.json`).
//! - Spark Operator (`sparkoperator.k8s.io/…`): the `openAPIV3Schema` of its CRDs
//!   (`<schemas>/spark-operator/sparkoperator.k8s.io_<plural>.yaml`).
//! - Built-in kinds: the strict JSON schemas of one Kubernetes version, as the PyPI package
//!   `kubernetes-validate` ships them (found through `LOADBUILD_KUBERNETES_SCHEMAS`, or in the
//!   package that `python3` imports).
//!
//! Neither the Argo schema nor CRD schemas close their objects, yet `argo lint` and the API
//! server's strict field validation reject unknown fields: every object schema with
//! `properties` is closed here (`additionalProperties: false`) unless it preserves unknown
//! fields. Validators are compiled on first use of a kind, once per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// One schema violation: where in the document, and what rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

type Compiled = Arc<Result<jsonschema::Validator, String>>;

pub struct Validators {
    schemas_dir: PathBuf,
    kubernetes: String,
    kube_dir: OnceLock<Result<PathBuf, String>>,
    argo: OnceLock<Result<Arc<Value>, String>>,
    kube_defs: OnceLock<Result<Arc<Value>, String>>,
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
            kube_defs: OnceLock::new(),
            compiled: Mutex::default(),
        }
    }

    /// Validates one object. `Err` when no schema can be had for it (a setup problem or an
    /// unknown kind); `Ok` with the violations otherwise (empty when valid).
    pub fn validate(&self, doc: &Value) -> Result<Vec<Violation>, String> {
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let key = format!("{api}/{kind}");
        let compiled = {
            let existing = self.compiled.lock().expect("no panic holding validators").get(&key).cloned();
            match existing {
                Some(c) => c,
                None => {
                    // Compiled outside the lock: another thread may compile the same kind at
                    // once, which only wastes a little time.
                    let c: Compiled = Arc::new(self.compile(api, kind));
                    self.compiled.lock().expect("no panic holding validators").entry(key).or_insert(c).clone()
                }
            }
        };
        let validator = compiled.as_ref().as_ref().map_err(Clone::clone)?;
        Ok(validator
            .iter_errors(doc)
            .take(8)
            .map(|e| Violation { path: e.instance_path().to_string(), rule: shorten(&e.to_string()) })
            .collect())
    }

    fn compile(&self, api: &str, kind: &str) -> Result<jsonschema::Validator, String> {
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        let schema = match group {
            "argoproj.io" => self.argo_schema(kind)?,
            "sparkoperator.k8s.io" => self.crd_schema(group, version, kind)?,
            _ => self.kube_schema(group, version, kind)?,
        };
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(&schema)
            .map_err(|e| format!("the schema for `{api}` `{kind}` does not compile: {e}"))
    }

    fn argo_schema(&self, kind: &str) -> Result<Value, String> {
        let doc = self
            .argo
            .get_or_init(|| {
                let path = self.schemas_dir.join("argo/schema.json");
                let mut v = read_json(&path)?;
                close_objects(&mut v);
                Ok(Arc::new(v))
            })
            .clone()?;
        let def = format!("io.argoproj.workflow.v1alpha1.{kind}");
        let defs = doc.get("definitions").ok_or("the Argo schema has no `definitions`")?;
        if defs.get(&def).is_none() {
            return Err(format!("the Argo schema has no kind `{kind}`"));
        }
        Ok(serde_json::json!({ "$ref": format!("#/definitions/{def}"), "definitions": defs }))
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

    fn kube_schema(&self, group: &str, version: &str, kind: &str) -> Result<Value, String> {
        let dir = self.kube_dir.get_or_init(|| kube_dir(&self.kubernetes)).clone()?;
        let prefix = group.split('.').next().unwrap_or("");
        let file = if prefix.is_empty() {
            format!("{}-{version}.json", kind.to_ascii_lowercase())
        } else {
            format!("{}-{prefix}-{version}.json", kind.to_ascii_lowercase())
        };
        let path = dir.join(&file);
        if !path.exists() {
            let api = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
            return Err(format!("no schema for `{api}` `{kind}` in Kubernetes {} (looked for `{}`)", self.kubernetes, path.display()));
        }
        let mut schema = read_json(&path)?;
        let defs = self
            .kube_defs
            .get_or_init(|| {
                let v = read_json(&dir.join("_definitions.json"))?;
                v.get("$defs").cloned().map(Arc::new).ok_or_else(|| "`_definitions.json` has no `$defs`".to_string())
            })
            .clone()?;
        rewrite_refs(&mut schema, "/api/_definitions.json#", "#");
        if let Value::Object(m) = &mut schema {
            m.insert("$defs".into(), (*defs).clone());
        }
        Ok(schema)
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

/// The directory of strict schemas for Kubernetes `version` (`1.34` → `v1.34.0-local-strict`).
fn kube_dir(version: &str) -> Result<PathBuf, String> {
    let full = if version.matches('.').count() == 1 { format!("{version}.0") } else { version.to_string() };
    let leaf = format!("v{}-local-strict", full.trim_start_matches('v'));
    let how = format!(
        "install them with `python3 -m pip install kubernetes-validate` (it ships them), or set LOADBUILD_KUBERNETES_SCHEMAS to a directory holding `{leaf}/`"
    );
    let base = match std::env::var_os("LOADBUILD_KUBERNETES_SCHEMAS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let out = std::process::Command::new("python3")
                .args(["-c", "import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))"])
                .output()
                .map_err(|e| format!("Kubernetes schemas not found (running python3: {e}): {how}"))?;
            if !out.status.success() {
                return Err(format!("Kubernetes schemas not found (python3 cannot import kubernetes_validate): {how}"));
            }
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("kubernetes-json-schema")
        }
    };
    for candidate in [base.join(&leaf), base.clone()] {
        if candidate.join("_definitions.json").exists() {
            return Ok(candidate);
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

fn rewrite_refs(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(rest) = r.strip_prefix(from)
            {
                *r = format!("{to}{rest}");
            }
            m.values_mut().for_each(|c| rewrite_refs(c, from, to));
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite_refs(c, from, to)),
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
