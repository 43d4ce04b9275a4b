//! Templates in rules: source paths and commands, compiled once per rule with minijinja.
//!
//! Undefined variables are errors (strict mode), never empty strings. Which `vars.*` a rule's
//! templates read is found from the templates themselves, so a node's key includes exactly
//! the Loadfile variables it uses.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::diag::{Diagnostic, Diagnostics};
use crate::rules::{Action, Rules};

pub struct Templates {
    env: Environment<'static>,
    /// Per rule and source: the template as literal text and `{{ name }}` holes, when it is
    /// that simple (rendered by substitution, without minijinja).
    simple_sources: Vec<std::collections::HashMap<String, Vec<Piece>>>,
    /// Per rule and param: the value, when the param is plain text (no template syntax).
    constant_params: Vec<std::collections::HashMap<String, String>>,
    /// Per rule: the top-level `vars` names its templates read.
    vars_used: Vec<BTreeSet<String>>,
}

/// A piece of a simple template.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Var(String),
}

/// Splits `text` into literal text and `{{ identifier }}` holes; `None` if it uses anything
/// else (filters, blocks, attribute access, or `{%`/`{#`).
fn simple_pieces(text: &str) -> Option<Vec<Piece>> {
    if text.contains("{%") || text.contains("{#") {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let close = rest[open..].find("}}")? + open;
        let name = rest[open + 2..close].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push(Piece::Var(name.to_string()));
        rest = &rest[close + 2..];
    }
    if rest.contains("}}") {
        return None;
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Some(out)
}

fn source_name(rule: &str, src: &str) -> String {
    format!("{rule}#src.{src}")
}

fn param_name(rule: &str, param: &str) -> String {
    format!("{rule}#param.{param}")
}

fn command_name(rule: &str) -> String {
    format!("{rule}#command")
}

impl Templates {
    /// Compiles every template of every rule; syntax errors name the rule and its file.
    pub fn compile(rules: &Rules) -> Result<Templates, Diagnostics> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder().keep_trailing_newline(true).build().expect("the default delimiters are valid"),
        );
        let mut diags = Diagnostics::default();
        let mut vars_used = Vec::with_capacity(rules.rules.len());
        let mut simple_sources = Vec::with_capacity(rules.rules.len());
        let mut constant_params = Vec::with_capacity(rules.rules.len());
        for rule in &rules.rules {
            constant_params.push(
                rule.params
                    .iter()
                    .filter(|(_, v)| !v.contains("{{") && !v.contains("{%") && !v.contains("{#"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
            simple_sources.push(rule.sources.iter().filter_map(|(k, v)| Some((k.clone(), simple_pieces(v)?))).collect());
            let mut names = Vec::new();
            for (src, path) in &rule.sources {
                names.push((source_name(&rule.name, src), path.clone(), format!("source `{src}`")));
            }
            for (p, text) in &rule.params {
                names.push((param_name(&rule.name, p), text.clone(), format!("param `{p}`")));
            }
            if let Action::Command { script } = &rule.action {
                names.push((command_name(&rule.name), script.clone(), "`command`".to_string()));
            }
            let mut used = BTreeSet::new();
            for (name, text, what) in names {
                if let Err(e) = env.add_template_owned(name.clone(), text) {
                    diags.push(Diagnostic::error(format!("rule `{}` ({}): {what} is not a valid template: {e}", rule.name, rule.origin)));
                    continue;
                }
                let t = env.get_template(&name).expect("just added");
                for v in t.undeclared_variables(true) {
                    if let Some(rest) = v.strip_prefix("vars.") {
                        used.insert(rest.split('.').next().unwrap_or(rest).to_string());
                    } else if v == "vars" {
                        used.insert("*".to_string());
                    }
                }
            }
            vars_used.push(used);
        }
        diags.into_result(Templates { env, simple_sources, constant_params, vars_used })
    }

    /// Renders a simple source template by substitution from the binding and tier; `None`
    /// when the template is not simple or names anything else (then use [`Self::source`],
    /// which reports undefined names).
    pub fn source_simple(&self, rule: usize, src: &str, binding: &[(String, String)], tier: &str) -> Option<String> {
        let pieces = self.simple_sources[rule].get(src)?;
        let mut out = String::new();
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) if v == "tier" => out.push_str(tier),
                Piece::Var(v) => out.push_str(&binding.iter().find(|(k, _)| k == v)?.1),
            }
        }
        Some(out)
    }

    pub fn source(&self, rule: &str, src: &str, ctx: &Value) -> Result<String, String> {
        self.render(&source_name(rule, src), ctx)
    }

    /// A param that is plain text, without rendering (then no context needs building).
    pub fn param_constant(&self, rule: usize, param: &str) -> Option<&str> {
        self.constant_params[rule].get(param).map(String::as_str)
    }

    pub fn param(&self, rule: &str, param: &str, ctx: &Value) -> Result<String, String> {
        self.render(&param_name(rule, param), ctx)
    }

    pub fn command(&self, rule: &str, ctx: &Value) -> Result<String, String> {
        self.render(&command_name(rule), ctx)
    }

    /// The Loadfile variables rule number `rule` reads (`*` means all of them).
    pub fn vars_used(&self, rule: usize) -> &BTreeSet<String> {
        &self.vars_used[rule]
    }

    fn render(&self, name: &str, ctx: &Value) -> Result<String, String> {
        let t = self.env.get_template(name).map_err(|e| e.to_string())?;
        t.render(ctx).map_err(|e| {
            let mut msg = e.to_string();
            if let Some(detail) = e.detail() {
                msg = format!("{msg}: {detail}");
            }
            msg
        })
    }
}
