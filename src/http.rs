//! The one TLS stack: rustls with the `ring` provider. reqwest is built without a provider of its
//! own (no aws-lc-sys), so [`ensure_tls`] installs ring as the process default before any HTTP
//! client (the History Server's, Slack's, object_store's S3 client) is built.

/// Installs rustls' ring provider as the process default, once; a provider already installed
/// (by an embedding program) is kept.
pub fn ensure_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
