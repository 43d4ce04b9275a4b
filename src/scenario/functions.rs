//! Filters and functions scenario templates may use, beyond minijinja's built-ins.
//!
//! - `argo("inputs.parameters.x")` writes the Argo expression `{{inputs.parameters.x}}`, so
//!   Argo's own `{{…}}` never go through Jinja; the expression is checked against Argo's roots.
//! - `x | shq` quotes a value for the shell (single quotes).
//! - `d | seconds` turns a duration (`20m`, `48h`) into whole seconds.
//! - `text | fromjson` parses JSON (macros return text; this turns a computed map back into one,
//!   its keys in the text's order).
//! - `v | idpart` encodes a dimension value as cell ids do (`4.1.1` → `411`).
//! - `merge(a, b, …)` merges maps left to right; `chunks(cells, by, max)` groups cells by
//!   dimensions into chunks of at most `max`.
//! - `once(key, f, args…)` calls `f(args…)` once per node: a node's other files asking for the
//!   same key with equal arguments get the same value back (a cell's Spark settings are
//!   computed for its first file, not for each of four).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Object, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

/// The context name under which a node's [`Memo`] travels to `once()`.
pub const MEMO: &str = "_once";

/// Roots an Argo `{{…}}` expression may start with (an `=` expression is evaluated by Argo).
pub const ARGO_ROOTS: &[&str] =
    &["inputs.", "outputs.", "workflow.", "steps.", "tasks.", "item", "pod.", "node.", "retries", "lastRetry.", "="];

pub fn register(env: &mut Environment<'static>) {
    env.add_function("argo", argo);
    env.add_function("merge", merge);
    env.add_function("chunks", chunks);
    env.add_function("once", once);
    env.add_filter("shq", shq);
    env.add_filter("seconds", seconds);
    env.add_filter("idpart", idpart);
    env.add_filter("fromjson", fromjson);
}

/// Is `inner` (the text between `{{` and `}}`) an Argo expression?
pub fn is_argo_expression(inner: &str) -> bool {
    let e = inner.trim();
    !e.is_empty() && ARGO_ROOTS.iter().any(|r| e == r.trim_end_matches('.') || e.starts_with(r))
}

fn argo(expr: &str) -> Result<String, Error> {
    if !is_argo_expression(expr) || expr.contains("{{") || expr.contains("}}") {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("`{expr}` is not an Argo expression (it must start with one of {})", ARGO_ROOTS.join(", ")),
        ));
    }
    Ok(format!("{{{{{}}}}}", expr.trim()))
}

/// What `once()` computed for one node: `(key, arguments, value)`.
#[derive(Debug, Default)]
pub struct Memo(Mutex<Vec<(String, Vec<Value>, Value)>>);

impl Object for Memo {}

impl Memo {
    /// A memo for one rendering of a node, and the value to put in its context as [`MEMO`].
    pub fn value(memo: &Arc<Memo>) -> Value {
        Value::from_dyn_object(Arc::clone(memo))
    }

    /// Forgets everything (a node rendered again starts afresh).
    pub fn clear(&self) {
        self.0.lock().expect("no panic holding the memo").clear();
    }
}

/// Without a memo in the context (a template rendered outside a node), `f` is just called.
fn once(state: &mut State, key: String, f: Value, args: Rest<Value>) -> Result<Value, Error> {
    let memo = state.lookup(MEMO).filter(|m| m.downcast_object_ref::<Memo>().is_some());
    if let Some(m) = &memo {
        let entries = m.downcast_object_ref::<Memo>().expect("checked above").0.lock().expect("no panic holding the memo");
        if let Some((_, _, v)) = entries.iter().find(|(k, a, _)| *k == key && a.as_slice() == args.as_slice()) {
            return Ok(v.clone());
        }
    }
    let v = f.call(state, &args)?;
    if let Some(m) = &memo {
        let mut entries = m.downcast_object_ref::<Memo>().expect("checked above").0.lock().expect("no panic holding the memo");
        entries.push((key, args.0, v.clone()));
    }
    Ok(v)
}

fn shq(v: &Value) -> String {
    let s = v.to_string();
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn seconds(v: &Value) -> Result<u64, Error> {
    if let Some(n) = v.as_i64() {
        return u64::try_from(n).map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("`{n}` is not a duration")));
    }
    let s = v.as_str().ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("`{v}` is not a duration")))?;
    humantime::parse_duration(s)
        .map(|d| d.as_secs())
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("`{s}` is not a duration ({e}); write e.g. `20m` or `2h`")))
}

fn idpart(v: &str) -> Result<String, Error> {
    crate::matrix::encode_value(v).map_err(|c| Error::new(ErrorKind::InvalidOperation, format!("`{v}` has `{c}`, which ids cannot encode")))
}

/// Within a node, the same text is parsed once (each of a cell's files reads its settings back).
fn fromjson(state: &State, text: &str) -> Result<Value, Error> {
    let memo = state.lookup(MEMO);
    let memo = memo.as_ref().and_then(|m| m.downcast_object_ref::<Memo>());
    let key = [Value::from(text)];
    if let Some(m) = memo
        && let Some((_, _, v)) =
            m.0.lock().expect("no panic holding the memo").iter().find(|(k, a, _)| k == "fromjson" && a.as_slice() == key)
    {
        return Ok(v.clone());
    }
    // Straight into template values (maps keep the text's order), not through serde_json's.
    let v: Value =
        serde_json::from_str(text.trim()).map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("fromjson: not JSON: {e}")))?;
    if let Some(m) = memo {
        m.0.lock().expect("no panic holding the memo").push(("fromjson".into(), key.to_vec(), v.clone()));
    }
    Ok(v)
}

fn merge(maps: Rest<Value>) -> Result<Value, Error> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for m in maps.iter() {
        if m.kind() != ValueKind::Map {
            return Err(Error::new(ErrorKind::InvalidOperation, format!("merge() takes maps, not `{m}`")));
        }
        for k in m.try_iter()? {
            let v = m.get_item(&k)?;
            out.insert(k.to_string(), v);
        }
    }
    Ok(Value::from(out))
}

/// Groups `cells` by the values of the dimensions `by` (first-seen order), then splits each
/// group into chunks of at most `max` cells. Each chunk: `{key: [values…], part, parts, cells}`.
fn chunks(cells: Value, by: Value, max: usize) -> Result<Value, Error> {
    if max == 0 {
        return Err(Error::new(ErrorKind::InvalidOperation, "chunks(): `max` must be at least 1"));
    }
    let dims: Vec<String> = by.try_iter()?.map(|d| d.to_string()).collect();
    let mut groups: Vec<(Vec<String>, Vec<Value>)> = Vec::new();
    for c in cells.try_iter()? {
        let mut key = Vec::with_capacity(dims.len());
        for d in &dims {
            let v = c.get_attr(d)?;
            if v.is_undefined() {
                return Err(Error::new(ErrorKind::InvalidOperation, format!("chunks(): a cell has no dimension `{d}`")));
            }
            key.push(v.to_string());
        }
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(c),
            None => groups.push((key, vec![c])),
        }
    }
    let mut out = Vec::new();
    for (key, members) in groups {
        let parts = members.len().div_ceil(max);
        for (i, chunk) in members.chunks(max).enumerate() {
            let mut m: BTreeMap<&str, Value> = BTreeMap::new();
            m.insert("key", Value::from(key.clone()));
            m.insert("part", Value::from(i + 1));
            m.insert("parts", Value::from(parts));
            m.insert("cells", Value::from(chunk.to_vec()));
            out.push(Value::from(m));
        }
    }
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    #[test]
    fn argo_expressions_come_out_intact() {
        let out = env().render_str("{{ argo('inputs.parameters.cell') }} {{ argo('=sprig.trim(x)') }}", ()).unwrap();
        assert_eq!(out, "{{inputs.parameters.cell}} {{=sprig.trim(x)}}");
        assert!(env().render_str("{{ argo('cell') }}", ()).is_err());
    }

    #[test]
    fn filters() {
        let e = env();
        assert_eq!(e.render_str("{{ \"it's\" | shq }}", ()).unwrap(), r"'it'\''s'");
        assert_eq!(e.render_str("{{ '20m' | seconds }}", ()).unwrap(), "1200");
        assert_eq!(e.render_str("{{ 'iceberg+rapids' | idpart }}", ()).unwrap(), "iceberg-rapids");
        assert_eq!(e.render_str("{{ merge({'a': 1, 'b': 1}, {'b': 2}) | tojson }}", ()).unwrap(), r#"{"a": 1, "b": 2}"#);
    }

    #[test]
    fn once_calls_its_function_once_per_key_and_arguments() {
        let mut e = env();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        e.add_function("count", move |x: i64| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            x * 2
        });
        let memo = Arc::new(Memo::default());
        let ctx = minijinja::context! { _once => Memo::value(&memo) };
        let t = "{{ once('a', count, 1) }} {{ once('a', count, 1) }} {{ once('a', count, 2) }} {{ once('b', count, 1) }}";
        assert_eq!(e.render_str(t, &ctx).unwrap(), "2 2 4 2");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        // Another file of the same node: nothing is computed again.
        assert_eq!(e.render_str("{{ once('a', count, 2) }}", &ctx).unwrap(), "4");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        memo.clear();
        assert_eq!(e.render_str("{{ once('a', count, 2) }}", &ctx).unwrap(), "4");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[test]
    fn chunks_group_and_split() {
        let cells: Vec<BTreeMap<&str, &str>> = (0..5).map(|i| BTreeMap::from([("m", if i < 3 { "a" } else { "b" })])).collect();
        let out = env()
            .render_str(
                "{% for c in chunks(cells, ['m'], 2) %}{{ c.key[0] }}{{ c.part }}/{{ c.parts }}:{{ c.cells|length }} {% endfor %}",
                minijinja::context! { cells },
            )
            .unwrap();
        assert_eq!(out, "a1/2:2 a2/2:1 b1/1:2 ");
    }
}
