//! The scenario template library: template files read once per process into one shared
//! minijinja environment, and analysed for what they read (Loadfile variables, context names,
//! other templates).
//!
//! A render node may include or import only templates its rule declares as sources: that is
//! what makes "a template change invalidates only the cells that use it" true, since a node's
//! key covers exactly its sources. References are found by scanning the template text for
//! `include`/`import`/`from`/`extends` with a literal name; a computed name is refused.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use minijinja::{Environment, UndefinedBehavior};

use super::functions;
use super::schema::Validators;
use super::shell::ShellChecks;
use super::yaml::Shapes;
use crate::hash::Digest;

/// What a template reads, found statically.
#[derive(Debug, Clone)]
pub struct Info {
    /// The name includes use: the path relative to the templates directory.
    pub name: String,
    /// Loadfile variables read, as dotted paths below `vars` (`scenario.resources`).
    pub vars: BTreeSet<String>,
    /// Other top-level context names read (`cell`, `tier`, `matrix`, …).
    pub names: BTreeSet<String>,
    /// Templates this one includes, imports or extends.
    pub refs: Vec<String>,
}

/// Templates, their analyses and compiled validators, shared by every render in a process.
pub struct Library {
    env: Environment<'static>,
    texts: Arc<RwLock<HashMap<String, Arc<str>>>>,
    infos: Mutex<HashMap<String, Arc<Info>>>,
    /// The same, by the path a rule names (planning looks up every node's sources).
    by_path: Mutex<HashMap<String, Arc<Info>>>,
    var_digests: Mutex<HashMap<String, Digest>>,
    validators: Mutex<HashMap<String, Arc<Validators>>>,
    shell: ShellChecks,
    yaml: Shapes,
}

impl Default for Library {
    fn default() -> Self {
        Library::new()
    }
}

impl Library {
    pub fn new() -> Library {
        let texts: Arc<RwLock<HashMap<String, Arc<str>>>> = Arc::default();
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // No auto-escaping (minijinja would JSON-escape `.yaml` templates): every file type
        // renders alike, and templates quote with `tojson` or `shq` where they mean to.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        functions::register(&mut env);
        let loader_texts = Arc::clone(&texts);
        env.set_loader(move |name| {
            Ok(loader_texts.read().expect("no thread panics holding the template texts").get(name).map(|t| t.to_string()))
        });
        Library {
            env,
            texts,
            infos: Mutex::default(),
            by_path: Mutex::default(),
            var_digests: Mutex::default(),
            validators: Mutex::default(),
            shell: ShellChecks::default(),
            yaml: Shapes::default(),
        }
    }

    /// The environment templates render in.
    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }

    /// Shell checks, with their verdicts kept for the process.
    pub fn shell(&self) -> &ShellChecks {
        &self.shell
    }

    /// YAML skeletons parsed so far.
    pub fn yaml(&self) -> &Shapes {
        &self.yaml
    }

    /// Reads and analyses the template at `rel` (relative to `root`), once per process.
    pub fn load(&self, root: &Path, templates_dir: &Path, rel: &str) -> Result<Arc<Info>, String> {
        if let Some(info) = self.by_path.lock().expect("no panic holding infos").get(rel) {
            return Ok(Arc::clone(info));
        }
        let info = self.load_new(root, templates_dir, rel)?;
        self.by_path.lock().expect("no panic holding infos").insert(rel.to_string(), Arc::clone(&info));
        Ok(info)
    }

    fn load_new(&self, root: &Path, templates_dir: &Path, rel: &str) -> Result<Arc<Info>, String> {
        let path = root.join(rel);
        let name = template_name(templates_dir, &path)
            .ok_or_else(|| format!("template `{rel}` is outside the templates directory `{}`", templates_dir.display()))?;
        if let Some(info) = self.infos.lock().expect("no panic holding infos").get(&name) {
            return Ok(Arc::clone(info));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read template `{rel}`: {e}"))?;
        let refs = references(&text).map_err(|e| format!("template `{rel}`: {e}"))?;
        self.texts.write().expect("no panic holding texts").insert(name.clone(), Arc::from(text.as_str()));
        let t = self.env.get_template(&name).map_err(|e| format!("template `{rel}` does not compile: {}", describe(&e)))?;
        let mut vars = BTreeSet::new();
        let mut names = BTreeSet::new();
        for v in t.undeclared_variables(true) {
            match v.strip_prefix("vars.") {
                Some(rest) => {
                    vars.insert(rest.to_string());
                }
                None if v == "vars" => {
                    vars.insert(String::new());
                }
                None => {
                    names.insert(v.split('.').next().unwrap_or(&v).to_string());
                }
            }
        }
        let info = Arc::new(Info { name: name.clone(), vars, names, refs });
        self.infos.lock().expect("no panic holding infos").insert(name, Arc::clone(&info));
        Ok(info)
    }

    /// The digest of the Loadfile variable at a dotted path below `vars` (`""` = all of them).
    pub fn var_digest(&self, vars: &serde_json::Map<String, serde_json::Value>, path: &str) -> Digest {
        let mut memo = self.var_digests.lock().expect("no panic holding var digests");
        if let Some(d) = memo.get(path) {
            return *d;
        }
        let mut v: Option<&serde_json::Value> = None;
        let mut map = Some(vars);
        for part in path.split('.').filter(|p| !p.is_empty()) {
            v = map.and_then(|m| m.get(part));
            map = v.and_then(|x| x.as_object());
        }
        let text = match (path.is_empty(), v) {
            (true, _) => serde_json::to_string(vars).unwrap_or_default(),
            (false, Some(v)) => v.to_string(),
            (false, None) => "<undefined>".to_string(),
        };
        let d = Digest::of("loadbuild 2026-11 var", &text);
        memo.insert(path.to_string(), d);
        d
    }

    /// The validators for a schema configuration, compiled lazily and kept for the process.
    pub fn validators(&self, key: &str, make: impl FnOnce() -> Validators) -> Arc<Validators> {
        let mut v = self.validators.lock().expect("no panic holding validators");
        Arc::clone(v.entry(key.to_string()).or_insert_with(|| Arc::new(make())))
    }
}

/// A template's name: its path relative to the templates directory, with `/` separators.
fn template_name(templates_dir: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(templates_dir).ok()?;
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.iter().any(|p| p == "..") {
        return None;
    }
    Some(parts.join("/"))
}

/// The templates a template refers to, by literal name.
fn references(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{%") {
        let after = rest[open + 2..].trim_start_matches(['-', '+']).trim_start();
        let close = after.find("%}").unwrap_or(after.len());
        let tag = &after[..close];
        let keyword = tag.split_whitespace().next().unwrap_or("");
        if matches!(keyword, "include" | "import" | "from" | "extends") {
            let arg = tag[keyword.len()..].trim_start();
            let quote = arg.chars().next().filter(|c| *c == '"' || *c == '\'');
            let Some(q) = quote else {
                return Err(format!("`{{% {keyword} … %}}` must name its template as a literal string, so loadbuild can key on it"));
            };
            let end = arg[1..].find(q).ok_or_else(|| format!("unterminated template name in `{{% {keyword} … %}}`"))?;
            out.push(arg[1..1 + end].to_string());
        }
        rest = &rest[open + 2..];
    }
    Ok(out)
}

/// A minijinja error with its detail and template location.
pub fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg = format!("{msg}: {detail}");
    }
    if let (Some(name), Some(line)) = (e.name(), e.line()) {
        msg = format!("{msg} (at `{name}` line {line})");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(inner) = s.downcast_ref::<minijinja::Error>() {
            msg = format!("{msg}; {}", describe(inner));
            break;
        }
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::references;

    #[test]
    fn finds_literal_references_and_refuses_computed_ones() {
        let refs = references("{% include 'a/b.j2' %}{%- from \"m.j2\" import x %}{{ x }}{% if y %}{% endif %}").unwrap();
        assert_eq!(refs, vec!["a/b.j2", "m.j2"]);
        assert!(references("{% include name %}").unwrap_err().contains("literal"));
    }
}
