//! Digests and node keys: blake3 over a canonical encoding, one derive-key context per use.
//!
//! A key lists every input by logical name — never absolute paths, mtimes, `HashMap` order
//! or wall time — so the same declarations give the same keys on any machine.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Bump to invalidate every cached node (e.g. when the meaning of a key field changes).
pub const KEY_SCHEMA: u32 = 2;

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
