//! Validation of one rendered file, chosen by its extension.
//!
//! - `.yaml`: every document parses (YAML 1.2, duplicate keys refused; once per document shape,
//!   [`super::yaml`]) and is a Kubernetes
//!   object: names, labels and quantities valid ([`super::names`]), its schema satisfied
//!   ([`super::schema`]), and no template syntax left over — except Argo's `{{…}}` in Argo
//!   objects, each of which must be an Argo expression.
//! - `.sh`: no template syntax left; the cell-values block and the tools (`bash -n`, shellcheck)
//!   are [`super::shell`]'s.
//! - `.conf`: a Spark properties file: `spark.key value` lines, no key twice.
//! - `.json`: parses.
//!
//! A problem names the file, the place inside it (document and JSON pointer, or line) and the
//! rule broken.

use std::fmt;

use serde_json::Value;

use super::functions::is_argo_expression;
use super::names;
use super::schema::{Validators, Violation};
use super::yaml::Shapes;

/// One thing wrong with a rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// Where inside the file: `document 2 (Deployment lb-x) /spec/replicas`, `line 4`, or empty.
    pub place: String,
    pub rule: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.place.is_empty() {
            write!(f, "`{}`: {}", self.file, self.rule)
        } else {
            write!(f, "`{}`: {}: {}", self.file, self.place, self.rule)
        }
    }
}

/// What to check with: schemas and the YAML parses of document shapes.
pub struct Checkers<'a> {
    pub schemas: &'a Validators,
    pub yaml: &'a Shapes,
}

/// Checks `text`, the content of the rendered file `file`.
pub fn check(file: &str, text: &str, with: &Checkers) -> Vec<Problem> {
    let problem = |place: String, rule: String| Problem { file: file.to_string(), place, rule };
    // A Dockerfile is linted by hadolint where it is built (tests/scenario_semantics.rs does);
    // here it must only hold no template syntax.
    if file.rsplit('/').next() == Some("Dockerfile") {
        return leftover_syntax(text).into_iter().map(|(p, r)| problem(p, r)).collect();
    }
    let ext = file.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "yaml" | "yml" => check_yaml(text, with).into_iter().map(|(p, r)| problem(p, r)).collect(),
        // The shell tools' part is started by the caller ([`ShellChecks::start`]).
        "sh" => leftover_syntax(text).into_iter().map(|(p, r)| problem(p, r)).collect(),
        "conf" => leftover_syntax(text).into_iter().chain(check_properties(text)).map(|(p, r)| problem(p, r)).collect(),
        "json" => match serde_json::from_str::<Value>(text) {
            Ok(_) => Vec::new(),
            Err(e) => vec![problem(format!("line {}", e.line()), format!("not JSON: {e}"))],
        },
        _ => vec![problem(
            String::new(),
            format!("loadbuild has no validator for `.{ext}` files; render `.yaml`, `.sh`, `.conf`, `.json` or a `Dockerfile`"),
        )],
    }
}

/// Template syntax that reached the output (a `{%`, `{#` or `{{` the template meant literally).
fn leftover_syntax(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if ["{{", "{%", "{#"].iter().any(|s| line.contains(s)) {
            out.push((format!("line {}", i + 1), "template syntax left in the output (`{{`, `{%` or `{#`)".to_string()));
        }
    }
    out
}

/// A Spark properties file (`spark-defaults.conf`): `key value` per line, keys `spark.…`.
fn check_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let key = l.split(|c: char| c.is_whitespace() || c == '=').next().unwrap_or("");
        let value = l[key.len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '=');
        let place = format!("line {}", i + 1);
        if !key.starts_with("spark.") {
            out.push((place, format!("`{key}` is not a Spark property (they start with `spark.`)")));
        } else if value.is_empty() {
            out.push((place, format!("`{key}` has no value")));
        } else if !seen.insert(key.to_string()) {
            out.push((place, format!("`{key}` is set twice; Spark keeps the last, so one of them is ignored")));
        }
    }
    out
}

fn check_yaml(text: &str, with: &Checkers) -> Vec<(String, String)> {
    let schemas = with.schemas;
    let docs: Vec<Value> = match with.yaml.parse(text) {
        Ok(d) => d,
        Err(e) => return vec![(String::new(), format!("not valid YAML: {}", one_line(&e)))],
    };
    if docs.is_empty() {
        return vec![(String::new(), "no YAML document".to_string())];
    }
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let kind = doc.get("kind").and_then(Value::as_str);
        let name = doc.pointer("/metadata/name").or_else(|| doc.pointer("/metadata/generateName")).and_then(Value::as_str);
        let place = match (kind, name) {
            (Some(k), Some(n)) => format!("document {} ({k} `{n}`)", i + 1),
            (Some(k), None) => format!("document {} ({k})", i + 1),
            _ => format!("document {}", i + 1),
        };
        let at = |path: &str| if path.is_empty() { place.clone() } else { format!("{place} at `{path}`") };
        if !doc.is_object() || doc.get("apiVersion").and_then(Value::as_str).is_none() || kind.is_none() {
            out.push((place.clone(), "not a Kubernetes object: it needs `apiVersion` and `kind`".to_string()));
            continue;
        }
        let argo = doc.get("apiVersion").and_then(Value::as_str).is_some_and(|a| a.starts_with("argoproj.io/"));
        strings(doc, &mut Vec::new(), &mut |path, s| {
            if let Some(rule) = template_problem(s, argo) {
                out.push((at(&names::pointer(path)), rule));
            }
        });
        for v in names::check(doc, argo) {
            out.push((at(&v.path), v.rule));
        }
        match schemas.validate(doc) {
            Ok(violations) => out.extend(violations.into_iter().map(|Violation { path, rule }| (at(&path), rule))),
            Err(e) => out.push((place.clone(), e)),
        }
    }
    out
}

/// Calls `f` with the path (as [`names::Step`]s, made into a JSON pointer only where a
/// problem is reported) and text of every string in `v`.
fn strings<'a>(v: &'a Value, path: &mut Vec<names::Step<'a>>, f: &mut impl FnMut(&[names::Step<'a>], &str)) {
    match v {
        Value::String(s) => f(path, s),
        Value::Object(m) => {
            for (k, c) in m {
                path.push(names::Step::Key(k));
                strings(c, path, f);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                path.push(names::Step::Index(i));
                strings(c, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Template syntax in a string: never allowed outside Argo objects; inside them, every
/// `{{…}}` must be a whole Argo expression.
fn template_problem(s: &str, argo: bool) -> Option<String> {
    if s.contains("{%") || s.contains("{#") {
        return Some("Jinja syntax left in the output (`{%` or `{#`)".into());
    }
    if !s.contains("{{") && !s.contains("}}") {
        return None;
    }
    if !argo {
        return Some("template syntax left in the output (`{{`): only Argo objects may hold `{{…}}`".into());
    }
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            return Some(format!("unclosed `{{{{` in `{}`", one_line(s)));
        };
        let inner = &rest[open + 2..open + close];
        if !is_argo_expression(inner) {
            return Some(format!("`{{{{{inner}}}}}` is not an Argo expression; write Argo expressions with `argo(\"…\")` in templates"));
        }
        rest = &rest[open + close + 2..];
    }
    rest.contains("}}").then(|| format!("stray `}}}}` in `{}`", one_line(s)))
}

fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.len() > 300 { format!("{}…", &s[..s.char_indices().take_while(|(i, _)| *i < 300).last().map_or(0, |(i, _)| i)]) } else { s }
}

#[cfg(test)]
mod tests {
    use super::template_problem;

    #[test]
    fn argo_expressions() {
        assert!(template_problem("{{inputs.parameters.cell}}-x", true).is_none());
        assert!(template_problem("{{ cell.id }}", true).unwrap().contains("not an Argo expression"));
        assert!(template_problem("{{inputs.parameters.cell}}", false).unwrap().contains("only Argo objects"));
        assert!(template_problem("{{inputs.x", true).unwrap().contains("unclosed"));
    }
}
