//! Reading TOML with spans: typed accessors that record a [`Diagnostic`] instead of failing.
//!
//! Built on `toml_edit`, whose items keep their byte spans, so every problem found while reading
//! the Loadfile or a rule file points at its line and column. Readers return `None` after
//! recording a problem, so one pass reports everything.

use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// A value with the span it was read from (absent for values that came from defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Option<Range<usize>>,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Option<Range<usize>>) -> Self {
        Self { value, span }
    }
}

/// One TOML file being read, and the problems found in it so far.
pub struct Reader {
    pub file: SourceFile,
    pub diags: Diagnostics,
}

impl Reader {
    /// Parses `file`; a syntax error becomes the only diagnostic.
    pub fn parse(file: SourceFile) -> Result<(Reader, Document<String>), Diagnostics> {
        match Document::parse(file.text.to_string()) {
            Ok(doc) => Ok((Reader { file, diags: Diagnostics::default() }, doc)),
            Err(e) => {
                let message = e.message().trim_end_matches('\n').to_string();
                Err(Diagnostic::error(format!("invalid TOML: {message}"))
                    .at(&file, e.span())
                    .help("see https://toml.io for the syntax")
                    .into())
            }
        }
    }

    /// Records a problem at `span`, returning it for chaining a label or help.
    pub fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(message).at(&self.file, span));
        self.diags.0.last_mut().expect("just pushed")
    }

    pub fn table<'i>(&mut self, item: &'i Item, what: &str) -> Option<&'i dyn TableLike> {
        match item.as_table_like() {
            Some(t) => Some(t),
            None => {
                self.error(item.span(), format!("{what} must be a table, found {}", item.type_name()));
                None
            }
        }
    }

    pub fn string(&mut self, item: &Item, what: &str) -> Option<Spanned<String>> {
        match item.as_value() {
            Some(v) => self.value_string(v, what),
            None => {
                self.error(item.span(), format!("{what} must be a string, found {}", item.type_name()));
                None
            }
        }
    }

    pub fn value_string(&mut self, value: &Value, what: &str) -> Option<Spanned<String>> {
        match value.as_str() {
            Some(s) => Some(Spanned::new(s.to_string(), value.span())),
            None => {
                self.error(value.span(), format!("{what} must be a string, found {}", value.type_name()));
                None
            }
        }
    }

    /// A string or an array of strings (a lone string is a one-element list).
    pub fn strings(&mut self, item: &Item, what: &str) -> Option<Spanned<Vec<Spanned<String>>>> {
        if let Some(s) = item.as_str() {
            return Some(Spanned::new(vec![Spanned::new(s.to_string(), item.span())], item.span()));
        }
        let Some(array) = item.as_array() else {
            self.error(item.span(), format!("{what} must be a string or an array of strings, found {}", item.type_name()));
            return None;
        };
        let mut out = Vec::with_capacity(array.len());
        for v in array.iter() {
            out.push(self.value_string(v, what)?);
        }
        Some(Spanned::new(out, item.span()))
    }

    pub fn integer(&mut self, item: &Item, what: &str) -> Option<Spanned<i64>> {
        match item.as_integer() {
            Some(i) => Some(Spanned::new(i, item.span())),
            None => {
                self.error(item.span(), format!("{what} must be an integer, found {}", item.type_name()));
                None
            }
        }
    }

    pub fn non_negative(&mut self, item: &Item, what: &str) -> Option<Spanned<u64>> {
        let i = self.integer(item, what)?;
        match u64::try_from(i.value) {
            Ok(u) => Some(Spanned::new(u, i.span)),
            Err(_) => {
                self.error(i.span, format!("{what} must not be negative"));
                None
            }
        }
    }

    /// Reports every key of `table` that is not in `allowed`, naming the known ones.
    pub fn check_keys(&mut self, table: &dyn TableLike, what: &str, allowed: &[&str]) {
        for (key, _) in table.iter() {
            if !allowed.contains(&key) {
                let span = table.key(key).and_then(|k| k.span());
                let known = allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                self.error(span, format!("unknown key `{key}` in {what}")).help = Some(format!("known keys: {known}"));
            }
        }
    }

    /// Span of `key` in `table`, for errors about the key itself.
    pub fn key_span(table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
        table.key(key).and_then(|k| k.span())
    }
}

/// Converts a TOML item to JSON, the form templates see (dates become strings).
pub fn to_json(item: &Item) -> serde_json::Value {
    match item {
        Item::None => serde_json::Value::Null,
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => table_to_json(t),
        Item::ArrayOfTables(a) => serde_json::Value::Array(a.iter().map(|t| table_to_json(t)).collect()),
    }
}

fn table_to_json(t: &dyn TableLike) -> serde_json::Value {
    serde_json::Value::Object(t.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect())
}

fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::String(s) => J::String(s.value().clone()),
        Value::Integer(i) => J::from(*i.value()),
        Value::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(J::Null, J::Number),
        Value::Boolean(b) => J::Bool(*b.value()),
        Value::Datetime(d) => J::String(d.value().to_string()),
        Value::Array(a) => J::Array(a.iter().map(value_to_json).collect()),
        Value::InlineTable(t) => table_to_json(t),
    }
}
