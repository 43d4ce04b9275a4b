//! YAML parsing, once per document *shape*.
//!
//! Cells that share templates render YAML that differs in the text of double-quoted scalars
//! (templates quote values with `tojson`) and of comments. A file's *skeleton* is its text with
//! the content of each one-line double-quoted run `"…"` replaced by a numbered placeholder
//! (`"\u{E000}0"`, `"\u{E000}1"`, …) and each comment by `#\u{E001}`. The skeleton is parsed once;
//! a file with the same skeleton gets that parse with its own strings put in the placeholders'
//! places, which is exactly what parsing it would give:
//!
//! - YAML tokenizes a double-quoted scalar the same whatever its content, as long as that content
//!   stays on the line, has no unescaped `"` and only valid escapes: nothing after it is
//!   tokenized differently, and its value is its decoded content. Contents are decoded here with
//!   a strict subset of YAML's escapes (JSON's); anything else makes the file parse in full.
//! - A run that was not a double-quoted scalar in the skeleton (inside a plain, single-quoted or
//!   block scalar) leaves its placeholder *inside* some other string, and a "comment" that was
//!   not one leaves its marker in a value: either makes the skeleton unusable, and every file
//!   of that skeleton parses in full. So does a placeholder used as a key: runs directly followed
//!   by `:` are kept as they are (keys are the same across cells), and any key still holding a
//!   placeholder refuses the skeleton, as does one with tags, anchors, aliases or directives
//!   (`!`, `&`, `*`, `%`), whose meaning could depend on what they are attached to.
//! - Files holding the placeholder characters themselves or directives, runs that span lines,
//!   and very large files are parsed in full.
//!
//! Block scalars (`key: |` and the lines indented under it) are kept as they are: their quotes
//! are text. A file is cut into its documents first (at each `---` line), and each document has its own
//! skeleton: the 32 WorkflowTemplates of a tier's `children.yaml` are parsed as a few.
//!
//! Only parsing is shared: every check still runs on every document's own values.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// Starts a placeholder for a double-quoted scalar's content.
const SLOT: char = '\u{E000}';
/// Replaces a comment's text.
const COMMENT: char = '\u{E001}';
/// Files larger than this are parsed in full (and parser budgets stay far away).
const MAX_SHARED: usize = 16 << 20;
/// At most this many skeletons are kept per process.
const MAX_SHAPES: usize = 4096;

/// A parse error, as the parser words it.
pub type ParseError = String;

/// Parses YAML text into its documents (duplicate keys refused), as serde-saphyr does.
fn parse_full(text: &str) -> Result<Vec<Value>, ParseError> {
    let options = serde_saphyr::options! { duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error };
    serde_saphyr::from_multiple_with_options(text, options).map_err(|e| e.to_string())
}

/// A skeleton's parse: its documents, with placeholders where the scalars go; `None` when the
/// skeleton cannot stand for its files (see the module documentation).
type Shape = Option<Vec<Value>>;

/// Skeletons parsed so far, shared by every render in a process.
#[derive(Default)]
pub struct Shapes {
    memo: Mutex<HashMap<String, Arc<OnceLock<Shape>>>>,
    /// Document texts answered from a skeleton parsed before (for tests and benchmarks).
    hits: std::sync::atomic::AtomicUsize,
    /// Texts parsed by the parser: skeletons, and files that could not be shared.
    parses: std::sync::atomic::AtomicUsize,
}

impl Shapes {
    /// Parses `text`: each document from its skeleton's parse when that has been seen, else in
    /// full. Any problem is the full parse's, worded as the parser words it.
    pub fn parse(&self, text: &str) -> Result<Vec<Value>, ParseError> {
        if text.len() > MAX_SHARED || text.contains([SLOT, COMMENT]) || text.lines().any(|l| l.starts_with('%')) {
            return self.parse_full(text);
        }
        let mut docs = Vec::new();
        for part in documents(text) {
            match self.parse_shared(part) {
                Some(d) => docs.extend(d),
                None => return self.parse_full(text),
            }
        }
        Ok(docs)
    }

    fn parse_full(&self, text: &str) -> Result<Vec<Value>, ParseError> {
        self.parses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        parse_full(text)
    }

    /// One document's text (with its `---` line), parsed from its skeleton; `None` when that
    /// cannot be (the caller parses the whole file).
    fn parse_shared(&self, text: &str) -> Option<Vec<Value>> {
        let (skeleton, runs) = skeleton(text)?;
        let slot = {
            let mut memo = self.memo.lock().expect("no panic holding the YAML shapes");
            match memo.get(&skeleton) {
                Some(slot) => Arc::clone(slot),
                None if memo.len() < MAX_SHAPES => Arc::clone(memo.entry(skeleton.clone()).or_default()),
                None => Arc::default(),
            }
        };
        // A thread meeting a skeleton another is parsing waits for that parse.
        let mut parsed_here = false;
        let shape = slot.get_or_init(|| {
            parsed_here = true;
            self.parses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            parse_skeleton(&skeleton, runs.len())
        });
        let known_before = !parsed_here;
        let docs = shape.as_ref()?;
        let mut values = runs.iter().map(|r| decode(r)).collect::<Option<Vec<String>>>()?;
        if known_before {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Some(docs.iter().map(|d| fill(d, &mut values)).collect())
    }

    /// How many document texts were answered from a skeleton parsed before.
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many texts the parser read: skeletons, and files parsed in full.
    pub fn parses(&self) -> usize {
        self.parses.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// `text` cut before each line that starts a document (`---`). YAML reads the documents of a
/// stream independently (no directives here: a file with any is parsed whole), so parsing
/// the pieces one by one gives the same documents.
fn documents(text: &str) -> Vec<&str> {
    let starts = |at: usize| {
        let rest = &text.as_bytes()[at..];
        rest.starts_with(b"---") && rest.get(3).is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    };
    let mut cuts = vec![0];
    cuts.extend(text.match_indices('\n').map(|(i, _)| i + 1).filter(|&i| i < text.len() && starts(i)));
    cuts.push(text.len());
    cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// The skeleton of `text` and the raw contents of its runs, or `None` when a run spans lines.
fn skeleton(text: &str) -> Option<(String, Vec<&str>)> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut runs = Vec::new();
    let mut copied = 0; // `text[..copied]` is accounted for in `out`
    let mut line_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                i += 1;
                // A block scalar's lines are kept as they are (their quotes are text).
                if let Some(indent) = block_header(&text[line_start..i - 1]) {
                    while i < bytes.len() {
                        let end = text[i..].find('\n').map_or(bytes.len(), |e| i + e + 1);
                        let line = text[i..end].trim_end_matches(['\n', '\r']);
                        if !line.trim().is_empty() && line.len() - line.trim_start_matches(' ').len() <= indent {
                            break;
                        }
                        i = end;
                    }
                }
                line_start = i;
            }
            b'"' => {
                let end = run_end(bytes, i)?;
                let after = text[end + 1..].trim_start_matches([' ', '\t']);
                if !after.starts_with(':') {
                    out.push_str(&text[copied..=i]);
                    out.push(SLOT);
                    out.push_str(&runs.len().to_string());
                    runs.push(&text[i + 1..end]);
                    copied = end; // the closing quote is copied with what follows
                }
                i = end + 1;
            }
            b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                out.push_str(&text[copied..=i]);
                out.push(COMMENT);
                i += text[i..].find('\n').unwrap_or(text.len() - i);
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    Some((out, runs))
}

/// The indentation of a line that opens a block scalar (`key: |`, `- >-`), if it does. A line
/// taken for one by mistake only means its following lines are not shared.
fn block_header(line: &str) -> Option<usize> {
    let content = match line.find(" #") {
        Some(c) => &line[..c],
        None => line,
    };
    let content = content.trim_end();
    let head = content.trim_end_matches(['-', '+', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    let indicator = head.strip_suffix(['|', '>'])?;
    (indicator.is_empty() || indicator.ends_with([' ', '\t'])).then(|| line.len() - line.trim_start_matches(' ').len())
}

/// The index of the `"` closing the run opened at `open`; `None` if the run reaches a line end.
fn run_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut j = open + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'"' => return Some(j),
            b'\n' | b'\r' => return None,
            b'\\' if matches!(bytes.get(j + 1), Some(b'\n' | b'\r')) => return None,
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
}

/// Parses a skeleton and checks that it can stand for its files: every placeholder is a whole
/// string value, no key holds one, no comment marker is left in a value.
fn parse_skeleton(skeleton: &str, runs: usize) -> Shape {
    if skeleton.contains(['!', '&', '*']) || skeleton.lines().any(|l| l.starts_with('%')) {
        return None;
    }
    let docs = parse_full(skeleton).ok()?;
    docs.iter().all(|d| usable(d, runs)).then_some(docs)
}

fn usable(v: &Value, runs: usize) -> bool {
    match v {
        Value::String(s) => !s.contains(COMMENT) && (!s.contains(SLOT) || slot_index(s).is_some_and(|k| k < runs)),
        Value::Array(a) => a.iter().all(|c| usable(c, runs)),
        Value::Object(m) => m.iter().all(|(k, c)| !k.contains([SLOT, COMMENT]) && usable(c, runs)),
        _ => true,
    }
}

/// `"\u{E000}12"` → 12.
fn slot_index(s: &str) -> Option<usize> {
    let digits = s.strip_prefix(SLOT)?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

/// A skeleton's document with each placeholder replaced by its file's string, built in one
/// pass (no copy of the skeleton's strings that are then replaced).
fn fill(v: &Value, values: &mut [String]) -> Value {
    match v {
        // Each placeholder stands once in its document: its string is moved in.
        Value::String(s) => match slot_index(s) {
            Some(k) => Value::String(std::mem::take(&mut values[k])),
            None => Value::String(s.clone()),
        },
        Value::Array(a) => Value::Array(a.iter().map(|c| fill(c, values)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, c)| (k.clone(), fill(c, values))).collect()),
        other => other.clone(),
    }
}

/// The value of a one-line double-quoted scalar's content, if it uses only characters YAML
/// takes as they are and JSON's escapes (which YAML reads the same); `None` otherwise.
fn decode(raw: &str) -> Option<String> {
    let plain = |c: char| (' '..='~').contains(&c) || (c >= '\u{A0}' && !matches!(c, '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'));
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if !plain(c) || c == '"' {
                return None;
            }
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                // Surrogates (JSON's pairs) are left to the parser.
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses each text through one `Shapes` and in full; the results must agree.
    fn agree(texts: &[&str]) -> usize {
        let shapes = Shapes::default();
        for t in texts {
            assert_eq!(shapes.parse(t), parse_full(t), "{t}");
        }
        shapes.hits()
    }

    #[test]
    fn files_of_one_shape_parse_once_and_the_same_as_in_full() {
        let a = "# cell \"a\" (1)\nkind: Deployment\nmetadata:\n  name: \"lb-a\"\n  labels: {\"x\": \"1\"}\nspec:\n  replicas: 1\n  args: [\"--m\", \"k8s://a:1\"]\n";
        let b = a.replace("\"lb-a\"", "\"lb-b\\\"q\\u00e9\"").replace("(1)", "(2) # x").replace("k8s://a:1", "k8s://b:2");
        assert_eq!(agree(&[a, &b]), 1);
        let parsed = Shapes::default().parse(&b).unwrap();
        assert_eq!(parsed[0]["metadata"]["name"], "lb-b\"qé");
    }

    #[test]
    fn a_value_that_changes_the_structure_is_parsed_in_full() {
        // The second file's quote is not closed where the first file's was: no shared parse.
        let a = "a: \"x\"\nb: \"y\"\n";
        let b = "a: \"x\nb: \"y\"\n";
        let shapes = Shapes::default();
        assert!(shapes.parse(a).is_ok());
        assert_eq!(shapes.parse(b).is_err(), parse_full(b).is_err());
        // An escape YAML refuses is refused here too, with the parser's own error.
        let c = "a: \"\\q\"\nb: \"y\"\n";
        assert!(shapes.parse(c).unwrap_err().contains("escape"), "{:?}", shapes.parse(c));
        assert_eq!(shapes.hits(), 0);
        assert_eq!(shapes.parse("a: \"z\"\nb: \"y\"\n").unwrap()[0]["a"], "z");
        assert_eq!(shapes.hits(), 1);
    }

    #[test]
    fn block_scalars_are_kept_as_they_are() {
        let a = "s: |\n  echo \"$A\" # text\n\n  more\nt: \"v\"\n";
        let (sk, runs) = skeleton(a).unwrap();
        assert_eq!(runs, vec!["v"]);
        assert!(sk.starts_with("s: |\n  echo \"$A\" # text\n\n  more\nt: \""), "{sk:?}");
        assert_eq!(agree(&[a, &a.replace("\"v\"", "\"w\"")]), 1);
        assert_eq!(block_header("    source: |"), Some(4));
        assert_eq!(block_header("- >-  # c"), Some(0));
        assert_eq!(block_header("a: b|"), None);
    }

    #[test]
    fn documents_of_a_file_share_skeletons() {
        let one = "---\nkind: A\nname: \"x1\"\n";
        let file = format!("# head \"q\"\n{}{}{}", one, one.replace("x1", "x2"), one.replace("x1", "x3"));
        assert_eq!(documents(&file).len(), 4);
        assert_eq!(agree(&[&file]), 2);
        // `---` inside a line, or as the start of a longer word, does not cut.
        assert_eq!(documents("a: \"---\"\n----: 1\n--- # c\nb: 2\n").len(), 2);
    }

    #[test]
    fn runs_inside_other_scalars_and_keys_never_stand_for_values() {
        agree(&[
            "k: plain \"quoted\" word\n",
            "k: plain \"other\" word\n",
            "k: 'single \"q\" #c'\n",
            "k: 'single \"r\" #d'\n",
            "k: |\n  block \"q\" # not a comment\n",
            "k: |\n  block \"r\" # still not one\n",
            "\"key\": \"v\"\n\"key\": \"w\"\n",
            "{\"a\": \"1\", \"a\": \"2\"}\n",
            "x: &a \"v\"\ny: *a\n",
            "x: !!str \"v\"\n",
            "x: \"multi\n  line\"\n",
            "x: \"tab\tinside\"\n",
            "- \"a\" # c\n- \"b\"\n---\n- \"c\"\n",
            "%YAML 1.2\n---\na: \"b\"\n",
            "a: 1\n---\n",
            "---\n---\na: \"1\"\n...\n---\nb: \"2\"\n",
            "a: \"1\"\n--- \"x\"\n",
            "a: |\n  x\n---\nb: \"\"\n",
            "s: |\n  echo \"$A\"\n  # not a comment\nt: \"v\"\n",
            "s: |\n  echo \"$B\"\n  # still text\nt: \"w\"\n",
            "- >-\n    \"q\"\n\n    x\n- \"r\"\n",
        ]);
    }
}
