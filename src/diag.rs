//! Diagnostics for user input: every problem found, each with its file, span and a hint.
//!
//! Validation collects [`Diagnostic`]s instead of stopping at the first; [`render`] prints them
//! the way rustc does (`--> Loadfile.toml:41:22` and the offending line), readable without colour.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// A source file kept in memory so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to the user (relative to the project root when possible).
    pub display: String,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(display: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self { display: display.into(), text: text.into() }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
        (line, col)
    }
}

/// One problem with the user's input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub file: Option<SourceFile>,
    pub span: Option<Range<usize>>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Self { message: message.into(), file: None, span: None, label: None, help: None }
    }

    pub fn at(mut self, file: &SourceFile, span: Option<Range<usize>>) -> Self {
        self.file = Some(file.clone());
        self.span = span;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, or just the file, or nothing.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match &self.span {
            Some(span) => {
                let (line, col) = file.line_col(span.start);
                format!("{}:{line}:{col}", file.display)
            }
            None => file.display.clone(),
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(std::slice::from_ref(self), false))
    }
}

/// All problems found in one pass over the input; an error if there is at least one.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    /// `Ok(value)` when nothing was reported.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(&self.0, false))
    }
}

impl std::error::Error for Diagnostics {}

/// Renders diagnostics rustc-style; `color` adds ANSI styling.
pub fn render(diags: &[Diagnostic], color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for d in diags {
        let title = Level::ERROR.primary_title(d.message.as_str());
        let mut group: Group = match (&d.file, &d.span) {
            (Some(file), Some(span)) => {
                let mut ann = AnnotationKind::Primary.span(span.clone());
                if let Some(label) = &d.label {
                    ann = ann.label(label.as_str());
                }
                title.element(Snippet::source(&*file.text).path(file.display.as_str()).annotation(ann))
            }
            (Some(file), None) => title.element(Level::NOTE.message(format!("in `{}`", file.display))),
            _ => Group::with_title(title),
        };
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        out.push_str(&renderer.render(&[group]).to_string());
        out.push('\n');
    }
    out
}

/// The path to show for `path`: relative to `root` when inside it.
pub fn display_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
