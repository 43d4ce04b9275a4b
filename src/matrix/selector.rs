//! Selectors pick cells: `spark=4.1.1,op=read|join` (`,` is "and" across dimensions, `|` is
//! "or" within one). The same syntax serves `--only`, skip rules and `invalidate`.

use std::collections::BTreeMap;

use super::Matrix;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// For each constrained dimension, the value indices allowed; unconstrained dimensions allow all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    constraints: BTreeMap<usize, Vec<u16>>,
}

impl Selector {
    /// Selects every cell.
    pub fn all() -> Self {
        Self::default()
    }

    /// Restricts dimension `dim` to `values` (sorted, deduplicated).
    pub fn constrain(&mut self, dim: usize, mut values: Vec<u16>) {
        values.sort_unstable();
        values.dedup();
        self.constraints.insert(dim, values);
    }

    /// The allowed value indices of dimension `dim`, which has `len` values.
    pub fn allowed(&self, dim: usize, len: usize) -> Vec<u16> {
        match self.constraints.get(&dim) {
            Some(v) => v.clone(),
            None => (0..len as u16).collect(),
        }
    }

    pub fn constrains(&self, dim: usize) -> bool {
        self.constraints.contains_key(&dim)
    }

    /// The dimensions this selector constrains.
    pub fn dims(&self) -> impl Iterator<Item = usize> + '_ {
        self.constraints.keys().copied()
    }

    /// Does the cell whose value indices are `values` pass?
    pub fn matches(&self, values: &[u16]) -> bool {
        self.constraints.iter().all(|(d, allowed)| allowed.binary_search(&values[*d]).is_ok())
    }

    /// Both selectors at once.
    pub fn and(&self, other: &Selector) -> Selector {
        let mut out = self.clone();
        for (d, vals) in &other.constraints {
            let merged = match out.constraints.get(d) {
                Some(mine) => mine.iter().copied().filter(|v| vals.binary_search(v).is_ok()).collect(),
                None => vals.clone(),
            };
            out.constraints.insert(*d, merged);
        }
        out
    }

    /// Parses `text`. `file` and `offset` place diagnostics: the text sits at byte `offset` of
    /// `file` (for a command-line argument, `file` holds just the argument).
    pub fn parse(text: &str, matrix: &Matrix, file: &SourceFile, offset: usize) -> Result<Selector, Diagnostics> {
        let mut sel = Selector::all();
        let mut diags = Diagnostics::default();
        let mut pos = 0;
        for clause in text.split(',') {
            let start = offset + pos;
            pos += clause.len() + 1;
            let trimmed = clause.trim();
            if trimmed.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                diags.push(
                    Diagnostic::error("empty clause in selector")
                        .at(file, Some(start..start + clause.len().max(1)))
                        .help("write `dim=value`, join dimensions with `,` and values with `|`, e.g. `spark=4.1.1,op=read|join`"),
                );
                continue;
            }
            let lead = clause.len() - clause.trim_start().len();
            let clause_start = start + lead;
            let Some((dim_name, values)) = trimmed.split_once('=') else {
                diags.push(
                    Diagnostic::error(format!("selector clause `{trimmed}` has no `=`"))
                        .at(file, Some(clause_start..clause_start + trimmed.len()))
                        .help("write `dim=value`, e.g. `op=read|join`"),
                );
                continue;
            };
            let dim_name_t = dim_name.trim();
            let Some(d) = matrix.dim_index(dim_name_t) else {
                let known = matrix.dims.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", ");
                diags.push(
                    Diagnostic::error(format!("selector names unknown dimension `{dim_name_t}`"))
                        .at(file, Some(clause_start..clause_start + dim_name.len()))
                        .help(format!("known dimensions: {known}")),
                );
                continue;
            };
            if sel.constrains(d) {
                diags.push(
                    Diagnostic::error(format!("selector constrains dimension `{dim_name_t}` twice"))
                        .at(file, Some(clause_start..clause_start + dim_name.len()))
                        .help("list alternatives with `|` in one clause, e.g. `op=read|join`"),
                );
                continue;
            }
            let mut idx = Vec::new();
            let mut vpos = clause_start + dim_name.len() + 1;
            for v in values.split('|') {
                let vt = v.trim();
                let vstart = vpos + (v.len() - v.trim_start().len());
                vpos += v.len() + 1;
                match matrix.dims[d].index_of(vt) {
                    Some(i) => idx.push(i),
                    None => {
                        let known = matrix.dims[d].values.join(", ");
                        diags.push(
                            Diagnostic::error(format!("selector names unknown value `{vt}` for dimension `{dim_name_t}`"))
                                .at(file, Some(vstart..vstart + vt.len().max(1)))
                                .help(format!("known values: {known}")),
                        );
                    }
                }
            }
            sel.constrain(d, idx);
        }
        diags.into_result(sel)
    }

    /// The canonical text form, e.g. `op=read|join,size=1gb`.
    pub fn display(&self, matrix: &Matrix) -> String {
        self.constraints
            .iter()
            .map(|(d, vals)| {
                let dim = &matrix.dims[*d];
                let vs: Vec<&str> = vals.iter().map(|v| dim.values[*v as usize].as_str()).collect();
                format!("{}={}", dim.name, vs.join("|"))
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}
