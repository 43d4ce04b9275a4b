//! The test matrix: dimensions, cells and their names.
//!
//! A [`Cell`] is one combination of dimension values, stored as value indices. Its id is a
//! valid Kubernetes name (RFC 1123 label) built from the Loadfile's naming template, with each
//! value encoded (lowercased, `.` dropped, `+` turned into `-`); uniqueness is checked, not assumed.

mod selector;

use std::fmt;

pub use selector::Selector;

/// One dimension of the matrix and its values, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub name: String,
    pub values: Vec<String>,
    /// Each value encoded for use inside a Kubernetes name.
    pub encoded: Vec<String>,
}

impl Dimension {
    pub fn index_of(&self, value: &str) -> Option<u16> {
        self.values.iter().position(|v| v == value).map(|i| i as u16)
    }
}

/// A piece of a naming template: literal text or a dimension's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePart {
    Literal(String),
    Dim(usize),
}

/// The matrix: its dimensions and how cells are named.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub dims: Vec<Dimension>,
    pub id_template: Vec<NamePart>,
    pub name_template: Vec<NamePart>,
}

/// One cell: the index of its value in each dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell(pub Box<[u16]>);

/// A cell's id: a valid RFC 1123 label, stable across runs and machines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct CellId(pub String);

impl fmt::Display for CellId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Encodes a dimension value for a Kubernetes name; `Err` names the first character that
/// cannot be encoded.
pub fn encode_value(value: &str) -> Result<String, char> {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            'a'..='z' | '0'..='9' | '-' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '.' => {}
            '+' => out.push('-'),
            other => return Err(other),
        }
    }
    Ok(out)
}

/// Why a string is not a valid RFC 1123 label, if it is not.
pub fn rfc1123_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > 63 {
        return Some(format!("it is {} characters long; at most 63 are allowed", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-')) {
        return Some(format!("it contains `{c}`; only `a-z`, `0-9` and `-` are allowed"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("it starts or ends with `-`".into());
    }
    None
}

impl Matrix {
    /// Every cell, in declaration order (the last dimension varies fastest).
    pub fn cells(&self) -> Vec<Cell> {
        self.select(&Selector::all())
    }

    /// The cells a selector picks, in declaration order.
    pub fn select(&self, sel: &Selector) -> Vec<Cell> {
        let choices: Vec<Vec<u16>> = (0..self.dims.len()).map(|d| sel.allowed(d, self.dims[d].values.len())).collect();
        let total: usize = choices.iter().map(Vec::len).product();
        let mut out = Vec::with_capacity(total);
        if total == 0 {
            return out;
        }
        let mut pos = vec![0usize; choices.len()];
        loop {
            out.push(Cell(pos.iter().zip(&choices).map(|(&p, c)| c[p]).collect()));
            // Odometer increment, last dimension fastest.
            let mut d = choices.len();
            loop {
                if d == 0 {
                    return out;
                }
                d -= 1;
                pos[d] += 1;
                if pos[d] < choices[d].len() {
                    break;
                }
                pos[d] = 0;
            }
        }
    }

    /// How many cells a selector picks, without listing them.
    pub fn count(&self, sel: &Selector) -> usize {
        (0..self.dims.len()).map(|d| sel.allowed(d, self.dims[d].values.len()).len()).product()
    }

    pub fn dim_index(&self, name: &str) -> Option<usize> {
        self.dims.iter().position(|d| d.name == name)
    }

    pub fn value<'a>(&'a self, cell: &Cell, dim: usize) -> &'a str {
        &self.dims[dim].values[cell.0[dim] as usize]
    }

    pub fn id(&self, cell: &Cell) -> CellId {
        CellId(self.format(&self.id_template, cell, true))
    }

    pub fn name(&self, cell: &Cell) -> String {
        self.format(&self.name_template, cell, false)
    }

    fn format(&self, template: &[NamePart], cell: &Cell, encoded: bool) -> String {
        let mut s = String::new();
        for part in template {
            match part {
                NamePart::Literal(l) => s.push_str(l),
                NamePart::Dim(d) => {
                    let dim = &self.dims[*d];
                    let v = cell.0[*d] as usize;
                    s.push_str(if encoded { &dim.encoded[v] } else { &dim.values[v] });
                }
            }
        }
        s
    }

    /// Finds a cell by id or human name.
    pub fn find(&self, id_or_name: &str) -> Option<Cell> {
        self.cells().into_iter().find(|c| self.id(c).0 == id_or_name || self.name(c) == id_or_name)
    }

    /// `dim=value` pairs of a cell, in dimension order.
    pub fn pairs<'a>(&'a self, cell: &'a Cell) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.dims.iter().enumerate().map(move |(d, dim)| (dim.name.as_str(), self.value(cell, d)))
    }
}

/// Parses a naming template such as `{spark}-{op}` against the dimension names; `Err` is the
/// unknown placeholder.
pub fn parse_template(template: &str, dims: &[Dimension]) -> Result<Vec<NamePart>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(NamePart::Literal(rest[..open].to_string()));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("unclosed `{{` in `{template}`"));
        };
        let name = &rest[open + 1..open + close];
        match dims.iter().position(|d| d.name == name) {
            Some(d) => parts.push(NamePart::Dim(d)),
            None => return Err(format!("`{{{name}}}` names no dimension")),
        }
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(NamePart::Literal(rest.to_string()));
    }
    Ok(parts)
}
