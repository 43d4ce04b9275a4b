//! The Loadfile's `[infra]` section: the cluster (profile, context, namespace), the pinned helm,
//! probe endpoints, and the components in the order they are installed, each a vendored chart
//! with a values file and `--set` pins, or a loadbuild template with its variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use toml_edit::{DocumentMut, Item};

use crate::loadfile::raw::to_json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// The current kubeconfig context (or `context`); never creates a cluster.
    Existing,
    /// A minikube profile, started (`minikube start`) when no context answers.
    Minikube { name: String, cpus: u32, memory: String, driver: String },
}

#[derive(Debug, Clone)]
pub enum Source {
    /// `helm template` of a vendored chart directory with a values file and `--set` pins.
    Chart { dir: PathBuf, values: Option<PathBuf>, set: Vec<(String, String)> },
    /// A minijinja template rendered by loadbuild with the component's table as `c`.
    Template { file: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    pub source: Source,
    /// The component's own table (pins such as `image`, sizes), as the template sees it.
    pub vars: Map<String, Value>,
    /// Which probe `infra verify` runs for it.
    pub probe: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InfraConfig {
    pub root: PathBuf,
    pub profile: Profile,
    pub context: Option<String>,
    pub namespace: String,
    pub helm: String,
    pub timeout: Duration,
    /// Where the probes reach the services from here (default: the in-cluster Service names).
    pub endpoints: Map<String, Value>,
    pub components: Vec<Component>,
    /// The project's cache directory (`project.cache`): the last probe results live there.
    pub cache: PathBuf,
}

/// Reads `[infra]` from the Loadfile at `path`; errors name the file and the key.
pub fn read(path: &Path) -> Result<InfraConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: DocumentMut = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let root = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let file = path.display();
    let Some(infra) = doc.get("infra").and_then(Item::as_table_like) else {
        return Err(format!("{file}: no [infra] section: add one (see docs/infrastructure.md)"));
    };
    let s = |key: &str| infra.get(key).and_then(Item::as_str).map(str::to_string);
    let profile = match s("profile").as_deref().unwrap_or("existing") {
        "existing" => Profile::Existing,
        "minikube" => {
            let m = infra.get("minikube").map(to_json).unwrap_or(Value::Null);
            Profile::Minikube {
                name: m["profile"].as_str().unwrap_or("loadbuild").to_string(),
                cpus: m["cpus"].as_u64().unwrap_or(8) as u32,
                memory: m["memory"].as_str().unwrap_or("16g").to_string(),
                driver: m["driver"].as_str().unwrap_or("docker").to_string(),
            }
        }
        other => return Err(format!("{file}: infra.profile = \"{other}\": use \"existing\" or \"minikube\"")),
    };
    let timeout = match s("timeout") {
        Some(t) => humantime::parse_duration(&t).map_err(|e| format!("{file}: infra.timeout = \"{t}\": {e}"))?,
        None => Duration::from_secs(600),
    };
    let endpoints = match infra.get("endpoints").map(to_json) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let Some(comps) = infra.get("components").and_then(Item::as_table_like) else {
        return Err(format!("{file}: [infra.components] is missing: list the components to install"));
    };
    let mut components = Vec::new();
    for (name, item) in comps.iter() {
        let Value::Object(vars) = to_json(item) else {
            return Err(format!("{file}: infra.components.{name} must be a table"));
        };
        let rel = |k: &str| vars.get(k).and_then(Value::as_str).map(|p| root.join(p));
        let source = match (rel("chart"), rel("template")) {
            (Some(dir), None) => {
                let set = match vars.get("set") {
                    Some(Value::Object(m)) => {
                        m.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()
                    }
                    _ => Vec::new(),
                };
                Source::Chart { dir, values: rel("values"), set }
            }
            (None, Some(file)) => Source::Template { file },
            _ => {
                return Err(format!("{file}: infra.components.{name}: give exactly one of `chart` (a directory) or `template` (a file)"));
            }
        };
        let probe = vars.get("probe").and_then(Value::as_str).map(str::to_string);
        components.push(Component { name: name.to_string(), source, vars, probe });
    }
    let cache_root = root.clone();
    Ok(InfraConfig {
        root,
        profile,
        context: s("context").filter(|c| !c.is_empty()),
        namespace: s("namespace").unwrap_or_else(|| "loadbuild".into()),
        helm: std::env::var("LOADBUILD_HELM").ok().filter(|h| !h.is_empty()).or_else(|| s("helm")).unwrap_or_else(|| "helm".into()),
        timeout,
        endpoints,
        components,
        cache: cache_root.join(doc.get("project").and_then(|p| p.get("cache")).and_then(Item::as_str).unwrap_or("cache")),
    })
}
