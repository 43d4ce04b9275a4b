//! `Loadfile.toml`: the project's declaration of its matrix, tiers, skip rules and variables.
//!
//! [`load`] reads and validates it in one pass and returns either a [`Loadfile`] or *every*
//! problem found, each with file, line, column and a hint. Counts are computed from the
//! selections; `expect = N` is only an assertion.

pub mod raw;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{Item, TableLike};

use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::matrix::{self, Dimension, Matrix, NamePart, Selector};
use raw::{Reader, Spanned};
pub use report::{Guard, ReportSettings, SampleUnit};

/// The file name looked for in the current directory and its ancestors.
pub const FILE_NAME: &str = "Loadfile.toml";

/// Backends a skip rule may name.
pub const BACKENDS: &[&str] = &["local", "kubernetes"];

/// A validated Loadfile.
#[derive(Debug, Clone)]
pub struct Loadfile {
    /// The directory holding the Loadfile; every relative path in it is relative to this.
    pub root: PathBuf,
    pub file: SourceFile,
    pub name: String,
    pub rules_dir: PathBuf,
    pub templates_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub default_tier: String,
    pub default_backend: String,
    pub matrix: Matrix,
    pub tiers: Vec<Tier>,
    pub skips: Vec<Skip>,
    /// The `[vars]` table, as templates see it.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// The `[report]` section: verdicts, baselines, history, guard-rails.
    pub report: ReportSettings,
}

/// A named selection over the matrix.
#[derive(Debug, Clone)]
pub struct Tier {
    pub name: String,
    pub description: String,
    pub select: Selector,
    pub expect: Option<u64>,
    pub budget: Option<Duration>,
}

/// Cells a backend cannot realize, and why; they are reported as skipped, never run.
#[derive(Debug, Clone)]
pub struct Skip {
    pub when: Selector,
    pub when_text: String,
    pub backends: Vec<String>,
    pub reason: String,
    /// `Loadfile.toml:LINE`, so a report can say which rule skipped a cell.
    pub origin: String,
}

impl Loadfile {
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// The first skip rule that applies to a cell on `backend`.
    pub fn skip_for(&self, values: &[u16], backend: &str) -> Option<&Skip> {
        self.skips.iter().find(|s| s.backends.iter().any(|b| b == backend) && s.when.matches(values))
    }
}

/// Finds `Loadfile.toml` in `start` or its ancestors.
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|d| d.join(FILE_NAME)).find(|p| p.is_file())
}

/// Reads and validates the Loadfile at `path`.
pub fn load(path: &Path) -> Result<Loadfile, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(format!("cannot read `{}`: {e}", path.display()))
                .help("run loadbuild in a directory holding a Loadfile.toml, or pass --loadfile PATH"),
        )
    })?;
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    // Relative to the working directory when inside it: shorter paths are cheaper to stat,
    // and commands see the same short paths.
    let root = match std::env::current_dir() {
        Ok(cwd) => root.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(root),
        Err(_) => root,
    };
    let root = if root.as_os_str().is_empty() { PathBuf::from(".") } else { root };
    let display = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    parse(SourceFile::new(display, text), &root)
}

/// Validates Loadfile text; `root` is where its relative paths point.
pub fn parse(file: SourceFile, root: &Path) -> Result<Loadfile, Diagnostics> {
    let (mut r, doc) = Reader::parse(file)?;
    let top = doc.as_table();
    r.check_keys(top, "the Loadfile", &["project", "naming", "dimensions", "tiers", "skip", "vars", "report", "infra"]);

    let project = section(&mut r, top, "project");
    let mut name = String::from("loadbuild");
    let mut dirs =
        [("rules", "rules"), ("templates", "templates"), ("cache", "cache")].map(|(k, d)| (k, Spanned::new(d.to_string(), None)));
    let mut default_tier = None;
    let mut default_backend = Spanned::new("local".to_string(), None);
    if let Some(p) = project {
        r.check_keys(p, "`[project]`", &["name", "rules", "templates", "cache", "default_tier", "backend"]);
        if let Some(s) = p.get("name").and_then(|i| r.string(i, "`project.name`")) {
            name = s.value;
        }
        for (key, slot) in dirs.iter_mut() {
            if let Some(s) = p.get(key).and_then(|i| r.string(i, &format!("`project.{key}`"))) {
                *slot = s;
            }
        }
        default_tier = p.get("default_tier").and_then(|i| r.string(i, "`project.default_tier`"));
        if let Some(b) = p.get("backend").and_then(|i| r.string(i, "`project.backend`")) {
            default_backend = b;
        }
    }
    check_backend(&mut r, &default_backend);
    for (key, dir) in &dirs[..2] {
        if !root.join(&dir.value).is_dir() {
            r.error(dir.span.clone(), format!("the {key} directory `{}` does not exist", dir.value)).help =
                Some(format!("create `{}` next to the Loadfile, or point `project.{key}` at an existing directory", dir.value));
        }
    }

    let dims = read_dimensions(&mut r, top);
    let (id_template, name_template) = read_naming(&mut r, top, &dims);
    let matrix = Matrix { dims, id_template, name_template };
    check_ids(&mut r, &matrix);

    let tiers = read_tiers(&mut r, top, &matrix);
    let default_tier = match default_tier {
        Some(t) => {
            if !tiers.iter().any(|x| x.name == t.value) {
                r.error(t.span, format!("`project.default_tier` names unknown tier `{}`", t.value)).help = Some(known_tiers(&tiers));
            }
            t.value
        }
        None => tiers.first().map(|t| t.name.clone()).unwrap_or_default(),
    };
    let skips = read_skips(&mut r, top, &matrix);
    let vars = match top.get("vars") {
        Some(item) => match raw::to_json(item) {
            serde_json::Value::Object(m) if item.is_table_like() => m,
            _ => {
                r.error(item.span(), "`vars` must be a table");
                Default::default()
            }
        },
        None => Default::default(),
    };

    check_local_counts(&mut r, top);
    let report = report::read(&mut r, top, &matrix);

    let [rules, templates, cache] = dirs.map(|(_, d)| root.join(d.value));
    let lf = Loadfile {
        root: root.to_path_buf(),
        file: r.file.clone(),
        name,
        rules_dir: rules,
        templates_dir: templates,
        cache_dir: cache,
        default_tier,
        default_backend: default_backend.value,
        matrix,
        tiers,
        skips,
        vars,
        report,
    };
    r.diags.into_result(lf)
}

/// `vars.local.repetitions` (measured executions per application) is a count the driver
/// loops over: a negative or zero value would run nothing and measure nothing.
fn check_local_counts(r: &mut Reader, top: &dyn TableLike) {
    let Some(local) = top.get("vars").and_then(|v| v.as_table_like()).and_then(|v| v.get("local")).and_then(|l| l.as_table_like()) else {
        return;
    };
    if let Some(item) = local.get("repetitions") {
        match item.as_integer() {
            Some(n) if (1..=1000).contains(&n) => {}
            Some(n) => {
                r.error(item.span(), format!("`vars.local.repetitions` must be between 1 and 1000, found `{n}`")).help =
                    Some("it counts the measured executions of each Spark application, e.g. `repetitions = 5`".into());
            }
            None => {
                r.error(item.span(), format!("`vars.local.repetitions` must be an integer, found {}", item.type_name())).help =
                    Some("e.g. `repetitions = 5`".into());
            }
        }
    }
}

fn section<'d>(r: &mut Reader, top: &'d dyn TableLike, key: &str) -> Option<&'d dyn TableLike> {
    top.get(key).and_then(|i| r.table(i, &format!("`[{key}]`")))
}

fn known_tiers(tiers: &[Tier]) -> String {
    format!("known tiers: {}", tiers.iter().map(|t| format!("`{}`", t.name)).collect::<Vec<_>>().join(", "))
}

fn check_backend(r: &mut Reader, b: &Spanned<String>) {
    if !BACKENDS.contains(&b.value.as_str()) {
        r.error(b.span.clone(), format!("unknown backend `{}`", b.value)).help = Some(format!("known backends: {}", BACKENDS.join(", ")));
    }
}

fn read_dimensions(r: &mut Reader, top: &dyn TableLike) -> Vec<Dimension> {
    let Some(table) = top.get("dimensions") else {
        r.error(None, "the Loadfile declares no `[dimensions]`").help =
            Some("add e.g. `[dimensions]` with `op = [\"read\", \"join\"]`".into());
        return Vec::new();
    };
    let Some(table) = r.table(table, "`[dimensions]`") else { return Vec::new() };
    let mut dims = Vec::new();
    for (name, item) in table.iter() {
        let key_span = Reader::key_span(table, name);
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            r.error(key_span.clone(), format!("dimension name `{name}` must use only `a-z`, `0-9` and `_`"));
        }
        let Some(values) = r.strings(item, &format!("dimension `{name}`")) else { continue };
        if values.value.is_empty() {
            r.error(values.span.clone(), format!("dimension `{name}` has no values")).help =
                Some("a dimension needs at least one value".into());
            continue;
        }
        let mut dim = Dimension { name: name.to_string(), values: Vec::new(), encoded: Vec::new() };
        for v in &values.value {
            if dim.values.contains(&v.value) {
                r.error(v.span.clone(), format!("value `{}` appears twice in dimension `{name}`", v.value));
                continue;
            }
            let encoded = match matrix::encode_value(&v.value) {
                Ok(e) if !e.is_empty() => e,
                Ok(_) => {
                    r.error(v.span.clone(), format!("value `{}` of dimension `{name}` cannot form a Kubernetes name", v.value)).help =
                        Some("a value needs at least one of `a-z`, `0-9` or `-`".into());
                    continue;
                }
                Err(c) => {
                    r.error(v.span.clone(), format!("value `{}` of dimension `{name}` cannot form a Kubernetes name: `{c}`", v.value))
                        .help =
                        Some("use only `a-z`, `0-9`, `-`, `.` or `+` in values (`.` is dropped and `+` becomes `-` in cell ids)".into());
                    continue;
                }
            };
            if let Some(other) = dim.encoded.iter().position(|e| *e == encoded) {
                r.error(
                    v.span.clone(),
                    format!(
                        "values `{}` and `{}` of dimension `{name}` encode to the same id part `{encoded}`",
                        dim.values[other], v.value
                    ),
                );
                continue;
            }
            dim.values.push(v.value.clone());
            dim.encoded.push(encoded);
        }
        dims.push(dim);
    }
    if dims.is_empty() && table.is_empty() {
        r.error(top.get("dimensions").and_then(Item::span), "`[dimensions]` is empty");
    }
    dims
}

fn read_naming(r: &mut Reader, top: &dyn TableLike, dims: &[Dimension]) -> (Vec<NamePart>, Vec<NamePart>) {
    let all = |sep: &str| dims.iter().map(|d| format!("{{{}}}", d.name)).collect::<Vec<_>>().join(sep);
    let mut id = Spanned::new(all("-"), None);
    let mut name = Spanned::new(all("/"), None);
    if let Some(n) = section(r, top, "naming") {
        r.check_keys(n, "`[naming]`", &["id", "name"]);
        if let Some(s) = n.get("id").and_then(|i| r.string(i, "`naming.id`")) {
            id = s;
        }
        if let Some(s) = n.get("name").and_then(|i| r.string(i, "`naming.name`")) {
            name = s;
        }
    }
    let mut parse = |t: &Spanned<String>, what: &str| match matrix::parse_template(&t.value, dims) {
        Ok(parts) => parts,
        Err(e) => {
            r.error(t.span.clone(), format!("{what}: {e}")).help = Some(format!("placeholders are dimension names, e.g. `{}`", all("-")));
            Vec::new()
        }
    };
    let id_parts = parse(&id, "`naming.id`");
    let name_parts = parse(&name, "`naming.name`");
    for (parts, t, what) in [(&id_parts, &id, "naming.id"), (&name_parts, &name, "naming.name")] {
        if parts.is_empty() {
            continue;
        }
        let missing: Vec<&str> = (0..dims.len()).filter(|d| !parts.contains(&NamePart::Dim(*d))).map(|d| dims[d].name.as_str()).collect();
        if !missing.is_empty() {
            r.error(t.span.clone(), format!("`{what}` leaves out dimension(s) {}, so cells would share names", missing.join(", "))).help =
                Some(format!("use every dimension, e.g. `{}`", all("-")));
        }
    }
    (id_parts, name_parts)
}

/// Every cell id must be a unique RFC 1123 label; the longest and first clash are reported.
fn check_ids(r: &mut Reader, m: &Matrix) {
    if m.dims.is_empty() || m.id_template.is_empty() {
        return;
    }
    let span = r.file.text.find("[naming]").map(|s| s..s + 8);
    let mut seen = std::collections::HashMap::new();
    let mut worst: Option<(String, String)> = None;
    for cell in m.cells() {
        let id = m.id(&cell).0;
        if let Some(problem) = matrix::rfc1123_problem(&id)
            && worst.as_ref().is_none_or(|(w, _)| id.len() > w.len())
        {
            worst = Some((id.clone(), problem));
        }
        if let Some(prev) = seen.insert(id.clone(), m.name(&cell)) {
            r.error(span.clone(), format!("cells `{prev}` and `{}` get the same id `{id}`", m.name(&cell))).help =
                Some("separate the placeholders of `naming.id` with `-`, or give the clashing values different spellings".into());
            return;
        }
    }
    if let Some((id, problem)) = worst {
        r.error(span, format!("cell id `{id}` is not a valid Kubernetes name: {problem}")).help =
            Some("shorten `naming.id` or the values: ids must be RFC 1123 labels".into());
    }
}

fn read_selection(r: &mut Reader, item: &Item, what: &str, m: &Matrix) -> Option<Selector> {
    let table = r.table(item, what)?;
    let mut sel = Selector::all();
    let mut ok = true;
    for (dim_name, values) in table.iter() {
        let Some(d) = m.dim_index(dim_name) else {
            let known = m.dims.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", ");
            r.error(Reader::key_span(table, dim_name), format!("{what} names unknown dimension `{dim_name}`")).help =
                Some(format!("known dimensions: {known}"));
            ok = false;
            continue;
        };
        let Some(vals) = r.strings(values, &format!("{what} `{dim_name}`")) else {
            ok = false;
            continue;
        };
        if vals.value.is_empty() {
            r.error(vals.span.clone(), format!("{what} selects no value of dimension `{dim_name}`")).help =
                Some(format!("list at least one value, or remove `{dim_name}` to select all of them"));
            ok = false;
        }
        let mut idx = Vec::new();
        for v in &vals.value {
            match m.dims[d].index_of(&v.value) {
                Some(i) if idx.contains(&i) => {
                    r.error(v.span.clone(), format!("{what} lists value `{}` twice", v.value));
                }
                Some(i) => idx.push(i),
                None => {
                    r.error(v.span.clone(), format!("{what} selects unknown value `{}` for dimension `{dim_name}`", v.value)).help =
                        Some(format!("known values: {}", m.dims[d].values.join(", ")));
                    ok = false;
                }
            }
        }
        sel.constrain(d, idx);
    }
    ok.then_some(sel)
}

fn read_tiers(r: &mut Reader, top: &dyn TableLike, m: &Matrix) -> Vec<Tier> {
    let Some(table) = section(r, top, "tiers") else {
        r.error(None, "the Loadfile declares no `[tiers]`").help =
            Some("add at least one tier, e.g. `[tiers.p2]` with `select = {}`".into());
        return Vec::new();
    };
    let mut tiers = Vec::new();
    for (name, item) in table.iter() {
        let what = format!("tier `{name}`");
        let Some(t) = r.table(item, &what) else { continue };
        r.check_keys(t, &format!("`[tiers.{name}]`"), &["description", "select", "expect", "budget"]);
        if let Some(problem) = matrix::rfc1123_problem(name) {
            r.error(Reader::key_span(table, name), format!("tier name `{name}` is not a valid Kubernetes name: {problem}"));
        }
        let description = t.get("description").and_then(|i| r.string(i, "`description`")).map(|s| s.value).unwrap_or_default();
        let select = match t.get("select") {
            Some(i) => read_selection(r, i, &what, m),
            None => {
                r.error(Reader::key_span(table, name), format!("{what} has no `select`")).help =
                    Some("write `select = {}` to select every cell".into());
                None
            }
        };
        let expect = t.get("expect").and_then(|i| r.non_negative(i, "`expect`"));
        let budget = t.get("budget").and_then(|i| r.string(i, "`budget`")).and_then(|b| match humantime::parse_duration(&b.value) {
            Ok(d) => Some(d),
            Err(e) => {
                r.error(b.span, format!("budget `{}` is not a duration: {e}", b.value)).help =
                    Some("write e.g. `30m`, `4h` or `48h`".into());
                None
            }
        });
        let Some(select) = select else { continue };
        let count = m.count(&select) as u64;
        if let Some(e) = &expect
            && e.value != count
            && !m.dims.is_empty()
        {
            r.error(e.span.clone(), format!("{what} selects {count} cells, not {}", e.value)).help =
                Some(format!("counts are computed from `select`; set `expect = {count}` or change the selection"));
        }
        tiers.push(Tier { name: name.to_string(), description, select, expect: expect.map(|e| e.value), budget });
    }
    if tiers.is_empty() && r.diags.is_empty() {
        r.error(top.get("tiers").and_then(Item::span), "`[tiers]` declares no tier");
    }
    tiers
}

fn read_skips(r: &mut Reader, top: &dyn TableLike, m: &Matrix) -> Vec<Skip> {
    let Some(item) = top.get("skip") else { return Vec::new() };
    let Some(array) = item.as_array_of_tables() else {
        r.error(item.span(), "`skip` must be an array of tables: write `[[skip]]`");
        return Vec::new();
    };
    let mut skips = Vec::new();
    for t in array.iter() {
        r.check_keys(t, "`[[skip]]`", &["when", "backends", "reason"]);
        let origin_line = t.span().map_or(0, |s| r.file.line_col(s.start).0);
        let when = t.get("when").and_then(|i| r.string(i, "`when`"));
        let reason = t.get("reason").and_then(|i| r.string(i, "`reason`"));
        let backends = match t.get("backends") {
            Some(i) => r.strings(i, "`backends`").map(|b| b.value).unwrap_or_default(),
            None => BACKENDS.iter().map(|b| Spanned::new(b.to_string(), None)).collect(),
        };
        for b in &backends {
            check_backend(r, b);
        }
        if reason.is_none() && t.get("reason").is_none() {
            r.error(t.span(), "a `[[skip]]` rule needs a `reason`").help =
                Some("say why these cells cannot run, e.g. `reason = \"needs a GPU\"`".into());
        }
        let Some(when) = when else {
            if t.get("when").is_none() {
                r.error(t.span(), "a `[[skip]]` rule needs `when`, a selector").help = Some("e.g. `when = \"mode=k8s|operator\"`".into());
            }
            continue;
        };
        // The selector's text starts one byte into the quoted string's span.
        let offset = when.span.as_ref().map_or(0, |s| s.start + 1);
        match Selector::parse(&when.value, m, &r.file, offset) {
            Ok(sel) => {
                if m.count(&sel) == 0 || sel.dims().next().is_none() && !when.value.trim().is_empty() {
                    r.error(when.span.clone(), "this skip rule selects no cell");
                }
                skips.push(Skip {
                    when: sel,
                    when_text: when.value,
                    backends: backends.into_iter().map(|b| b.value).collect(),
                    reason: reason.map(|r| r.value).unwrap_or_default(),
                    origin: format!("{}:{origin_line}", r.file.display),
                });
            }
            Err(d) => r.diags.extend(d),
        }
    }
    skips
}
