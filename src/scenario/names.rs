//! Kubernetes names, labels and quantities: the rules the API server applies that JSON schemas
//! do not encode (the earlier implementation used `_`, `.` and `+` in names and labels).

use serde_json::Value;

use super::schema::Violation;

/// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn dns_label(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > 63 {
        return Some(format!("`{s}` must be 1–63 characters (it has {})", s.len()));
    }
    let ok = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok || s.starts_with('-') || s.ends_with('-') {
        return Some(format!(
            "`{s}` must be lowercase letters, digits and `-`, starting and ending with a letter or digit (RFC 1123 label)"
        ));
    }
    None
}

/// RFC 1035 label (Service names): an RFC 1123 label that starts with a letter.
pub fn dns1035_label(s: &str) -> Option<String> {
    dns_label(s)
        .or_else(|| (!s.starts_with(|c: char| c.is_ascii_lowercase())).then(|| format!("`{s}` must start with a letter (RFC 1035 label)")))
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns_subdomain(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > 253 {
        return Some(format!("`{s}` must be 1–253 characters"));
    }
    s.split('.').find_map(dns_label).map(|p| format!("`{s}` is not an RFC 1123 subdomain: {p}"))
}

fn qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A label or annotation key: `[prefix/]name`.
pub fn label_key(k: &str) -> Option<String> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && let Some(problem) = dns_subdomain(p)
    {
        return Some(format!("label key `{k}`: its prefix {problem}"));
    }
    (!qualified_part(name))
        .then(|| format!("label key `{k}`: the name must be 1–63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric"))
}

/// A label value: empty, or 1–63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
pub fn label_value(v: &str) -> Option<String> {
    (!v.is_empty() && !qualified_part(v))
        .then(|| format!("label value `{v}` must be at most 63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric"))
}

/// IANA service name (container port names): at most 15 of `[a-z0-9-]`, a letter among them.
fn port_name(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    (!ok).then(|| format!("port name `{s}` must be an IANA service name: at most 15 of `a-z 0-9 -`, with a letter"))
}

/// A resource quantity (`500m`, `4Gi`, `2`); Spark's `4g` is not one.
fn quantity(v: &Value) -> Option<String> {
    let s = match v {
        Value::Number(_) => return None,
        Value::String(s) => s.as_str(),
        other => return Some(format!("`{other}` is not a quantity")),
    };
    let digits = s.trim_start_matches(['+', '-']);
    let split = digits.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(digits.len());
    let (num, suffix) = digits.split_at(split);
    let suffix_ok = matches!(suffix, "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei")
        || (suffix.starts_with(['e', 'E']) && suffix[1..].trim_start_matches(['+', '-']).bytes().all(|b| b.is_ascii_digit()));
    (num.is_empty() || num.parse::<f64>().is_err() || !suffix_ok)
        .then(|| format!("`{s}` is not a Kubernetes quantity (write e.g. `500m`, `2`, `4Gi`)"))
}

/// Checks names, labels and quantities of one object. `templated` (Argo objects) skips values
/// holding Argo expressions, which Argo substitutes before they reach the API server.
pub fn check(doc: &Value, templated: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let meta = doc.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
    let generate = meta.and_then(|m| m.get("generateName")).and_then(Value::as_str);
    match (name, generate) {
        (None, None) => {
            out.push(Violation { path: "/metadata".into(), rule: "an object needs `metadata.name` (or `generateName`)".into() })
        }
        (Some(n), _) => {
            // Service names become DNS labels; a SparkApplication's name prefixes its driver's Service.
            let problem = match kind {
                "Service" | "SparkApplication" | "SparkConnect" => dns1035_label(n),
                "Namespace" => dns_label(n),
                _ => dns_subdomain(n),
            };
            if let Some(p) = problem {
                out.push(Violation { path: "/metadata/name".into(), rule: format!("invalid name for a {kind}: {p}") });
            }
        }
        (None, Some(g)) => {
            if let Some(p) = dns_subdomain(&format!("{g}x")) {
                out.push(Violation { path: "/metadata/generateName".into(), rule: p });
            }
        }
    }
    if let Some(ns) = meta.and_then(|m| m.get("namespace")).and_then(Value::as_str)
        && let Some(p) = dns_label(ns)
    {
        out.push(Violation { path: "/metadata/namespace".into(), rule: format!("invalid namespace: {p}") });
    }
    walk(doc, &mut Vec::new(), None, templated, &mut out);
    out
}

/// One step of a path into a document: a map key or an array index.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The JSON pointer of a path, escaping `~` and `/` in keys as RFC 6901 says. Walks keep their
/// path as steps and make the pointer only for a problem they report.
pub fn pointer(path: &[Step]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if k.contains(['~', '/']) => {
                out.push('/');
                out.push_str(&k.replace('~', "~0").replace('/', "~1"));
            }
            Step::Key(k) => {
                out.push('/');
                out.push_str(k);
            }
            Step::Index(i) => {
                let _ = write!(out, "/{i}");
            }
        }
    }
    out
}

fn has_argo(s: &str) -> bool {
    s.contains("{{")
}

fn walk<'a>(v: &'a Value, path: &mut Vec<Step<'a>>, parent_key: Option<&str>, templated: bool, out: &mut Vec<Violation>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(Step::Key(k));
                let at = |more: &[Step]| {
                    let mut p = path.clone();
                    p.extend_from_slice(more);
                    pointer(&p)
                };
                match (k.as_str(), child) {
                    ("labels" | "matchLabels", Value::Object(labels)) => {
                        for (lk, lv) in labels {
                            if let Some(p) = label_key(lk) {
                                out.push(Violation { path: at(&[Step::Key(lk)]), rule: p });
                            }
                            match lv {
                                Value::String(s) if templated && has_argo(s) => {}
                                Value::String(s) => {
                                    if let Some(p) = label_value(s) {
                                        out.push(Violation { path: at(&[Step::Key(lk)]), rule: p });
                                    }
                                }
                                other => out.push(Violation {
                                    path: at(&[Step::Key(lk)]),
                                    rule: format!("label value `{other}` must be a string"),
                                }),
                            }
                        }
                    }
                    ("limits" | "requests", Value::Object(q)) if parent_key == Some("resources") => {
                        for (qk, qv) in q {
                            if templated && qv.as_str().is_some_and(has_argo) {
                                continue;
                            }
                            if let Some(p) = quantity(qv) {
                                out.push(Violation { path: at(&[Step::Key(qk)]), rule: p });
                            }
                        }
                    }
                    ("containers" | "initContainers" | "volumes" | "volumeMounts", Value::Array(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            if let Some(n) = item.get("name").and_then(Value::as_str)
                                && !(templated && has_argo(n))
                                && let Some(p) = dns_label(n)
                            {
                                out.push(Violation {
                                    path: at(&[Step::Index(i), Step::Key("name")]),
                                    rule: format!("invalid {k} name: {p}"),
                                });
                            }
                            if k.ends_with("ontainers")
                                && let Some(ports) = item.get("ports").and_then(Value::as_array)
                            {
                                for (j, port) in ports.iter().enumerate() {
                                    if let Some(p) = port.get("name").and_then(Value::as_str).and_then(port_name) {
                                        out.push(Violation {
                                            path: at(&[Step::Index(i), Step::Key("ports"), Step::Index(j), Step::Key("name")]),
                                            rule: p,
                                        });
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
                walk(child, path, Some(k), templated, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                path.push(Step::Index(i));
                walk(child, path, parent_key, templated, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert!(dns_label("411-airflow-k8s-none-read-1gb").is_none());
        assert!(dns_label("4.1.1/airflow").is_some());
        assert!(dns1035_label("411-x").is_some());
        assert!(dns_subdomain("a.b-c").is_none());
        assert!(label_key("loadbuild.io/cell").is_none());
        assert!(label_key("loadbuild.io/ce ll").is_some());
        assert!(label_value("4.1.1").is_none());
        assert!(label_value("iceberg+rapids").is_some());
        assert!(quantity(&Value::from("4Gi")).is_none());
        assert!(quantity(&Value::from("4g")).is_some());
        assert!(quantity(&Value::from("500m")).is_none());
        assert!(port_name("spark-connect-grpc").is_some());
    }

    #[test]
    fn finds_bad_names_deep_inside() {
        let doc = serde_json::json!({
            "kind": "Deployment", "metadata": { "name": "lb-x", "labels": { "loadbuild.io/ext": "iceberg+rapids" } },
            "spec": { "template": { "spec": { "containers": [ { "name": "Main", "resources": { "limits": { "memory": "4g" } } } ] } } }
        });
        let v = check(&doc, false);
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/metadata/labels/loadbuild.io~1ext",
                "/spec/template/spec/containers/0/name",
                "/spec/template/spec/containers/0/resources/limits/memory"
            ]
        );
    }
}
