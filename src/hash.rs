//! Digests and node keys: blake3 over a canonical encoding, one derive-key context per use.
//!
//! A key lists every input by logical name — never absolute paths, mtimes, `HashMap` order
//! or wall time — so the same declarations give the same keys on any machine.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Bump to invalidate every cached node (e.g. when the meaning of a key field changes).
pub const KEY_SCHEMA: u32 = 2;

/// The logical name of one input of a node's key. A key hashes its inputs by these names
/// written out (`src:NAME`, `dep:NODE`, …; see [`Input::name`]), so this type changes no key;
/// the journal stores the written names, read back with [`Input::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Input {
    /// The rule's declaration.
    Rule,
    /// A source file or glob, by its logical name.
    Src(String),
    /// A Loadfile variable the node's templates read (`*`: all of them).
    Var(String),
    /// A built-in action's param, rendered.
    Param(String),
    /// The output of a dependency, by node id.
    Dep(String),
    /// Anything else a kind adds (`backend`, `action`, `cells`, `settings`, …).
    Other(String),
}

impl Input {
    /// The name as written in keys and the journal.
    pub fn name(&self) -> String {
        match self {
            Input::Rule => "rule".into(),
            Input::Src(s) => format!("src:{s}"),
            Input::Var(v) => format!("var:{v}"),
            Input::Param(p) => format!("param:{p}"),
            Input::Dep(d) => format!("dep:{d}"),
            Input::Other(o) => o.clone(),
        }
    }

    /// Reads a written name back.
    pub fn parse(name: &str) -> Input {
        match name.split_once(':') {
            Some(("src", s)) => Input::Src(s.into()),
            Some(("var", v)) => Input::Var(v.into()),
            Some(("param", p)) => Input::Param(p.into()),
            Some(("dep", d)) => Input::Dep(d.into()),
            _ if name == "rule" => Input::Rule,
            _ => Input::Other(name.into()),
        }
    }
}

impl fmt::Display for Input {
    /// The input for humans: "source `x`", "output of `gen[a]`", ….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Rule => f.write_str("the rule's declaration"),
            Input::Src(s) => write!(f, "source `{s}`"),
            Input::Var(v) => write!(f, "Loadfile variable `vars.{v}`"),
            Input::Param(p) => write!(f, "param `{p}`"),
            Input::Dep(d) => write!(f, "output of `{d}`"),
            Input::Other(o) => write!(f, "input `{o}`"),
        }
    }
}

/// A blake3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// A digest of `value` under a derive-key `context`, so digests of different kinds of
    /// things can never collide.
    pub fn of<T: Serialize + ?Sized>(context: &str, value: &T) -> Digest {
        let bytes = postcard::to_allocvec(value).expect("serializing a key to memory cannot fail");
        let mut h = blake3::Hasher::new_derive_key(context);
        h.update(&bytes);
        Digest(*h.finalize().as_bytes())
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// The first 12 hex digits, for humans.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }

    pub fn from_hex(s: &str) -> Option<Digest> {
        blake3::Hash::from_hex(s).ok().map(|h| Digest(*h.as_bytes()))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Everything that can change a node's output — and nothing else.
///
/// `inputs` maps logical names to digests: `rule` (the rule's declaration), `src:NAME` (a
/// source file or glob), `dep:NODE` (an upstream node's *output*, which gives early cutoff),
/// `var:NAME` (a Loadfile variable a template reads), `backend`.
#[derive(Serialize)]
pub struct NodeKey<'a> {
    pub schema: u32,
    pub rule: &'a str,
    pub binding: &'a [(String, String)],
    pub inputs: &'a BTreeMap<String, Digest>,
}

impl NodeKey<'_> {
    pub fn digest(&self) -> Digest {
        Digest::of("loadbuild 2026-11 node key", self)
    }
}
